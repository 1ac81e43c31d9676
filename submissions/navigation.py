"""The app's links in the navigation bar (registered from SubmissionsConfig.ready)."""

from dataclasses import dataclass

from peerlearning.access import Access, roles_access, user_roles
from peerlearning.models import Role
from peerlearning.navigation import NavLink, register


@dataclass(frozen=True)
class FeedbackLinkAccess(Access):
    """Who gets "Feedback for me" in the bar: radiologists and trainees, and readers outside
    the roster (people with no role at all). The page itself is open to anyone signed in;
    this only keeps the link out of, say, a leader's or an assistant's bar."""

    def allows(self, user) -> bool:
        if not user.is_authenticated or not user.is_active:
            return False
        held = user_roles(user)
        return not held or bool(held & {Role.RADIOLOGIST, Role.TRAINEE})


LINKS = (
    NavLink("Submit a case", "submissions:submit", roles_access(Role.RADIOLOGIST, Role.TRAINEE)),
    NavLink("Feedback for me", "submissions:feedback-inbox", FeedbackLinkAccess()),
    NavLink("Queue", "submissions:queue", roles_access(Role.CHAMPION)),
    NavLink("Submissions", "submissions:summary", roles_access(Role.LEADER)),
)


def register_links() -> None:
    for link in LINKS:
        register(link, before="Outbox")
