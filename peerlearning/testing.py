"""Test personas and helpers shared by every app's tests.

One small department: a neuroradiology section with a person for each role, and a body
section with its own champion, so tests can check that sections do not see each other.
"""

import datetime
from dataclasses import dataclass

import factory
from django import test
from django.utils import timezone

from peerlearning.models import Membership, Role, Section, User

PASSWORD = "correct horse battery staple"


class SectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Section
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Section {n}")
    slug = factory.Sequence(lambda n: f"section-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    first_name = factory.Sequence(lambda n: f"Test{n}")
    last_name = "Person"
    email = factory.LazyAttribute(lambda u: f"{u.first_name}.{u.last_name}@example.org".lower())
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def make_member(section: Section, *roles: str, participating: bool = True, **user_fields) -> User:
    user = UserFactory(**user_fields)
    started = timezone.localdate() - datetime.timedelta(days=400)
    for role in roles:
        Membership.objects.get_or_create(
            user=user,
            section=section,
            role=role,
            defaults={"participating": participating, "started_on": started},
        )
    return user


@dataclass
class Department:
    neuro: Section
    body: Section
    radiologist: User
    reader: User
    trainee: User
    champion: User
    assistant: User
    leader: User
    quality: User
    body_champion: User
    site_admin: User
    outsider: User

    def personas(self) -> dict[str, User | None]:
        """Everyone the access table speaks of, with `anonymous` as None."""
        return {
            "anonymous": None,
            "outsider": self.outsider,
            "radiologist": self.radiologist,
            "trainee": self.trainee,
            "champion": self.champion,
            "admin_assistant": self.assistant,
            "leader": self.leader,
            "quality": self.quality,
            "site_admin": self.site_admin,
        }


def make_department() -> Department:
    neuro = SectionFactory(name="Neuroradiology", slug="neuroradiology")
    body = SectionFactory(name="Body imaging", slug="body")
    return Department(
        neuro=neuro,
        body=body,
        radiologist=make_member(neuro, Role.RADIOLOGIST, first_name="Rowan", last_name="Submitter"),
        reader=make_member(neuro, Role.RADIOLOGIST, first_name="Quinn", last_name="Reader"),
        trainee=make_member(neuro, Role.TRAINEE, first_name="Tate", last_name="Trainee"),
        champion=make_member(
            neuro, Role.RADIOLOGIST, Role.CHAMPION, first_name="Cass", last_name="Champion"
        ),
        assistant=make_member(
            neuro,
            Role.ADMIN_ASSISTANT,
            participating=False,
            first_name="Ash",
            last_name="Assistant",
        ),
        leader=make_member(neuro, Role.LEADER, first_name="Lee", last_name="Leader"),
        quality=make_member(
            neuro, Role.QUALITY, participating=False, first_name="Kit", last_name="Quality"
        ),
        body_champion=make_member(
            body, Role.RADIOLOGIST, Role.CHAMPION, first_name="Blair", last_name="Bodychamp"
        ),
        site_admin=UserFactory(
            first_name="Sam", last_name="Siteadmin", is_staff=True, is_superuser=True
        ),
        outsider=UserFactory(first_name="Olly", last_name="Outsider"),
    )


def totp_set_up(user: User):
    """The person has set up TOTP (an authenticator row; tests that type codes make a real one)."""
    from allauth.mfa.models import Authenticator

    totp, _ = Authenticator.objects.get_or_create(
        user=user, type=Authenticator.Type.TOTP, defaults={"data": {}}
    )
    return totp


def real_totp_for(user: User) -> str:
    """Set up TOTP for the person with a fresh secret, as the set-up page does; the secret."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def totp_code(secret: str) -> str:
    """The code an authenticator app shows now for this secret."""
    import time

    from allauth.mfa.app_settings import TOTP_PERIOD
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, int(time.time()) // TOTP_PERIOD))


def api_key_for(user: User, **kwargs) -> str:
    """A new API token's key for the person, who has TOTP when the policy asks them for it
    (the API refuses a token otherwise)."""
    from peerlearning.mfa import mfa_required
    from peerlearning.services import api_token_create

    if mfa_required(user):
        totp_set_up(user)
    for name in ("_pl_roles", "_pl_held"):
        user.__dict__.pop(name, None)
    return api_token_create(user=user, **kwargs)[1]


def pass_mfa(client, user: User) -> None:
    """Record in the client's session what allauth records when a TOTP code is accepted.

    For a client signed in with `force_login`: the session then counts as having passed
    the second factor (peerlearning/mfa.py::session_passed_mfa).
    """
    from types import SimpleNamespace

    from allauth.account.internal.flows.login import record_authentication

    session = client.session
    totp = totp_set_up(user)
    record_authentication(SimpleNamespace(session=session), user, "mfa", id=totp.pk, type="totp")
    session.save()


class Client(test.Client):
    """The test client (the `client` fixture), whose `force_login` is a completed sign-in:
    the password and, where the site policy asks for one, the second factor (`pass_mfa`).
    `force_login(user, mfa=False)` stops after the password."""

    def force_login(self, user, backend=None, *, mfa: bool = True):
        from peerlearning.mfa import mfa_required

        super().force_login(user, backend)
        if mfa and mfa_required(user):
            pass_mfa(self, user)
        # mfa_required cached the roles on this instance; the test may change them later.
        for name in ("_pl_roles", "_pl_held"):
            user.__dict__.pop(name, None)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpSink:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it accepts.

    `refuse_next(n)` makes it answer the next n messages with a temporary failure (451),
    as a busy hospital relay does.
    """

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list = []
        self._refusals = 0
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def start(self) -> "SmtpSink":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def refuse_next(self, count: int) -> None:
        self._refusals = count

    async def handle_DATA(self, server, session, envelope):
        if self._refusals > 0:
            self._refusals -= 1
            return "451 4.3.0 Try again later"
        from email import message_from_bytes
        from email.policy import default

        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"

    def bodies_to(self, address: str) -> list[str]:
        return [
            message.get_body(preferencelist=("plain",)).get_content()
            for message in self.messages
            if address in message["To"]
        ]
