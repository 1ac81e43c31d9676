"""The results feed: HL7 v2 over a real MLLP socket, FHIR over the API, and suggestions."""

import asyncio
import contextlib
import socket
import threading

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from peerlearning.models import Role
from peerlearning.testing import free_port, make_member
from submissions.feeds.mllp import serve
from submissions.feeds.report import impressions_differ
from submissions.models import (
    RequiredAction,
    ResultMessage,
    SectionSubmissionSettings,
    SubmissionEvent,
    Suggestion,
)
from submissions.services import ActionRequest

READER_NPI = "1245319599"
RESIDENT_NPI = "1234567893"


def oru(
    control_id: str,
    accession: str,
    status: str,
    *,
    signer: str = f"{READER_NPI}^READER^QUINN^^^^^^NPI",
    impression: str = "IMPRESSION: No acute abnormality.",
    message_type: str = "ORU^R01^ORU_R01",
    with_obr: bool = True,
) -> str:
    segments = [
        f"MSH|^~\\&|RIS|SYNHOSP|PEERLEARN|SYNHOSP|20261208101500||{message_type}|{control_id}|P|2.5.1",
        "PID|1||SYN000001^^^SYNHOSP^MR||SYNTHETIC^PATIENT^A||19700101|F",
    ]
    if with_obr:
        segments += [
            f"OBR|1||{accession}|71250^CT CHEST^CPT4|||20261207221500"
            f"|||||||||||{accession}||||20261208101500||CT|{status}|||||||{signer}",
            f"OBX|1|TX|19005-8^Impression^LN||{impression}||||||{status}",
        ]
    return "\r".join(segments) + "\r"


class Listener:
    """`hl7_listen`'s server, in a thread of this test process, on a free loopback port."""

    def __init__(self):
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        asyncio.set_event_loop(self.loop)

        def ready(server):
            self.server = server
            self.started.set()

        with contextlib.suppress(asyncio.CancelledError):
            self.loop.run_until_complete(serve("127.0.0.1", self.port, ready=ready))
        # Connections still open end here, before the loop closes.
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.close()

    def start(self):
        self.thread.start()
        assert self.started.wait(10), "the listener did not start"
        return self

    def stop(self):
        self.loop.call_soon_threadsafe(self.server.close)
        self.thread.join(10)

    def send(self, *messages: str) -> list[str]:
        """Send each message as an MLLP frame on one connection; the ACKs, as text."""
        answers = []
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as connection:
            for message in messages:
                connection.sendall(b"\x0b" + message.encode() + b"\x1c\x0d")
                answer = b""
                while not answer.endswith(b"\x1c\x0d"):
                    chunk = connection.recv(4096)
                    assert chunk, "the listener closed the connection"
                    answer += chunk
                answers.append(answer[1:-2].decode())
        return answers


def msa(ack: str) -> list[str]:
    segment = next(line for line in ack.split("\r") if line.startswith("MSA|"))
    return segment.split("|")


@pytest.fixture
def listener(transactional_db):
    running = Listener().start()
    yield running
    running.stop()


@pytest.fixture
def people(department):
    department.reader.npi = READER_NPI
    department.reader.save()
    resident = make_member(
        department.neuro, Role.TRAINEE, first_name="Rory", last_name="Resident", npi=RESIDENT_NPI
    )
    SectionSubmissionSettings.objects.create(section=department.neuro, suggestions_enabled=True)
    return department, resident


# HL7 over MLLP ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "code", "reason"),
    [
        ("this is not HL7", "AR", "Not an HL7 v2 message"),
        (oru("C-1", "SYNACC1", "F", message_type="ADT^A01"), "AR", "ADT^A01"),
        (oru("C-2", "SYNACC1", "F", with_obr=False), "AE", "no OBR segment"),
        (oru("C-3", "", "F"), "AE", "No accession number"),
        (oru("C-4", "SYNACC1", "X"), "AE", "must be P, F or C"),
    ],
)
def test_a_message_it_cannot_use_gets_AE_or_AR_with_the_reason_and_writes_nothing(
    listener, department, message, code, reason
):
    events = SubmissionEvent.objects.count()
    [ack] = listener.send(message)
    fields = msa(ack)
    assert fields[1] == code
    assert reason in fields[3].replace("\\S\\", "^")
    assert ResultMessage.objects.count() == 0
    assert Suggestion.objects.count() == 0
    assert SubmissionEvent.objects.count() == events


def test_an_addendum_closes_the_pending_addendum_action_and_a_resend_changes_nothing(
    listener, people, submit
):
    department, _ = people
    submission = submit(
        accession_number="SYNACC20261130",
        actions=[ActionRequest("addendum"), ActionRequest("contact_clinician")],
    )
    addendum = oru("SYN-ADD-1", "SYNACC20261130", "C", impression="ADDENDUM: rib fracture.")

    [ack] = listener.send(addendum)
    assert msa(ack)[1:3] == ["AA", "SYN-ADD-1"]

    # The reader's view through the API: the addendum is done, by the feed; the call is not.
    api = APIClient()
    api.force_authenticate(department.reader)
    answer = api.get(reverse("api:submission-detail", args=[submission.pk])).json()
    actions = {action["kind"]: action for action in answer["required_actions"]}
    assert actions["addendum"]["done_on"] is not None
    assert actions["contact_clinician"]["done_on"] is None
    action = RequiredAction.objects.get(submission=submission, kind="addendum")
    assert action.done_by is None
    assert "SYN-ADD-1" in action.done_note
    history = SubmissionEvent.objects.filter(submission=submission, kind="action_done")
    assert [event.changes["by"] for event in history] == ["the RIS feed"]

    events = SubmissionEvent.objects.count()
    [again] = listener.send(addendum)
    assert msa(again)[1:3] == ["AA", "SYN-ADD-1"]
    assert "already received" in msa(again)[3]
    assert ResultMessage.objects.count() == 1
    assert SubmissionEvent.objects.count() == events


def test_a_second_final_after_a_final_counts_as_an_addendum(listener, people, submit):
    submission = submit(accession_number="SYNACC2")
    listener.send(oru("F-1", "SYNACC2", "F"), oru("F-2", "SYNACC2", "F"))
    assert RequiredAction.objects.get(submission=submission).done_at is not None


def test_the_first_final_does_not_close_the_addendum_action(listener, people, submit):
    submission = submit(accession_number="SYNACC3")
    listener.send(oru("F-1", "SYNACC3", "F"))
    assert RequiredAction.objects.get(submission=submission).done_at is None


def test_the_reader_and_the_submitter_are_told_the_addendum_was_seen(listener, people, submit):
    from peerlearning.models import OutboundEmail

    department, _ = people
    submit(accession_number="SYNACC4")
    listener.send(oru("C-9", "SYNACC4", "C"))
    told = set(
        OutboundEmail.objects.filter(key__startswith="addendum-seen:").values_list("to", flat=True)
    )
    assert told == {department.radiologist.email, department.reader.email}


def test_a_changed_preliminary_read_is_suggested_to_the_final_signer_and_nobody_else(
    listener, people, client
):
    department, resident = people
    prelim = oru(
        "P-1",
        "SYNACC5",
        "P",
        signer=f"{RESIDENT_NPI}^RESIDENT^RORY^^^^^^NPI",
        impression="IMPRESSION: No acute cardiopulmonary abnormality.",
    )
    final = oru(
        "F-1",
        "SYNACC5",
        "F",
        impression="IMPRESSION: 7 mm right upper lobe nodule. Follow-up CT in 6 months.",
    )
    listener.send(prelim, final)

    [suggestion] = Suggestion.objects.all()
    assert suggestion.radiologist == department.reader
    assert suggestion.original_reader == resident
    for person in (department.radiologist, resident, department.champion):
        client.force_login(person)
        assert b"SYNACC5" not in client.get(reverse("submissions:suggestions")).content
    client.force_login(department.reader)
    page = client.get(reverse("submissions:suggestions")).content.decode()
    assert "SYNACC5" in page
    assert "7 mm right upper lobe nodule" in page


def test_a_final_that_only_redictates_the_preliminary_is_not_suggested(listener, people):
    listener.send(
        oru(
            "P-1",
            "SYNACC6",
            "P",
            signer=f"{RESIDENT_NPI}^RESIDENT^RORY^^^^^^NPI",
            impression="IMPRESSION:\\.br\\1. No acute abnormality.",
        ),
        oru("F-1", "SYNACC6", "F", impression="Impression: no acute abnormality"),
    )
    assert Suggestion.objects.count() == 0


def test_no_suggestion_when_the_section_has_not_turned_them_on(listener, people):
    department, _ = people
    SectionSubmissionSettings.objects.filter(section=department.neuro).update(
        suggestions_enabled=False
    )
    listener.send(
        oru("P-1", "SYNACC7", "P", signer=f"{RESIDENT_NPI}^RESIDENT^RORY^^^^^^NPI"),
        oru("F-1", "SYNACC7", "F", impression="IMPRESSION: Pneumothorax."),
    )
    assert Suggestion.objects.count() == 0


def test_several_messages_on_one_connection_are_each_acknowledged(listener, people):
    acks = listener.send(*(oru(f"M-{n}", f"SYNACC1{n}", "F") for n in range(5)))
    assert [msa(ack)[1:3] for ack in acks] == [["AA", f"M-{n}"] for n in range(5)]


# Suggestions in the browser -------------------------------------------------------------------


@pytest.fixture
def suggestion(people):
    department, resident = people
    return Suggestion.objects.create(
        radiologist=department.reader,
        kind=Suggestion.Kind.PRELIMINARY_CHANGED,
        accession_number="SYNACC8",
        original_reader=resident,
        earlier_impression="No acute abnormality.",
        later_impression="Small pneumothorax.",
    )


def test_submit_this_case_opens_the_form_prefilled_and_sends_nothing(client, suggestion):
    from peerlearning.models import OutboundEmail

    client.force_login(suggestion.radiologist)
    response = client.post(reverse("submissions:suggestion-submit", args=[suggestion.pk]))
    assert response.url == reverse("submissions:submit")
    form = client.get(response.url).context["form"]
    assert form.initial["accession_number"] == "SYNACC8"
    assert form.initial["reason"] == "discrepancy"
    assert "Resident" in form.initial["reader"]
    assert OutboundEmail.objects.count() == 0


def test_dismiss_takes_the_suggestion_off_my_list(client, suggestion):
    client.force_login(suggestion.radiologist)
    client.post(reverse("submissions:suggestion-dismiss", args=[suggestion.pk]))
    assert b"SYNACC8" not in client.get(reverse("submissions:suggestions")).content


def test_another_person_cannot_open_or_dismiss_my_suggestion(client, suggestion, department):
    client.force_login(department.radiologist)
    url = reverse("submissions:suggestion-dismiss", args=[suggestion.pk])
    assert client.post(url).status_code == 404
    suggestion.refresh_from_db()
    assert suggestion.dismissed_at is None


def test_a_suggestion_already_submitted_by_hand_leaves_the_list(client, suggestion, submit):
    submit(submitter=suggestion.radiologist, accession_number="SYNACC8", reader=None)
    client.force_login(suggestion.radiologist)
    assert b"SYNACC8" not in client.get(reverse("submissions:suggestions")).content


def test_the_api_lists_only_my_suggestions_and_dismisses_them(suggestion, department):
    api = APIClient()
    api.force_authenticate(department.radiologist)
    assert api.get(reverse("api:suggestion-list")).json()["results"] == []
    api.force_authenticate(suggestion.radiologist)
    [item] = api.get(reverse("api:suggestion-list")).json()["results"]
    assert item["accession_number"] == "SYNACC8"
    dismiss = api.post(reverse("api:suggestion-dismiss", args=[suggestion.pk]))
    assert dismiss.status_code == 204
    assert api.get(reverse("api:suggestion-list")).json()["results"] == []


# FHIR ---------------------------------------------------------------------------------------


def diagnostic_report(status="amended", accession="SYNACC9", **extra):
    report = {
        "resourceType": "DiagnosticReport",
        "id": "synthetic-1",
        "status": status,
        "identifier": [
            {
                "value": accession,
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN"}
                    ]
                },
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "24627-2"}]},
        "issued": "2026-12-08T10:15:00-05:00",
        "resultsInterpreter": [{"reference": f"Practitioner/npi-{READER_NPI}"}],
        "conclusion": "Left 7th rib fracture, added by addendum.",
    }
    report.update(extra)
    return report


@pytest.fixture
def feed_account(department):
    from django.contrib.auth.models import Permission

    account = make_member(department.neuro, first_name="Ris", last_name="Feed")
    account.user_permissions.add(Permission.objects.get(codename="add_resultmessage"))
    return account


def post_fhir(user, body):
    api = APIClient()
    api.force_authenticate(user)
    return api.post(reverse("api:fhir-diagnosticreport"), body, format="json")


def test_an_amended_diagnostic_report_closes_the_addendum_action_once(people, submit, feed_account):
    submission = submit(accession_number="SYNACC9")
    first = post_fhir(feed_account, diagnostic_report())
    assert first.status_code == 201
    assert RequiredAction.objects.get(submission=submission).done_at is not None
    events = SubmissionEvent.objects.count()
    again = post_fhir(feed_account, diagnostic_report())
    assert again.status_code == 200
    assert SubmissionEvent.objects.count() == events


def test_a_report_it_cannot_use_gets_422_with_the_field_named(people, feed_account):
    bad_status = post_fhir(feed_account, diagnostic_report(status="registered"))
    assert bad_status.status_code == 422
    assert "status" in bad_status.json()["detail"]
    no_accession = post_fhir(feed_account, diagnostic_report(identifier=[]))
    assert no_accession.status_code == 422
    assert "identifier" in no_accession.json()["detail"]
    invalid = post_fhir(feed_account, diagnostic_report(code="not a codeable concept"))
    assert invalid.status_code == 422
    assert ResultMessage.objects.count() == 0


def test_only_an_account_with_the_feed_permission_may_post_results(people):
    department, _ = people
    refused = post_fhir(department.champion, diagnostic_report())
    assert refused.status_code == 403
    assert "add_resultmessage" in refused.json()["detail"]
    assert ResultMessage.objects.count() == 0


# Deciding "differs" -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("earlier", "later", "differ"),
    [
        ("IMPRESSION: No acute abnormality.", "Impression:  no acute abnormality", False),
        (
            "1. No fracture.\n2. Mild degenerative change.",
            "No fracture. Mild degenerative change.",
            False,
        ),
        (
            "No acute abnormality. Dictated by RR",
            "No acute abnormality. Electronically signed by AA",
            False,
        ),
        ("No acute abnormality.", "Small right pneumothorax.", True),
        ("7 mm nodule.", "9 mm nodule.", True),
        ("No fracture.", "Fracture.", True),
    ],
)
def test_impressions_differ_ignores_dictation_noise_only(earlier, later, differ):
    assert impressions_differ(earlier, later) is differ
