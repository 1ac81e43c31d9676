"""Department leaders: counts only, never names."""

from django.shortcuts import render

from peerlearning.access import roles
from peerlearning.models import Role
from submissions import selectors
from submissions.models import Reason


@roles(Role.LEADER)
def summary(request):
    """Counts by month, section and reason: one row per month and section."""
    rows = selectors.leader_summary(user=request.user)
    reasons = Reason.choices
    table = {}
    for row in rows:
        key = (row["month"], row["section__name"])
        table.setdefault(key, {value: 0 for value, _ in reasons})[row["reason"]] = row["count"]
    lines = [
        {
            "month": month,
            "section": section,
            "counts": [counts[value] for value, _ in reasons],
            "total": sum(counts.values()),
        }
        for (month, section), counts in sorted(
            table.items(), key=lambda item: (-item[0][0].toordinal(), item[0][1])
        )
    ]
    return render(
        request,
        "submissions/summary.html",
        {"lines": lines, "reasons": reasons},
    )
