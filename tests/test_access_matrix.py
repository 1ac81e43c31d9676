"""Every URL pattern of the project, requested by every role, against one table.

A new URL that is missing from ACCESS fails `test_every_url_pattern_is_in_the_table`, and a
view that declares no rule fails `test_every_view_declares_who_may_use_it`: nothing escapes.
Object-level rules (which section, whose submission) are tested beside each app's selectors.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from peerlearning.access import THIRD_PARTY_ROUTES, access_rule_for

ANYONE = frozenset(
    {
        "anonymous",
        "outsider",
        "radiologist",
        "trainee",
        "champion",
        "admin_assistant",
        "leader",
        "quality",
        "site_admin",
    }
)
SIGNED_IN = ANYONE - {"anonymous"}
SITE_ADMIN = frozenset({"site_admin"})
SUBMITTERS = frozenset({"radiologist", "trainee", "champion"})  # the champion is a radiologist too
CHAMPION = frozenset({"champion"})
LEADER = frozenset({"leader"})

# url name -> personas that may use it. The one table.
ACCESS: dict[str, frozenset[str]] = {
    "home": SIGNED_IN,
    "profile": SIGNED_IN,
    "api-token-create": SIGNED_IN,
    "api-token-revoke": SIGNED_IN,  # their own tokens only: 404 for anyone else's
    "outbox-list": SITE_ADMIN,
    "outbox-detail": SITE_ADMIN,
    "outbox-retry": SITE_ADMIN,
    "audit-list": SITE_ADMIN,
    "healthz": ANYONE,
    "livez": ANYONE,
    "api:me": SIGNED_IN,
    "api-schema": SIGNED_IN,
    "api-docs": SIGNED_IN,
    # Conferences: members of a section (any role) see its conferences; champions and admin
    # assistants run them; improvement actions are for champions, leaders and quality.
    **dict.fromkeys(
        [
            "conferences:list",
            "conferences:detail",
            "conferences:certificate",
            "conferences:cme",
            "conferences:cme-summary",
            "api:conference-list",
            "api:conference-detail",
        ],
        frozenset({"radiologist", "trainee", "champion", "admin_assistant", "leader", "quality"}),
    ),
    **dict.fromkeys(
        [
            "conferences:create",
            "conferences:edit",
            "conferences:check-in-display",
            "conferences:roster",
            "conferences:attendance-import",
            "conferences:import-detail",
            "api:conference-attendance-import",
        ],
        frozenset({"champion", "admin_assistant"}),
    ),
    "conferences:check-in": SIGNED_IN,
    "conferences:attest-recording": frozenset({"radiologist", "trainee", "champion"}),
    "conferences:settings": frozenset({"champion"}),
    "conferences:actions": frozenset({"champion", "leader", "quality"}),
    "conferences:action-create": frozenset({"champion"}),
    "conferences:action-detail": frozenset({"champion", "leader", "quality"}),
    "conferences:action-edit": frozenset({"champion", "quality"}),
    "api:conference-attendance": frozenset({"champion", "admin_assistant", "leader"}),
    # Teaching cases, agendas, presentation (issue 6): champions make cases and agendas;
    # members read the library and present where they are presenters (selectors decide);
    # anyone checked in votes, anyone asked answers whether to be named on slides.
    **dict.fromkeys(
        [
            "conferences:cases",
            "conferences:case-detail",
            "conferences:key-image",
            "conferences:present",
            "conferences:vote-panel",
            "conferences:deck",
        ],
        frozenset({"radiologist", "trainee", "champion", "admin_assistant", "leader", "quality"}),
    ),
    **dict.fromkeys(
        [
            "conferences:case-create",
            "conferences:case-edit",
            "conferences:case-check",
            "conferences:case-credits-ask",
            "conferences:case-images",
            "conferences:upload-status",
            "conferences:image-preview",
            "conferences:image-review",
            "conferences:image-delete",
            "conferences:key-image-add",
            "conferences:key-image-edit",
            "conferences:agenda",
            "conferences:agenda-save",
        ],
        frozenset({"champion"}),
    ),
    **dict.fromkeys(
        [
            "conferences:live",
            "conferences:live-question",
            "conferences:live-vote",
            "conferences:credits",
        ],
        SIGNED_IN,
    ),
    # The anonymizer's upload page (issue 4): champions and site admins; a job is its owner's.
    **dict.fromkeys(
        [
            "anonymizer:jobs",
            "anonymizer:job",
            "anonymizer:job-status",
            "anonymizer:job-download",
            "anonymizer:job-report",
        ],
        frozenset({"champion", "site_admin"}),
    ),
    # The text gate's review page: champions release or replace flagged spans.
    "anonymizer:text-review": CHAMPION,
    "submissions:submit": SUBMITTERS,
    "submissions:submit-validate": SUBMITTERS,
    "submissions:reader-search": SUBMITTERS,
    "submissions:mine": SUBMITTERS,
    "submissions:suggestions": SUBMITTERS,
    "submissions:suggestion-submit": SUBMITTERS,
    "submissions:suggestion-dismiss": SUBMITTERS,
    "submissions:mine-detail": SUBMITTERS,
    "submissions:mine-reply": SUBMITTERS,
    # Any signed-in person: readers outside the roster have no role; selectors answer 404.
    "submissions:feedback-inbox": SIGNED_IN,
    "submissions:feedback-detail": SIGNED_IN,
    "submissions:feedback-pdf": SIGNED_IN,
    "submissions:feedback-respond": SIGNED_IN,
    "submissions:feedback-reply": SIGNED_IN,
    "submissions:feedback-action-done": SIGNED_IN,
    "submissions:queue": CHAMPION,
    "submissions:review": CHAMPION,
    "submissions:review-triage": CHAMPION,
    "submissions:review-feedback": CHAMPION,
    "submissions:review-reader": CHAMPION,
    "submissions:review-note": CHAMPION,
    "submissions:review-action-done": CHAMPION,
    "submissions:review-actions": CHAMPION,
    "submissions:review-route": CHAMPION,
    "submissions:review-close": CHAMPION,
    "submissions:settings": CHAMPION,
    "submissions:summary": LEADER,
    "api:submission-list": SIGNED_IN,
    "api:suggestion-list": SUBMITTERS,
    # The feedback loop's steps: the object rules (whose feedback, which section) answer 404.
    "api:submission-reply": SUBMITTERS,
    "api:feedback-respond": SIGNED_IN,
    "api:feedback-reply": SIGNED_IN,
    "api:feedback-action-done": SIGNED_IN,
    **dict.fromkeys(
        [
            "api:queue-triage",
            "api:queue-reader",
            "api:queue-note",
            "api:queue-actions",
            "api:queue-action-done",
            "api:queue-route",
            "api:queue-close",
            "api:queue-reopen",
        ],
        CHAMPION,
    ),
    "api:suggestion-dismiss": SUBMITTERS,
    # Open to any signed-in account; the view then asks for the feed permission (403).
    "api:fhir-diagnosticreport": SIGNED_IN,
    "api:submission-detail": SIGNED_IN,
    # OPPE data sources (reporting): leaders and site admins enter and read; radiologists
    # read their own and fill in the peer evaluations they are asked for.
    **dict.fromkeys(
        [
            "reporting:oppe-home",
            "reporting:oppe-radiologist",
            "reporting:oppe-credentials",
            "reporting:oppe-credential-create",
            "reporting:oppe-credential-edit",
            "reporting:oppe-credential-delete",
            "reporting:oppe-fppe",
            "reporting:oppe-fppe-create",
            "reporting:oppe-fppe-edit",
            "reporting:oppe-fppe-delete",
            "reporting:oppe-policy",
            "reporting:evaluation-cycles",
            "reporting:evaluation-cycle-create",
            "reporting:evaluation-cycle",
            "reporting:evaluation-cycle-random",
            "reporting:evaluation-cycle-close",
            "reporting:evaluation-assign",
            "reporting:evaluation-summary",
        ],
        frozenset({"leader", "site_admin"}),
    ),
    **dict.fromkeys(
        [
            "reporting:oppe-mine",
            "reporting:evaluations-todo",
            "reporting:evaluation-mine",
            "reporting:evaluation-form",
        ],
        frozenset({"radiologist", "champion"}),  # the champion persona is a radiologist too
    ),
    # Targets and monitoring (reporting): assistants, champions and leaders of a section;
    # reminders are sent by assistants and champions, exemptions entered by assistants and
    # leaders, policies set by champions and leaders. Sections are checked in the selectors.
    **dict.fromkeys(
        [
            "reporting:monitoring",
            "reporting:monitoring-year",
            "reporting:monitoring-person",
            "reporting:monitoring-export",
            "reporting:targets",
        ],
        frozenset({"admin_assistant", "champion", "leader"}),
    ),
    **dict.fromkeys(
        [
            "reporting:reminders-preview",
            "reporting:reminders-send",
            "reporting:reminders-test",
            "reporting:targets-reminders",
        ],
        frozenset({"admin_assistant", "champion"}),
    ),
    # Reports for leaders (reporting, issue 7): leaders and site admins; radiologists fetch
    # their own OPPE report and MOC letter. Which sections and people: reporting's selectors.
    **dict.fromkeys(
        [
            "reporting:leader",
            "reporting:reports",
            "reporting:report-generate-acr",
            "reporting:report-generate-oppe",
            "reporting:report-status",
            "reporting:report-download",
            "reporting:oppe-pdf",
            "reporting:oppe-referral",
            "reporting:moc-letter",
        ],
        frozenset({"leader", "site_admin"}),
    ),
    **dict.fromkeys(
        ["reporting:oppe-mine-pdf", "reporting:moc-letter-mine"],
        frozenset({"radiologist", "champion"}),  # the champion persona is a radiologist too
    ),
    # A radiologist's own month on "My submissions" (an htmx fragment).
    "reporting:my-progress": SUBMITTERS,
    "reporting:targets-policy": frozenset({"champion", "leader"}),
    "reporting:targets-exemption-add": frozenset({"admin_assistant", "leader"}),
    "reporting:targets-exemption-delete": frozenset({"admin_assistant", "leader"}),
}

SAMPLE_VALUES = {
    "int": 999999,
    "str": "x",
    "slug": "x",
    "path": "x",
    "uuid": "00000000-0000-0000-0000-000000000000",
}


def walk(resolver=None, names=(), route=""):
    """(namespaces, full route, pattern) for every URL pattern of the project."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        full_route = route + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from walk(
                entry, names + ((entry.namespace,) if entry.namespace else ()), full_route
            )
        elif isinstance(entry, URLPattern):
            yield names, full_route, entry


def own_patterns():
    for names, route, pattern in walk():
        if not route.startswith(tuple(THIRD_PARTY_ROUTES)):
            yield ":".join((*names, pattern.name or route)), pattern


def url_for(name, pattern) -> str:
    converters = pattern.pattern.converters
    kwargs = {
        key: SAMPLE_VALUES.get(type(conv).__name__.replace("Converter", "").lower(), "1")
        for key, conv in converters.items()
    }
    return reverse(name, kwargs=kwargs or None)


def test_every_view_declares_who_may_use_it():
    undeclared = [
        route for _, route, pattern in walk() if access_rule_for(pattern.callback, route) is None
    ]
    assert undeclared == []


def test_every_url_pattern_is_in_the_table():
    names = {name for name, _ in own_patterns()}
    assert names - set(ACCESS) == set(), "add the new URL to ACCESS"
    assert set(ACCESS) - names == set(), "remove the URL that no longer exists"


def denied(response, persona) -> bool:
    if persona == "anonymous":
        login = reverse("account_login")
        return response.status_code in (401, 403) or (
            response.status_code == 302 and response["Location"].startswith(login)
        )
    return response.status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(ANYONE))
def test_each_role_reaches_exactly_the_urls_the_table_gives_it(client, department, persona):
    user = department.personas()[persona]
    if user is not None:
        client.force_login(user)
    wrong = []
    for name, pattern in own_patterns():
        response = client.get(url_for(name, pattern))
        expected_allowed = persona in ACCESS[name]
        if denied(response, persona) == expected_allowed:
            verdict = "allow" if expected_allowed else "deny"
            wrong.append(f"{name}: {response.status_code} (table says {verdict})")
    assert wrong == []


@pytest.mark.django_db
def test_a_view_without_a_rule_is_refused_even_to_administrators(rf, department):
    from django.core.exceptions import PermissionDenied
    from django.urls import ResolverMatch

    from peerlearning.access import AccessMiddleware

    def undeclared_view(request):
        raise AssertionError("must not run")

    request = rf.get("/somewhere/")
    request.user = department.site_admin
    request.resolver_match = ResolverMatch(undeclared_view, (), {}, route="somewhere/")
    with pytest.raises(PermissionDenied):
        AccessMiddleware(lambda r: None).process_view(request, undeclared_view, (), {})


@pytest.mark.django_db
def test_the_django_admin_admits_only_site_administrators(client, department):
    for persona, user in department.personas().items():
        if user is not None:
            client.force_login(user)
        response = client.get(reverse("admin:index"))
        assert (response.status_code == 200) == (persona == "site_admin"), persona
        client.logout()
