"""Objects the security tests attack: a case and a conference in each of two sections."""

import datetime
import http.server
import threading
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from conferences.attendance.services import attendance_mark
from conferences.meetings.services import (
    conference_create,
    conference_update,
    improvement_action_create,
)
from conferences.models import Conference
from peerlearning.models import Role
from peerlearning.testing import api_key_for, make_member
from submissions.services import ActionRequest, submission_create


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    # Invitations write calendar files to the default storage: keep them out of var/.
    settings.MEDIA_ROOT = str(tmp_path / "media")


def case_for(submitter, section, reader, accession: str, **overrides):
    values = {
        "submitter": submitter,
        "section": section,
        "accession_number": accession,
        "reason": "discrepancy",
        "reason_detail": "perceptual",
        "description": "Small left frontal subdural collection not mentioned.",
        "learning_point": "Check the vertex on coronal images.",
        "reader": reader,
        "actions": [ActionRequest("addendum")],
        "urgency": "routine",
        "attested": True,
    }
    values.update(overrides)
    return submission_create(**values)


def held_conference(section, *, title="Peer learning conference", days_ago=2, **extra):
    start = timezone.now() - datetime.timedelta(days=days_ago)
    conference = conference_create(
        section=section,
        title=title,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=60),
        actor=None,
        virtual_url=extra.pop("virtual_url", "https://zoom.example.org/j/81244179023"),
        cme_hours=extra.pop("cme_hours", Decimal("1.00")),
        **extra,
    )
    conference_update(conference=conference, actor=None, status=Conference.Status.HELD)
    return conference


@dataclass
class World:
    """Two sections, each with a case, a conference with attendance, and an improvement action."""

    department: object
    body_radiologist: object
    body_reader: object
    body_assistant: object
    body_leader: object
    neuro_case: object
    body_case: object
    neuro_conference: Conference
    body_conference: Conference
    neuro_action: object
    body_action: object


@pytest.fixture
def world(department):
    d = department
    body_radiologist = make_member(d.body, Role.RADIOLOGIST, first_name="Bo", last_name="Bodyrad")
    body_reader = make_member(d.body, Role.RADIOLOGIST, first_name="Bea", last_name="Bodyreader")
    body_assistant = make_member(
        d.body, Role.ADMIN_ASSISTANT, participating=False, first_name="Bay", last_name="Bodyassist"
    )
    body_leader = make_member(d.body, Role.LEADER, first_name="Ben", last_name="Bodyleader")
    neuro_case = case_for(d.radiologist, d.neuro, d.reader, "NEURO100001")
    body_case = case_for(body_radiologist, d.body, body_reader, "BODY2000002")
    neuro_conference = held_conference(d.neuro, title="Neuro conference")
    body_conference = held_conference(d.body, title="Body conference")
    attendance_mark(
        conference=neuro_conference, user=d.reader, present=True, minutes=None, actor=None
    )
    attendance_mark(
        conference=body_conference, user=body_reader, present=True, minutes=None, actor=None
    )
    neuro_action = improvement_action_create(
        section=d.neuro, actor=d.champion, title="Neuro protocol change", category="protocol"
    )
    body_action = improvement_action_create(
        section=d.body, actor=d.body_champion, title="Body protocol change", category="protocol"
    )
    return World(
        d,
        body_radiologist,
        body_reader,
        body_assistant,
        body_leader,
        neuro_case,
        body_case,
        neuro_conference,
        body_conference,
        neuro_action,
        body_action,
    )


def api_client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    return client


class CountingHandler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):
        CountingHandler.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { color: red }")

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback_server():
    """A real HTTP server on 127.0.0.1 that counts the requests it gets."""
    CountingHandler.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
