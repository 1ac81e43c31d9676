"""The ABR MOC Part 4 participation letter, and referring an OPPE period to focused review."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from conferences.models import Attendance, Conference
from peerlearning.lib.audit import audit_record
from peerlearning.lib.pdf import html_to_pdf
from peerlearning.models import AuditEvent, Membership, Role, Section, User
from reporting.models import FppeEvent, OppeReferral
from reporting.oppe.sources import (
    fppe_event_delete,
    fppe_event_save,
)
from reporting.reports.oppe import _local_bounds
from submissions.disclosure import countable_by
from submissions.models import Submission

# The ABR MOC Part 4 participation letter -------------------------------------------------------


@dataclass
class MocLetter:
    radiologist: User
    year: int
    sections: list[str]
    submissions: int
    conferences: int
    signatory: str
    issued_on: datetime.date

    @property
    def through(self) -> datetime.date:
        return min(datetime.date(self.year, 12, 31), self.issued_on)

    @property
    def is_partial(self) -> bool:
        return self.through < datetime.date(self.year, 12, 31)

    @property
    def file_name(self) -> str:
        name = slugify(self.radiologist.display_name) or f"radiologist-{self.radiologist.pk}"
        return f"moc-part-4-{name}-{self.year}.pdf"


def moc_letter_build(
    *,
    radiologist: User,
    year: int,
    viewer: User | None,
    signatory: User | None = None,
    today=None,
) -> MocLetter:
    """What the letter certifies: the radiologist's submissions and conferences in a year,
    without the submissions `viewer` (who asked for the letter) read.

    Signed by the program leader: the leader asking for it, else a current leader of one of
    the radiologist's sections (first by name), else a blank line.
    """
    today = today or timezone.localdate()
    first, after = _local_bounds(datetime.date(year, 1, 1), datetime.date(year, 12, 31))
    memberships = Membership.objects.filter(
        user=radiologist,
        role=Role.RADIOLOGIST,
        started_on__lt=after.date(),
    ).filter(Q(ended_on__isnull=True) | Q(ended_on__gt=first.date()))
    section_ids = list(memberships.values_list("section_id", flat=True))
    sections = list(
        Section.objects.filter(pk__in=section_ids).order_by("name").values_list("name", flat=True)
    )
    submissions = countable_by(
        Submission.objects.filter(
            submitter=radiologist, created_at__gte=first, created_at__lt=after
        ),
        viewer=viewer,
    ).count()
    conferences = Attendance.objects.filter(
        user=radiologist,
        credited=True,
        conference__status=Conference.Status.HELD,
        conference__starts_at__gte=first,
        conference__starts_at__lt=after,
    ).aggregate(n=Count("conference", distinct=True))["n"]
    if signatory is None or signatory.pk == radiologist.pk:
        signatory = (
            User.objects.filter(
                pk__in=Membership.objects.current()
                .filter(role=Role.LEADER, section_id__in=section_ids)
                .exclude(user=radiologist)
                .values("user_id")
            )
            .order_by("last_name", "first_name")
            .first()
        )
    return MocLetter(
        radiologist=radiologist,
        year=year,
        sections=sections,
        submissions=submissions,
        conferences=conferences,
        signatory=signatory.display_name if signatory else "",
        issued_on=today,
    )


def moc_letter_pdf(letter: MocLetter) -> bytes:
    return html_to_pdf(
        render_to_string(
            "reporting/pdf/moc_letter.html", {"letter": letter, "site_name": settings.SITE_NAME}
        )
    )


# Writes: referral for focused review -----------------------------------------------------------


@transaction.atomic
def oppe_referral_set(
    *,
    radiologist: User,
    start: datetime.date,
    end: datetime.date,
    referred: bool,
    actor: User,
    request: HttpRequest | None = None,
) -> OppeReferral | None:
    """Record (or withdraw) a leader's referral for focused review for one OPPE period.

    Referring also opens an FPPE event marked "from OPPE" (under review), so figure 3's
    counts include it; withdrawing removes that event only while it is still under review.
    """
    existing = (
        OppeReferral.objects.select_for_update()
        .filter(radiologist=radiologist, period_start=start, period_end=end)
        .first()
    )
    if referred:
        if existing is not None:
            return existing
        event = fppe_event_save(
            event=FppeEvent(
                radiologist=radiologist,
                referred_on=timezone.localdate(),
                from_oppe=True,
                disposition=FppeEvent.Disposition.PENDING,
            ),
            actor=actor,
            request=request,
            changed=["radiologist", "referred_on", "from_oppe"],
        )
        referral = OppeReferral.objects.create(
            radiologist=radiologist,
            period_start=start,
            period_end=end,
            fppe_event=event,
            referred_by=actor,
        )
        audit_record(
            action=AuditEvent.Action.CREATE,
            actor=actor,
            obj=referral,
            request=request,
            detail={"radiologist": radiologist.pk, "start": str(start), "end": str(end)},
        )
        return referral
    if existing is None:
        return None
    event = existing.fppe_event
    audit_record(
        action=AuditEvent.Action.DELETE,
        actor=actor,
        obj=existing,
        request=request,
        detail={"radiologist": radiologist.pk, "start": str(start), "end": str(end)},
    )
    existing.delete()
    if event is not None and event.disposition == FppeEvent.Disposition.PENDING:
        fppe_event_delete(event=event, actor=actor, request=request)
    return None
