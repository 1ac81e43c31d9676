from peerlearning.access import user_roles
from peerlearning.navigation import nav_items_for


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_roles": frozenset()}
    return {"nav_items": nav_items_for(request), "user_roles": user_roles(user)}
