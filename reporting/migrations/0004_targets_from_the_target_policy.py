"""What counts toward a target is the target policy's alone.

Sections counted, before their first target policy, the reasons their submission settings
listed. For each section whose list was not every reason, a policy row now carries that
list from the section's first month with figures (its earliest submission or membership),
so no past month changes; the settings field then goes (submissions 0007). OPPE's own
submissions-per-month and attendance thresholds go too: "PL targets met" reads the
sections' target policies.
"""

import datetime

from django.db import migrations
from django.utils import timezone


def _first_month(section, Submission, Membership):
    days = []
    first = Submission.objects.filter(section=section).order_by("created_at").first()
    if first is not None:
        days.append(timezone.localtime(first.created_at).date())
    member = Membership.objects.filter(section=section).order_by("started_on").first()
    if member is not None:
        days.append(member.started_on)
    day = min(days) if days else timezone.localdate()
    return day.replace(day=1)


def counted_reasons_to_policies(apps, schema_editor):
    Settings = apps.get_model("submissions", "SectionSubmissionSettings")
    Submission = apps.get_model("submissions", "Submission")
    Membership = apps.get_model("peerlearning", "Membership")
    TargetPolicy = apps.get_model("reporting", "TargetPolicy")
    every = {"discrepancy", "great_catch", "interesting", "other"}
    for config in Settings.objects.select_related("section"):
        reasons = list(config.counted_reasons or [])
        if set(reasons) == every:
            continue
        section = config.section
        start = _first_month(section, Submission, Membership)
        earliest = TargetPolicy.objects.filter(section=section).order_by("effective_from").first()
        if earliest is not None and earliest.effective_from <= start:
            continue  # a policy already decided every month with figures
        TargetPolicy.objects.create(
            section=section,
            effective_from=start,
            counted_reasons=reasons,
            note="Counted reasons carried over from the section's submission settings.",
            created_at=datetime.datetime.now(tz=datetime.UTC),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("peerlearning", "0002_audit_append_only"),
        ("reporting", "0003_reports"),
        ("submissions", "0006_feedback_batching"),
    ]
    run_before = [("submissions", "0007_counted_reasons_in_target_policy")]

    operations = [
        migrations.RunPython(counted_reasons_to_policies, migrations.RunPython.noop),
        migrations.RemoveField(model_name="oppepolicy", name="attendance_percent"),
        migrations.RemoveField(model_name="oppepolicy", name="submissions_per_month"),
    ]
