"""The mid-month reminder and the month-end summary: who gets what, each owed exactly once.

Every e-mail is an outbox row under a key naming its purpose,
`reminder:<section id>:<YYYY-MM>:<user id>`, so the same reminder can never be owed twice:
a second run, a run after a worker died halfway, and "send now" after the schedule all
find the rows already there and owe nothing new. Rows are written in batches, each in its
own transaction, so an interrupted run keeps what it wrote and the next run writes the rest.
Delivery, retries with back-off and the record of what went out are the outbox's
(`peerlearning/lib/emails.py`).

When the schedule runs: `reminders_dispatch_due` is one hourly beat job that sends each
section's reminder at the first run on or after its configured day and hour (see
docs/targets.md for why this rather than a beat entry per section).
"""

import datetime
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from peerlearning.lib.audit import audit_record
from peerlearning.lib.emails import email_enqueue, email_retry, render_email
from peerlearning.models import AuditEvent, Membership, OutboundEmail, Role, Section, User
from reporting.months import month_key, month_of, next_month
from reporting.targets.models import ReminderRun, ReminderSettings
from reporting.targets.monitoring import MonthReport, MonthRow, month_report
from reporting.targets.selectors import SubmissionLine, month_submission_lines
from submissions.models import SectionSubmissionSettings

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
# How long after its day and hour a missed reminder is still sent by the schedule. Later
# than that it is no longer "mid-month"; the assistant can still send it from the dashboard.
CATCH_UP = datetime.timedelta(days=7)
KEY_LOOKUP_CHUNK = 900  # keys per IN (...) query, well under SQLite's variable limit


def reminder_key(section_id: int, month: datetime.date, user_id: int) -> str:
    return f"reminder:{section_id}:{month_key(month)}:{user_id}"


def summary_key(section_id: int, month: datetime.date, user_id: int) -> str:
    return f"month-summary:{section_id}:{month_key(month)}:{user_id}"


# Drafts: what each radiologist would receive ---------------------------------------------------


@dataclass
class Draft:
    user: User
    variant: str  # "reminder" or "thanks"
    key: str
    subject: str
    context: dict

    @property
    def template(self) -> str:
        return "reminder_midmonth" if self.variant == "reminder" else "reminder_thanks"


@dataclass
class Skipped:
    user: User
    why: str


@dataclass
class Batch:
    section: Section
    month: datetime.date
    report: MonthReport
    drafts: list[Draft]
    skipped: list[Skipped] = field(default_factory=list)


def _submit_url() -> str:
    return f"{settings.SITE_URL}{reverse('submissions:submit')}"


def _day_of_run(month: datetime.date, today: datetime.date) -> datetime.date:
    """The day whose memberships decide who is reminded: today, within the month."""
    last = next_month(month) - datetime.timedelta(days=1)
    return min(max(today, month), last)


def _context(
    *,
    row: MonthRow,
    report: MonthReport,
    lines: list[SubmissionLine],
    show_accession: bool,
) -> dict:
    cell = row.cell
    return {
        "user": row.user,
        "first_name": row.user.first_name or row.user.email,
        "section_name": report.section.name,
        "month": report.month,
        "lines": lines,
        "show_accession": show_accession,
        "counted": cell.counted,
        "target": cell.target,
        "still_needed": cell.still_needed,
        "reduced": cell.share < 1,
        "totals": report.totals,
        "submit_url": _submit_url(),
    }


def _subject(variant: str, row: MonthRow, month: datetime.date) -> str:
    when = f"{month:%B %Y}"
    if variant == "thanks":
        return f"Peer learning, {when}: thank you, this month's target is met"
    n = row.cell.counted
    return f"Peer learning, {when}: {n} of {row.cell.target} case submissions so far"


def reminder_batch(
    *,
    section: Section,
    month: datetime.date,
    today: datetime.date | None = None,
    viewer: User | None = None,
) -> Batch:
    """Who gets which reminder for a section's month, and who gets none and why.

    `viewer` (preview, test) leaves out of the figures and lists the submissions the viewer
    was the original reader of; None for the real run, where each e-mail is its
    recipient's own.
    """
    month = month_of(month)
    today = today or timezone.localdate()
    report = month_report(section=section, month=month, viewer=viewer)
    config = ReminderSettings.for_section(section)
    show_accession = SectionSubmissionSettings.for_section(section).accession_in_email
    day = _day_of_run(month, today)
    lines = month_submission_lines(
        section=section, month=month, viewer=viewer, policy=report.policy
    )
    batch = Batch(section=section, month=month, report=report, drafts=[])
    for row in report.rows:
        if not row.user.is_active or not row.person.member_on(day):
            batch.skipped.append(Skipped(row.user, "no longer in the program"))
            continue
        if row.cell.target == 0:
            batch.skipped.append(Skipped(row.user, "no target this month (leave)"))
            continue
        variant = "thanks" if row.cell.met else "reminder"
        if variant == "thanks" and config.when_met == ReminderSettings.WhenMet.SKIP:
            batch.skipped.append(Skipped(row.user, "target met; the section sends no thank-you"))
            continue
        batch.drafts.append(
            Draft(
                user=row.user,
                variant=variant,
                key=reminder_key(section.pk, month, row.user.pk),
                subject=_subject(variant, row, month),
                context=_context(
                    row=row,
                    report=report,
                    lines=lines.get(row.user.pk, []),
                    show_accession=show_accession,
                ),
            )
        )
    return batch


def draft_render(draft: Draft) -> str:
    """The text body of a draft, as the radiologist would read it."""
    text, _ = render_email(draft.template, draft.context)
    return text


def existing_keys(keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), KEY_LOOKUP_CHUNK):
        chunk = keys[start : start + KEY_LOOKUP_CHUNK]
        found.update(OutboundEmail.objects.filter(key__in=chunk).values_list("key", flat=True))
    return found


# Sending ---------------------------------------------------------------------------------------


@dataclass
class Outcome:
    section: Section
    month: datetime.date
    recipients: int = 0
    queued: int = 0
    already: int = 0
    skipped: int = 0
    thanks: int = 0
    dry_run: bool = False


def reminders_send(
    *,
    section: Section,
    month: datetime.date,
    actor: User | None = None,
    today: datetime.date | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    request=None,
) -> Outcome:
    """Owe each participating radiologist their reminder for the month, once.

    Safe to run any number of times: people whose reminder is already in the outbox are
    left alone. Each batch commits on its own, so an interrupted run is completed by the
    next one.
    """
    month = month_of(month)
    batch = reminder_batch(section=section, month=month, today=today)
    done = existing_keys([d.key for d in batch.drafts])
    todo = [d for d in batch.drafts if d.key not in done]
    outcome = Outcome(
        section=section,
        month=month,
        recipients=len(batch.drafts),
        already=len(batch.drafts) - len(todo),
        skipped=len(batch.skipped),
        thanks=sum(d.variant == "thanks" for d in batch.drafts),
        dry_run=dry_run,
    )
    if dry_run:
        return outcome
    run, _ = ReminderRun.objects.get_or_create(
        section=section,
        month=month,
        kind=ReminderRun.Kind.REMINDER,
        defaults={"started_by": actor},
    )
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        with transaction.atomic():
            for draft in chunk:
                _, created = email_enqueue(
                    key=draft.key,
                    to=draft.user.email,
                    subject=draft.subject,
                    template=draft.template,
                    context=draft.context,
                )
                outcome.queued += int(created)
    ReminderRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(),
        recipients=outcome.recipients,
        queued=F("queued") + outcome.queued,
        skipped=outcome.skipped,
    )
    if actor is not None:
        audit_record(
            action=AuditEvent.Action.CREATE,
            actor=actor,
            obj=run,
            request=request,
            detail={"section": section.pk, "month": month_key(month), "queued": outcome.queued},
        )
    logger.info(
        "Reminders for section %s, %s: %s queued, %s already owed, %s skipped",
        section.pk,
        month_key(month),
        outcome.queued,
        outcome.already,
        outcome.skipped,
    )
    return outcome


def reminders_dispatch_due(*, now: datetime.datetime | None = None) -> list[Outcome]:
    """The hourly beat job: send every section whose reminder is due this month and not done.

    A reminder is due from its day and hour on; the first run at or after that moment sends
    it, so a beat that was down at 08:00 catches up, for up to CATCH_UP afterwards.
    """
    now = now or timezone.now()
    local = timezone.localtime(now)
    month = month_of(local.date())
    done = set(
        ReminderRun.objects.filter(
            month=month, kind=ReminderRun.Kind.REMINDER, finished_at__isnull=False
        ).values_list("section_id", flat=True)
    )
    outcomes = []
    for section in Section.objects.filter(is_active=True).select_related("reminder_settings"):
        config = ReminderSettings.for_section(section)
        if section.pk in done or not config.enabled:
            continue
        due = config.due_at(month)
        if not due <= local <= due + CATCH_UP:
            continue
        outcomes.append(reminders_send(section=section, month=month, today=local.date()))
    return outcomes


@transaction.atomic
def reminder_send_test(
    *, section: Section, month: datetime.date, actor: User, user: User | None = None, request=None
) -> OutboundEmail:
    """Send the assistant one radiologist's reminder, marked as a test, to their own address."""
    batch = reminder_batch(section=section, month=month, viewer=actor)
    draft = next((d for d in batch.drafts if user is None or d.user.pk == user.pk), None)
    if draft is None:
        raise ValidationError("Nobody in the section would receive a reminder this month.")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
    email, _ = email_enqueue(
        key=f"reminder-test:{section.pk}:{month_key(batch.month)}:{actor.pk}:{stamp}",
        to=actor.email,
        subject=f"[Test] {draft.subject}",
        template=draft.template,
        context={**draft.context, "test_for": draft.user},
    )
    audit_record(
        action=AuditEvent.Action.CREATE,
        actor=actor,
        obj=email,
        request=request,
        detail={"section": section.pk, "month": month_key(batch.month), "test": True},
    )
    return email


def reminders_retry_failed(*, section: Section, month: datetime.date, actor: User) -> int:
    """Send again the section's reminders the outbox gave up on."""
    prefix = f"reminder:{section.pk}:{month_key(month_of(month))}:"
    failed = list(
        OutboundEmail.objects.filter(key__startswith=prefix, status=OutboundEmail.Status.FAILED)
    )
    for email in failed:
        email_retry(email=email)
    return len(failed)


# What the dashboard shows about deliveries ----------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    status: str  # "sent", "pending", "failed"
    at: datetime.datetime
    attempts: int
    error: str


def deliveries_for(
    *, section: Section, month: datetime.date, user_ids: list[int]
) -> dict[int, Delivery]:
    """{user id: their reminder's delivery} for the month, in one query per 900 people."""
    keys = {reminder_key(section.pk, month, uid): uid for uid in user_ids}
    found = {}
    key_list = list(keys)
    for start in range(0, len(key_list), KEY_LOOKUP_CHUNK):
        for email in OutboundEmail.objects.filter(
            key__in=key_list[start : start + KEY_LOOKUP_CHUNK]
        ).only("key", "status", "sent_at", "created_at", "attempts", "last_error"):
            found[keys[email.key]] = Delivery(
                status=email.status,
                at=email.sent_at or email.created_at,
                attempts=email.attempts,
                # The SMTP server's words, without addresses: the first line is enough.
                error=email.last_error.splitlines()[0][:160] if email.last_error else "",
            )
    return found


@dataclass
class ReminderState:
    config: ReminderSettings
    run: ReminderRun | None
    due_at: datetime.datetime
    sent: int = 0
    pending: int = 0
    failed: int = 0

    @property
    def overdue(self) -> bool:
        """Due, not sent: the schedule missed it (or has not run yet this hour)."""
        return (self.run is None or not self.run.is_complete) and timezone.now() >= self.due_at

    @property
    def catch_up_until(self) -> datetime.datetime | None:
        until = self.due_at + CATCH_UP
        return until if timezone.now() <= until else None


def reminder_state(
    *, section: Section, month: datetime.date, deliveries: dict[int, Delivery]
) -> ReminderState:
    config = ReminderSettings.for_section(section)
    run = (
        ReminderRun.objects.filter(section=section, month=month, kind=ReminderRun.Kind.REMINDER)
        .select_related("started_by")
        .first()
    )
    state = ReminderState(config=config, run=run, due_at=config.due_at(month))
    for delivery in deliveries.values():
        setattr(state, delivery.status, getattr(state, delivery.status) + 1)
    return state


@transaction.atomic
def reminder_settings_update(
    *, section: Section, actor: User, request=None, **values
) -> ReminderSettings:
    """Change when the section's reminder goes out and who receives what (audited)."""
    # From the database, not the section's cache: a bound form may have changed that one.
    config = ReminderSettings.objects.filter(section=section).first() or ReminderSettings(
        section=section
    )
    changed = sorted(name for name, value in values.items() if getattr(config, name) != value)
    for name, value in values.items():
        setattr(config, name, value)
    config.updated_by = actor
    config.updated_at = timezone.now()
    config.full_clean()
    config.save()
    if changed:
        audit_record(
            action=AuditEvent.Action.UPDATE,
            actor=actor,
            obj=config,
            request=request,
            detail={"changed": changed},
        )
    return config


# The month-end summary --------------------------------------------------------------------------


def _summary_recipients(section: Section) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True,
            pk__in=Membership.objects.current()
            .filter(section=section, role__in=(Role.CHAMPION, Role.ADMIN_ASSISTANT))
            .values("user_id"),
        ).order_by("pk")
    )


def month_summary_send(*, section: Section, month: datetime.date) -> int:
    """Owe the section's champions and assistants the month's figures, once each."""
    month = month_of(month)
    run, _ = ReminderRun.objects.get_or_create(
        section=section, month=month, kind=ReminderRun.Kind.SUMMARY
    )
    if run.is_complete:
        return 0
    # Section totals only, no person's figures: the same for every recipient.
    report = month_report(section=section, month=month, viewer=None)
    recipients = _summary_recipients(section)
    dashboard = f"{settings.SITE_URL}{reverse('reporting:monitoring')}"
    context = {
        "section_name": section.name,
        "month": month,
        "totals": report.totals,
        "policy": report.policy,
        "attendance_known": report.attendance_known,
        "dashboard_url": f"{dashboard}?section={section.pk}&month={month_key(month)}",
    }
    queued = 0
    with transaction.atomic():
        for user in recipients:
            _, created = email_enqueue(
                key=summary_key(section.pk, month, user.pk),
                to=user.email,
                subject=f"Peer learning, {section.name}: {month:%B %Y} in figures",
                template="month_summary",
                context={**context, "first_name": user.first_name or user.email},
            )
            queued += int(created)
        ReminderRun.objects.filter(pk=run.pk).update(
            finished_at=timezone.now(), recipients=len(recipients), queued=F("queued") + queued
        )
    return queued


def month_summaries_send(*, now: datetime.datetime | None = None) -> int:
    """The beat job on the 1st: last month's summary for every section that wants one."""
    local = timezone.localtime(now or timezone.now()).date()
    month = month_of(month_of(local) - datetime.timedelta(days=1))
    total = 0
    for section in Section.objects.filter(is_active=True).select_related("reminder_settings"):
        if ReminderSettings.for_section(section).month_summary:
            total += month_summary_send(section=section, month=month)
    return total
