"""What each role finds on the home page: a panel per role held, with links to its pages."""

from dataclasses import dataclass, field

from django.urls import reverse

from peerlearning.access import user_roles
from peerlearning.models import Membership, Role


@dataclass
class HomeLink:
    label: str
    url: str


@dataclass
class HomePanel:
    role: str
    title: str
    summary: str
    links: list[HomeLink] = field(default_factory=list)


# role -> (title, summary, [(label, url name)]); every name must reverse (tested).
PANELS = {
    Role.RADIOLOGIST: (
        "Radiologist",
        "Submit cases worth learning from and read feedback on your own studies.",
        [
            ("Submit a case", "submissions:submit"),
            ("My submissions", "submissions:mine"),
            ("Feedback for me", "submissions:feedback-inbox"),
            ("Conferences", "conferences:list"),
            ("Teaching case library", "conferences:cases"),
            ("My OPPE data", "reporting:oppe-mine"),
            ("Peer evaluations to do", "reporting:evaluations-todo"),
        ],
    ),
    Role.TRAINEE: (
        "Trainee",
        "Attend conferences and submit cases; trainees are not counted toward attending targets.",
        [("Submit a case", "submissions:submit"), ("Conferences", "conferences:list")],
    ),
    Role.CHAMPION: (
        "PL champion",
        "Triage submissions, follow clinical actions to closure and prepare conferences.",
        [
            ("Submission queue", "submissions:queue"),
            ("Teaching cases", "conferences:cases"),
            ("Conferences", "conferences:list"),
            ("Monitoring", "reporting:monitoring"),
            ("Improvement actions", "conferences:actions"),
            ("De-identify DICOM", "anonymizer:jobs"),
        ],
    ),
    Role.ADMIN_ASSISTANT: (
        "Admin assistant",
        "Watch monthly submissions and attendance and send the mid-month reminder.",
        [("Monitoring", "reporting:monitoring"), ("Conferences", "conferences:list")],
    ),
    Role.LEADER: (
        "Department leader",
        "Participation at a glance, the ACR annual report and OPPE data.",
        [
            ("Program dashboard", "reporting:leader"),
            ("Reports", "reporting:reports"),
            ("Monitoring", "reporting:monitoring"),
            ("OPPE data", "reporting:oppe-home"),
            ("Peer evaluation cycles", "reporting:evaluation-cycles"),
        ],
    ),
    Role.QUALITY: (
        "Quality team",
        "Improvement actions escalated from the program, and their outcomes.",
        [("Improvement actions", "conferences:actions")],
    ),
}


def _links(pairs) -> list[HomeLink]:
    return [HomeLink(label, reverse(url_name)) for label, url_name in pairs]


def home_panels_for(user) -> list[HomePanel]:
    held = user_roles(user)
    panels = [
        HomePanel(role, title, summary, _links(pairs))
        for role, (title, summary, pairs) in PANELS.items()
        if role in held
    ]
    if user.is_staff:
        panels.append(
            HomePanel(
                "site_admin",
                "Site administration",
                "People, sections and roles; e-mail deliveries; the audit trail; job schedules.",
                _links(
                    [
                        ("Outbox", "outbox-list"),
                        ("Audit trail", "audit-list"),
                        ("De-identify DICOM", "anonymizer:jobs"),
                        ("Import a roster", "admin:peerlearning_membership_import"),
                        ("Admin site", "admin:index"),
                    ]
                ),
            )
        )
    return panels


def memberships_for(user):
    return (
        Membership.objects.current()
        .filter(user=user)
        .select_related("section")
        .order_by("section__name", "role")
    )
