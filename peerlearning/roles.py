"""The roles a person holds today, read once per request (both access rules and MFA ask)."""

from peerlearning.models import Membership


def user_roles(user) -> frozenset[str]:
    """Roles a person holds today in any section, cached on the user for the request."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_pl_roles", None)
    if cached is None:
        # (role, section) pairs, kept too: `user_sections_with_role` answers from them.
        held = tuple(
            Membership.objects.current().filter(user=user).order_by().values_list("role", "section")
        )
        user._pl_held = held
        cached = user._pl_roles = frozenset(role for role, _ in held)
    return cached


def user_sections_with_role(user, *wanted: str) -> list[int]:
    """Ids of the sections where the person currently holds one of the roles (from what
    `user_roles` read in this request when it ran; clearing `_pl_roles` forgets both)."""
    if getattr(user, "_pl_roles", None) is not None:
        return list(dict.fromkeys(section for role, section in user._pl_held if role in wanted))
    return list(
        Membership.objects.current()
        .filter(user=user, role__in=wanted)
        .order_by()
        .values_list("section_id", flat=True)
        .distinct()
    )
