"""OPPE data the medical staff office enters, and who sees whose OPPE data.

Credentials (licences, board certifications, DEA) and FPPE event counts are entered by
department leaders (the medical staff office holds the leader role) and site administrators;
the thresholds live in `OppePolicy`. TAT is in reporting/oppe/tat.py, peer evaluations in
reporting/oppe/evaluations.py.

Who sees a radiologist's OPPE data (credentials, FPPE counts, evaluation summary, TAT):

| who                         | sees                                                        |
| --------------------------- | ----------------------------------------------------------- |
| the radiologist             | their own, and nobody else's                                |
| leader                      | radiologists who are or were in a section they lead today  |
| site administrator          | every radiologist                                           |
| anyone else                 | nothing: 404                                                |

A department leader holds the leader role in every section (as the demo's leader does).
"""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from peerlearning.access import user_sections_with_role
from peerlearning.lib.audit import audit_record
from peerlearning.lib.emails import email_enqueue
from peerlearning.models import AuditEvent, Membership, Role, User
from reporting.oppe.models import Credential, FppeEvent, OppePolicy

# Visibility -------------------------------------------------------------------------------


def _radiologists_in(sections=None) -> QuerySet[User]:
    memberships = Membership.objects.filter(role=Role.RADIOLOGIST)
    if sections is not None:
        memberships = memberships.filter(section__in=sections)
    return User.objects.filter(pk__in=memberships.values("user_id"))


def oppe_radiologists_managed_by(*, user: User) -> QuerySet[User]:
    """The radiologists whose OPPE data a leader or site administrator may read and enter."""
    if not user.is_authenticated:
        return User.objects.none()
    if user.is_staff:
        return _radiologists_in()
    sections = user_sections_with_role(user, Role.LEADER)
    if not sections:
        return User.objects.none()
    return _radiologists_in(sections)


def oppe_radiologist_get_for_user(*, user: User, pk: int) -> User:
    """A radiologist whose OPPE data this person may see (themselves, or as a leader); else 404."""
    if pk == user.pk and _radiologists_in().filter(pk=pk).exists():
        return user
    found = oppe_radiologists_managed_by(user=user).filter(pk=pk).first()
    if found is None:
        raise Http404("No such radiologist.")
    return found


def oppe_radiologist_viewed(*, radiologist: User, user: User, request: HttpRequest) -> None:
    """Record that someone read another person's OPPE data (evaluations, FPPE counts)."""
    if radiologist.pk != user.pk:
        audit_record(
            action=AuditEvent.Action.VIEW,
            obj=radiologist,
            request=request,
            detail={"what": "oppe data"},
        )


def _audited_save(obj, *, actor: User, request: HttpRequest | None, changed) -> None:
    creating = obj.pk is None
    obj.full_clean()
    obj.save()
    audit_record(
        action=AuditEvent.Action.CREATE if creating else AuditEvent.Action.UPDATE,
        actor=actor,
        obj=obj,
        request=request,
        detail={"fields": sorted(changed or [])},
    )


def _audited_delete(obj, *, actor: User, request: HttpRequest | None) -> None:
    label, pk = obj._meta.label_lower, obj.pk
    obj.delete()
    audit_record(
        action=AuditEvent.Action.DELETE,
        actor=actor,
        object_type=label,
        object_id=pk,
        request=request,
    )


# Credentials ------------------------------------------------------------------------------

EXPIRED, EXPIRING, CURRENT, NO_EXPIRY = "expired", "expiring", "current", "no_expiry"
STATE_LABELS = {
    EXPIRED: "Expired",
    EXPIRING: "Expiring soon",
    CURRENT: "Current",
    NO_EXPIRY: "Does not expire",
}


@dataclass(frozen=True)
class CredentialFlag:
    credential: Credential
    state: str
    days_left: int | None

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def flagged(self) -> bool:
        return self.state in (EXPIRED, EXPIRING)


@dataclass
class CredentialStatus:
    radiologist_id: int
    credentials: list[CredentialFlag] = field(default_factory=list)

    @property
    def expired(self) -> int:
        return sum(flag.state == EXPIRED for flag in self.credentials)

    @property
    def expiring(self) -> int:
        return sum(flag.state == EXPIRING for flag in self.credentials)

    def holds_current(self, kind: str) -> bool:
        return any(f.credential.kind == kind and f.state != EXPIRED for f in self.credentials)

    @property
    def licensure_maintained(self) -> bool:
        """The table's medical-knowledge metric: a valid state licence and board certification."""
        return self.holds_current(Credential.Kind.STATE_LICENSE) and self.holds_current(
            Credential.Kind.BOARD_CERTIFICATION
        )


def credential_state(
    credential: Credential, *, on: datetime.date, warning_days: int = 90
) -> CredentialFlag:
    if credential.expires_on is None:
        return CredentialFlag(credential, NO_EXPIRY, None)
    days_left = (credential.expires_on - on).days
    if days_left < 0:
        state = EXPIRED
    elif days_left <= warning_days:
        state = EXPIRING
    else:
        state = CURRENT
    return CredentialFlag(credential, state, days_left)


def credentials_status(
    *, radiologists, on: datetime.date, warning_days: int = 90
) -> dict[int, CredentialStatus]:
    """Each radiologist's credentials on a day, flagged when expired or expiring within
    `warning_days` (a credential expires at the end of its expiry date). One query."""
    ids = [r if isinstance(r, int) else r.pk for r in radiologists]
    status = {pk: CredentialStatus(pk) for pk in ids}
    for credential in Credential.objects.filter(radiologist_id__in=ids).order_by(
        "kind", "expires_on", "pk"
    ):
        status[credential.radiologist_id].credentials.append(
            credential_state(credential, on=on, warning_days=warning_days)
        )
    return status


def credentials_flagged(
    *, radiologists: QuerySet[User], on: datetime.date, warning_days: int = 90
) -> QuerySet[Credential]:
    """Credentials that have expired or expire within the warning window, soonest first."""
    return (
        Credential.objects.filter(
            radiologist__in=radiologists,
            expires_on__lte=on + datetime.timedelta(days=warning_days),
        )
        .select_related("radiologist")
        .order_by("expires_on", "radiologist__last_name")
    )


@transaction.atomic
def credential_save(
    *, credential: Credential, actor: User, request: HttpRequest | None = None, changed=()
) -> Credential:
    """Create or change a credential (medical staff office)."""
    _audited_save(credential, actor=actor, request=request, changed=changed)
    return credential


@transaction.atomic
def credential_delete(
    *, credential: Credential, actor: User, request: HttpRequest | None = None
) -> None:
    """Remove a credential entered by mistake."""
    _audited_delete(credential, actor=actor, request=request)


# FPPE events ------------------------------------------------------------------------------

CATEGORIES = (
    ("referrals", "Total referrals"),
    ("significant", "Total significant dispositions"),
    ("behaviour_concerns", "Behaviour concerns"),
    ("reviewed_at_committee", "Reviewed at SPPEC/MEC"),
    ("other_measures", "Other (PIP, behaviour contract, …)"),
    ("from_oppe", "From OPPE"),
)


@dataclass(frozen=True)
class FppeSummary:
    """Figure 3's counts: cases by category (a case can be in several), dispositions."""

    referrals: int = 0
    significant: int = 0
    behaviour_concerns: int = 0
    reviewed_at_committee: int = 0
    other_measures: int = 0
    from_oppe: int = 0
    by_disposition: dict[str, int] = field(default_factory=dict)

    def categories(self) -> list[tuple[str, int]]:
        return [(label, getattr(self, name)) for name, label in CATEGORIES]

    def significant_dispositions(self) -> list[tuple[str, int]]:
        return [
            (FppeEvent.Disposition(value).label, self.by_disposition.get(value, 0))
            for value in FppeEvent.SIGNIFICANT
        ]

    def pending(self) -> int:
        return self.by_disposition.get(FppeEvent.Disposition.PENDING, 0)


def _fppe_aggregates() -> dict:
    aggregates = {
        "referrals": Count("id"),
        "significant": Count("id", filter=Q(disposition__in=FppeEvent.SIGNIFICANT)),
        "behaviour_concerns": Count("id", filter=Q(behaviour_concern=True)),
        "reviewed_at_committee": Count("id", filter=Q(reviewed_at_committee=True)),
        "other_measures": Count("id", filter=Q(other_measure=True)),
        "from_oppe": Count("id", filter=Q(from_oppe=True)),
    }
    for value in FppeEvent.Disposition.values:
        aggregates[f"d_{value}"] = Count("id", filter=Q(disposition=value))
    return aggregates


def _fppe_from_row(row: dict) -> FppeSummary:
    return FppeSummary(
        **{name: row[name] for name, _ in CATEGORIES},
        by_disposition={v: row[f"d_{v}"] for v in FppeEvent.Disposition.values},
    )


def fppe_summaries(
    *, radiologists, start: datetime.date, end: datetime.date
) -> dict[int, FppeSummary]:
    """FPPE counts per radiologist for referrals dated `start` to `end` (inclusive); one query."""
    ids = [r if isinstance(r, int) else r.pk for r in radiologists]
    summaries = {pk: FppeSummary() for pk in ids}
    rows = (
        FppeEvent.objects.filter(radiologist_id__in=ids, referred_on__range=(start, end))
        .values("radiologist_id")
        .annotate(**_fppe_aggregates())
        .order_by()
    )
    for row in rows:
        summaries[row["radiologist_id"]] = _fppe_from_row(row)
    return summaries


def fppe_summary(*, radiologist: User, start: datetime.date, end: datetime.date) -> FppeSummary:
    """One radiologist's FPPE counts for referrals dated `start` to `end` (inclusive)."""
    return fppe_summaries(radiologists=[radiologist], start=start, end=end)[radiologist.pk]


@transaction.atomic
def fppe_event_save(
    *, event: FppeEvent, actor: User, request: HttpRequest | None = None, changed=()
) -> FppeEvent:
    """Record or change an FPPE case (medical staff office)."""
    if event.pk is None and event.created_by_id is None:
        event.created_by = actor
    _audited_save(event, actor=actor, request=request, changed=changed)
    return event


@transaction.atomic
def fppe_event_delete(*, event: FppeEvent, actor: User, request: HttpRequest | None = None):
    """Remove an FPPE case entered by mistake."""
    _audited_delete(event, actor=actor, request=request)


# Policy ------------------------------------------------------------------------------------


@transaction.atomic
def oppe_policy_update(
    *, policy: OppePolicy, actor: User, request: HttpRequest | None = None, changed=()
) -> OppePolicy:
    """Save the department's OPPE periods and thresholds."""
    _audited_save(policy, actor=actor, request=request, changed=changed)
    return policy


# Expiry notices ----------------------------------------------------------------------------


@transaction.atomic
def credential_expiry_notices_send(*, today: datetime.date | None = None) -> int:
    """Tell each leader how many credentials in their sections have expired or expire soon;
    at most one e-mail per leader a month. Returns how many were queued."""
    today = today or timezone.localdate()
    warning_days = OppePolicy.load().credential_warning_days
    leaders = User.objects.filter(
        is_active=True,
        pk__in=Membership.objects.current().filter(role=Role.LEADER).values("user_id"),
    )
    link = f"{settings.SITE_URL}{reverse('reporting:oppe-credentials')}?flag=1"
    queued = 0
    for leader in leaders:
        flagged = credentials_flagged(
            radiologists=oppe_radiologists_managed_by(user=leader),
            on=today,
            warning_days=warning_days,
        )
        counts = flagged.aggregate(
            expired=Count("id", filter=Q(expires_on__lt=today)),
            expiring=Count("id", filter=Q(expires_on__gte=today)),
        )
        if not counts["expired"] and not counts["expiring"]:
            continue
        context = {
            "leader": leader,
            "warning_days": warning_days,
            "link": link,
            "site_name": settings.SITE_NAME,
            **counts,
        }
        _, created = email_enqueue(
            key=f"credentials-expiring:{today:%Y-%m}:{leader.pk}",
            to=leader.email,
            subject="Credentials to renew",
            # Names stay out of the e-mail: counts and a link to sign in.
            body_text=render_to_string("reporting/oppe_credentials_email.txt", context),
        )
        queued += created
    return queued
