"""Reads that enforce who sees what. Which submissions a person reaches lives here; what
they may know of each one (names, times, counts) lives in `submissions/disclosure.py`.

| who                      | reaches                                                       |
| ------------------------ | ------------------------------------------------------------- |
| submitter                | own submissions                                               |
| original reader          | feedback addressed to them, once its batch has gone           |
| champion (same section)  | everything in the section, except what they submitted or read |
| department leader        | aggregate counts (month, reason, section); no names           |
| anyone else              | nothing: 404                                                  |

A champion who is the original reader of a submission does not see it in the queue: the
reader must not learn who submitted. A champion who submitted it does not either: the
submitter must not learn a reader another champion identified. A second champion (or the
site administrator) triages it instead.
"""

import datetime
from dataclasses import dataclass

from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    Prefetch,
    Q,
    QuerySet,
)
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import timezone

from peerlearning.access import user_sections_with_role
from peerlearning.lib.figures import figures_cached, figures_changed
from peerlearning.models import Membership, Role, Section, User
from submissions.models import (
    Reason,
    Reply,
    RequiredAction,
    SectionSubmissionSettings,
    Submission,
    SubmissionEvent,
)

SUBMITTER_ROLES = (Role.RADIOLOGIST, Role.TRAINEE)
READER_ROLES = (Role.RADIOLOGIST, Role.TRAINEE)


# Sections -------------------------------------------------------------------------------


def sections_for_submitter(*, user: User) -> QuerySet[Section]:
    """Sections the person may submit to (radiologist or trainee there today): one query,
    the memberships a subquery of it."""
    memberships = (
        Membership.objects.current()
        .filter(user=user, role__in=SUBMITTER_ROLES)
        .values("section_id")
    )
    return Section.objects.filter(pk__in=memberships, is_active=True).order_by("name")


def submitter_sections(*, user: User) -> list[Section]:
    """`sections_for_submitter`, read once per request (cached on the user): the API's
    check and the form's section field both need them."""
    cached = getattr(user, "_submissions_sections", None)
    if cached is None:
        cached = user._submissions_sections = list(
            # The settings come along: the submission service reads them (for_section).
            sections_for_submitter(user=user).select_related("submission_settings")
        )
    return cached


def championed_section_ids(user: User) -> list[int]:
    """Sections the person champions today, looked up once per request (cached on the user)."""
    cached = getattr(user, "_submissions_championed", None)
    if cached is None:
        cached = user._submissions_championed = user_sections_with_role(user, Role.CHAMPION)
    return cached


def sections_for_champion(*, user: User) -> QuerySet[Section]:
    return Section.objects.filter(pk__in=championed_section_ids(user)).order_by("name")


def section_readers(*, section: Section) -> QuerySet[User]:
    """People who may be named as the original reader in a section."""
    return User.objects.filter(
        is_active=True,
        pk__in=Membership.objects.current()
        .filter(section=section, role__in=READER_ROLES)
        .values("user_id"),
    )


def reader_on_my_rosters(
    *, user: User, email: str = "", npi: str = "", ris_id: str = ""
) -> User | None:
    """The person with this address (or NPI, or RIS/PACS id) on the roster of a section `user`
    submits to, if any: an identifier from elsewhere is not turned into a name."""
    if email.strip():
        who = Q(email__iexact=email.strip())
    elif npi.strip():
        who = Q(npi=npi.strip())
    elif ris_id.strip():
        who = Q(ris_id__iexact=ris_id.strip())
    else:
        return None
    return (
        User.objects.filter(
            who,
            is_active=True,
            pk__in=Membership.objects.current()
            .filter(section__in=sections_for_submitter(user=user), role__in=READER_ROLES)
            .values("user_id"),
        )
        .only("pk", "email", "first_name", "last_name")
        .first()
    )


def section_roster(*, section: Section, query: str = "", limit: int = 20) -> QuerySet[User]:
    """People who may be named as the original reader in a section, for the type-ahead."""
    people = section_readers(section=section)
    for word in query.split()[:3]:
        people = people.filter(
            Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(email__icontains=word)
        )
    return people.order_by("last_name", "first_name")[:limit]


def is_on_roster(*, user: User, section: Section) -> bool:
    return (
        Membership.objects.current()
        .filter(user=user, section=section, role__in=READER_ROLES)
        .exists()
    )


def settings_for(*, section: Section) -> SectionSubmissionSettings:
    return SectionSubmissionSettings.for_section(section)


# What each person may see ----------------------------------------------------------------


def _with_actions(queryset: QuerySet[Submission]) -> QuerySet[Submission]:
    return queryset.prefetch_related(
        Prefetch("actions", queryset=RequiredAction.objects.order_by("id"))
    )


def submissions_of_submitter(*, user: User) -> QuerySet[Submission]:
    """What I submitted, newest first."""
    return (
        _with_actions(Submission.objects.filter(submitter=user).select_related("section"))
        .annotate(reply_count=Count("replies"))
        .order_by("-created_at", "-id")
    )


def submission_get_for_submitter(*, user: User, pk: int) -> Submission:
    submission = (
        _with_actions(Submission.objects.select_related("section", "original_reader"))
        .filter(submitter=user, pk=pk)
        .first()
    )
    if submission is None:
        raise Http404
    return submission


def _reaching_reader(user: User) -> Q:
    """Feedback addressed to the person whose batch has gone (held or queued feedback is not
    theirs to read yet: its arrival would tell the minute it was written)."""
    return Q(original_reader=user, feedback_sent_at__lte=timezone.now())


def feedback_for_reader(*, user: User) -> QuerySet[Submission]:
    """Feedback addressed to me that has reached me."""
    return _with_actions(
        Submission.objects.filter(_reaching_reader(user))
        .select_related("section")
        .order_by("-feedback_sent_at", "-id")
    )


def feedback_get_for_reader(*, user: User, pk: int) -> Submission:
    submission = (
        _with_actions(Submission.objects.select_related("section"))
        .filter(_reaching_reader(user), pk=pk)
        .first()
    )
    if submission is None:
        raise Http404
    return submission


def champion_submissions(*, user: User) -> QuerySet[Submission]:
    """Everything in the sections the person champions, except what they read (they must not
    learn who submitted) or submitted (they must not learn a reader they did not name)."""
    return (
        Submission.objects.filter(section_id__in=championed_section_ids(user))
        .exclude(original_reader=user)
        .exclude(submitter=user)
    )


def submission_get_for_champion(*, user: User, pk: int) -> Submission:
    submission = (
        _with_actions(
            champion_submissions(user=user).select_related(
                "section", "submitter", "original_reader"
            )
        )
        .prefetch_related(
            Prefetch(
                "events",
                queryset=SubmissionEvent.objects.select_related("actor").order_by("at", "id"),
            )
        )
        .filter(pk=pk)
        .first()
    )
    if submission is None:
        raise Http404
    return submission


def feedback_get_for_pdf(*, user: User, pk: int) -> Submission:
    """The PDF (which never names the submitter) is for the reader and the section's champions."""
    submission = (
        _with_actions(Submission.objects.select_related("section"))
        .filter(pk=pk)
        .filter(_reaching_reader(user) | Q(pk__in=champion_submissions(user=user).values("pk")))
        .first()
    )
    if submission is None:
        raise Http404
    return submission


def submissions_visible_to(*, user: User) -> QuerySet[Submission]:
    """Every submission the person may see in any role (the API's list)."""
    return (
        _with_actions(Submission.objects.select_related("section", "submitter", "original_reader"))
        .filter(
            Q(submitter=user)
            | _reaching_reader(user)
            | Q(pk__in=champion_submissions(user=user).values("pk"))
        )
        .order_by("-created_at", "-id")
    )


def thread_for(*, submission: Submission) -> list[Reply]:
    return list(submission.replies.order_by("created_at", "id"))


def accession_seen(*, user: User, accession_number: str) -> tuple[Submission | None, bool]:
    """(my earlier submission of this case, whether anyone else submitted it in a section I
    submit to: a case of another section is not mine to know about)."""
    # One query: mine first (a person submits a case at most once), then at most one other.
    seen = list(
        Submission.objects.filter(accession_number=accession_number)
        .filter(Q(submitter=user) | Q(section__in=sections_for_submitter(user=user)))
        .annotate(is_mine=Q(submitter=user))
        .order_by("-is_mine", "pk")
        .only("pk", "submitter_id", "created_at")[:2]
    )
    mine = seen[0] if seen and seen[0].submitter_id == user.pk else None
    others = any(submission.submitter_id != user.pk for submission in seen)
    return mine, others


# The champion's queue --------------------------------------------------------------------

# The counts above the queue are cached (`queue_counts`); see docs/submissions.md.
QUEUE = "queue"
QUEUE_COUNTS_TTL = 60

QUEUE_SORTS = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "status": ("status", "-created_at", "-id"),
    # "urgent" sorts after "routine", so descending puts urgent cases first.
    "urgency": ("-urgency", "-created_at", "-id"),
    "due": (F("next_action_due_at").asc(nulls_last=True), "-created_at", "-id"),
}
QUEUE_AGES = {
    "7": datetime.timedelta(days=7),
    "30": datetime.timedelta(days=30),
    "90": datetime.timedelta(days=90),
}


@dataclass(frozen=True)
class QueueFilters:
    status: str = ""  # a Submission.Status, "open", or "" for all
    reason: str = ""
    age: str = ""  # "7", "30", "90": submitted within that many days; "older30": before
    action: str = ""  # "pending", "overdue", or ""
    section: int | None = None
    sort: str = "newest"


def queue_for_champion(
    *, user: User, filters: QueueFilters, now: datetime.datetime | None = None
) -> QuerySet[Submission]:
    """The section's submissions for triage: one query for the page, whatever its size."""
    now = now or timezone.now()
    rows = (
        champion_submissions(user=user)
        .select_related("section", "submitter")
        .annotate(
            # Plain column tests on the kept `next_action_due_at`: no subquery per row.
            action_pending=ExpressionWrapper(
                Q(next_action_due_at__isnull=False), output_field=BooleanField()
            ),
            action_overdue=ExpressionWrapper(
                Q(next_action_due_at__lte=now), output_field=BooleanField()
            ),
        )
        .only(
            "id",
            "section__name",
            "submitter__first_name",
            "submitter__last_name",
            "submitter__email",
            "accession_number",
            "reason",
            "reason_detail",
            "urgency",
            "status",
            "created_at",
            "next_action_due_at",
            "significance",
            "conference_candidate",
            "counted",
            "routed_to_quality_at",
            "reader_response",
        )
    )
    if filters.section:
        rows = rows.filter(section_id=filters.section)
    if filters.status == "open":
        rows = rows.open()
    elif filters.status in Submission.Status.values:
        rows = rows.filter(status=filters.status)
    if filters.reason in Reason.values:
        rows = rows.filter(reason=filters.reason)
    if filters.age in QUEUE_AGES:
        rows = rows.filter(created_at__gte=now - QUEUE_AGES[filters.age])
    elif filters.age == "older30":
        rows = rows.filter(created_at__lt=now - QUEUE_AGES["30"])
    if filters.action == "pending":
        rows = rows.filter(next_action_due_at__isnull=False)
    elif filters.action == "overdue":
        rows = rows.filter(next_action_due_at__lte=now)
    sort = filters.sort if filters.sort in QUEUE_SORTS else "newest"
    return rows.order_by(*QUEUE_SORTS[sort])


def queue_counts(*, user: User, now: datetime.datetime | None = None) -> dict[str, int]:
    """The figures above the queue, kept QUEUE_COUNTS_TTL seconds under the QUEUE topic's
    version (peerlearning/lib/figures.py), which every saved or deleted submission bumps
    (`queue_changed`, connected in apps.py). "overdue" follows the clock, not a write: a
    due time that passes shows in the count at most QUEUE_COUNTS_TTL seconds late."""
    sections = ",".join(str(pk) for pk in sorted(championed_section_ids(user)))
    return figures_cached(
        QUEUE,
        user.pk,
        sections,
        compute=lambda: _queue_counts(user=user, now=now or timezone.now()),
        ttl=QUEUE_COUNTS_TTL,
    )


def _queue_counts(*, user: User, now: datetime.datetime) -> dict[str, int]:
    # Two cheap queries rather than one aggregate over the whole section: the open ones are an
    # index-only scan of `submission_queue_open`, the overdue ones a range of
    # `submission_queue_due`.
    mine = champion_submissions(user=user)
    counts = mine.open().aggregate(
        open=Count("pk"),
        awaiting_review=Count("pk", filter=Q(status=Submission.Status.AWAITING_REVIEW)),
        without_reader=Count("pk", filter=Q(status=Submission.Status.SUBMITTED)),
    )
    counts["overdue"] = mine.filter(next_action_due_at__lte=now).count()
    return counts


def queue_changed(sender, **kwargs) -> None:
    """post_save / post_delete receiver for Submission: the queue's counts go stale."""
    figures_changed(QUEUE)


def queue_is_default(filters: QueueFilters) -> bool:
    """Whether the filters show every open submission of the person's sections, the set
    `queue_counts()["open"]` counts (so the page need not count it again)."""
    return filters == QueueFilters(status="open", sort=filters.sort)


# Department leaders: aggregates only -------------------------------------------------------


def leader_summary(*, user: User, since: datetime.date | None = None) -> list[dict[str, object]]:
    """Counts by month, section and reason in the leader's sections. Never names anyone."""
    since = since or (timezone.localdate().replace(day=1) - datetime.timedelta(days=335)).replace(
        day=1
    )
    tz = timezone.get_current_timezone()
    return list(
        Submission.objects.filter(
            section_id__in=user_sections_with_role(user, Role.LEADER),
            created_at__gte=datetime.datetime.combine(since, datetime.time(), tzinfo=tz),
        )
        .annotate(month=TruncMonth("created_at", tzinfo=tz))
        .values("month", "section__name", "reason")
        .annotate(count=Count("pk"))
        .order_by("-month", "section__name", "reason")
    )
