"""The navigation bar: each app contributes links for the roles that may follow them."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from peerlearning.access import SITE_ADMIN, Access


@dataclass(frozen=True)
class NavLink:
    label: str
    url_name: str
    access: Access


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    active: bool


# Apps add their entries here as their pages arrive (see docs/architecture.md).
NAV_LINKS: list[NavLink] = [
    NavLink("Outbox", "outbox-list", SITE_ADMIN),
    NavLink("Audit trail", "audit-list", SITE_ADMIN),
    NavLink("Admin", "admin:index", SITE_ADMIN),
]


def register(link: NavLink, *, before: str | None = None) -> None:
    if any(existing.url_name == link.url_name for existing in NAV_LINKS):
        return
    position = next((i for i, item in enumerate(NAV_LINKS) if item.label == before), len(NAV_LINKS))
    NAV_LINKS.insert(position, link)


def nav_items_for(request) -> list[NavItem]:
    links = []
    for link in NAV_LINKS:
        if not link.access.allows(request.user):
            continue
        try:
            links.append((link.label, reverse(link.url_name)))
        except NoReverseMatch:
            continue
    # Only the longest link that starts the current path is active (/conferences/actions/
    # lights "Improvement actions", not "Conferences" too).
    matching = [url for _, url in links if request.path.startswith(url)]
    active = max(matching, key=len, default=None)
    return [NavItem(label, url, url == active) for label, url in links]
