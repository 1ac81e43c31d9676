"""Targets, written: policies from a month on, leave and part-time exemptions (audited)."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from peerlearning.lib.audit import audit_record
from peerlearning.lib.months import month_key, month_of
from peerlearning.models import AuditEvent, Membership, Role, Section, User
from reporting.targets.ledger import target_policy_for
from reporting.targets.models import TargetExemption, TargetPolicy

# Writes: policies and exemptions -----------------------------------------------------------


@transaction.atomic
def target_policy_create(*, section: Section, actor: User, request=None, **values) -> TargetPolicy:
    """Start a new policy from a month on; the months before keep the policy they had."""
    effective_from = month_of(values.pop("effective_from"))
    policy, created = TargetPolicy.objects.get_or_create(
        section=section,
        effective_from=effective_from,
        defaults={"created_by": actor, **values},
    )
    if not created:
        # Correcting the policy that starts that month (e.g. a typo): the row is replaced.
        for name, value in values.items():
            setattr(policy, name, value)
        policy.created_by = actor
        policy.created_at = timezone.now()
    policy.full_clean()
    policy.save()
    audit_record(
        action=AuditEvent.Action.CREATE if created else AuditEvent.Action.UPDATE,
        actor=actor,
        obj=policy,
        request=request,
        detail={"section": section.pk, "from": month_key(effective_from)},
    )
    return policy


def target_policy_update_counted_reasons(
    *, section: Section, reasons: list[str], actor: User, month: datetime.date | None = None
) -> TargetPolicy:
    """Count other reasons from this month on, keeping the rest of the policy in force.

    For the submissions settings page, so the reasons a champion ticks there become the
    target policy's (the policy is the source of truth; see docs/targets.md).
    """
    month = month_of(month or timezone.localdate())
    current = target_policy_for(section=section, month=month)
    return target_policy_create(
        section=section,
        actor=actor,
        effective_from=month,
        submissions_per_month=current.submissions_per_month,
        attendance_rule=current.attendance_rule,
        attendance_percent=current.attendance_percent,
        attendance_per_year=current.attendance_per_year,
        counted_reasons=list(reasons),
        include_trainees=current.include_trainees,
        note="Counted reasons changed in the section's submission settings.",
    )


@transaction.atomic
def exemption_create(*, section: Section, actor: User, request=None, **values) -> TargetExemption:
    """Record leave or part-time work that reduces a radiologist's target."""
    user = values["user"]
    if not Membership.objects.filter(
        section=section, user=user, role__in=(Role.RADIOLOGIST, Role.TRAINEE)
    ).exists():
        raise ValidationError({"user": "This person is not a radiologist in the section."})
    exemption = TargetExemption(section=section, created_by=actor, **values)
    exemption.full_clean()
    exemption.save()
    # The reason may be personal: the trail keeps ids and dates, not the words.
    audit_record(
        action=AuditEvent.Action.CREATE,
        actor=actor,
        obj=exemption,
        request=request,
        detail={"section": section.pk, "user": user.pk, "kind": exemption.kind},
    )
    return exemption


@transaction.atomic
def exemption_delete(*, exemption: TargetExemption, actor: User, request=None) -> None:
    audit_record(
        action=AuditEvent.Action.DELETE,
        actor=actor,
        obj=exemption,
        request=request,
        detail={"section": exemption.section_id, "user": exemption.user_id},
    )
    exemption.delete()
