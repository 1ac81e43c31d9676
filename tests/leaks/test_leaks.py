"""The leak harness run on a small generated department with canary names.

For each role combination of the original reader (champion, leader, admin assistant, all
three), everything the reader, a leader and an admin assistant can reach is collected
(tests/leaks/harness.py) before and after one radiologist submits a discrepancy about that
reader. Then:

- nothing the reader sees about the submitter changed (their rows, counts, pages);
- nothing a leader or an assistant sees about the reader changed;
- the reader's feedback (pages, PDF, API, e-mail) never names the submitter nor gives a
  time of day;
- no leader document counts anyone's follow-ups or discrepancies.
"""

import datetime
import re
import time

import pytest
from django.utils import timezone

from peerlearning.models import Membership, Role, Section, User
from peerlearning.testing import make_member
from submissions.services import ActionRequest, submission_create
from tests.leaks.harness import changed_about, snapshot

pytestmark = pytest.mark.django_db

COMBINATIONS = {
    "champion": (Role.CHAMPION,),
    "leader": (Role.LEADER,),
    "admin_assistant": (Role.ADMIN_ASSISTANT,),
    "all_three": (Role.CHAMPION, Role.LEADER, Role.ADMIN_ASSISTANT),
}


class Canaries:
    """A section of seven: names found nowhere else, so a hit is a leak and not a word."""

    def __init__(self, reader_roles):
        self.section = Section.objects.create(name="Canary imaging", slug="canary")
        person = self._person
        self.submitter = person("Zelda", "Quaxmire", Role.RADIOLOGIST)
        self.reader = person("Oberon", "Vantwist", Role.RADIOLOGIST, *reader_roles)
        self.others = [
            person("Ines", "Plumtree", Role.RADIOLOGIST),
            person("Hugo", "Brackwater", Role.RADIOLOGIST),
            person("Mira", "Sloeberry", Role.RADIOLOGIST),
        ]
        self.champion = person("Cora", "Fenwhistle", Role.RADIOLOGIST, Role.CHAMPION)
        self.leader = person("Lars", "Emberfold", Role.LEADER)
        self.assistant = person("Ada", "Moonrake", Role.ADMIN_ASSISTANT)
        one, two, three = self.others
        # Last month and this one already hold work, so every page has rows to compare.
        earlier = timezone.now() - datetime.timedelta(days=35)
        self._submit(self.submitter, one, "C0000001", at=earlier)
        self._submit(two, self.submitter, "C0000002")
        self._submit(three, one, "C0000003", reason="great_catch")
        self._submit(self.submitter, two, "C0000004", reason="interesting")
        self._submit(one, self.reader, "C0000005", at=earlier)

    def _person(self, first, last, *roles) -> User:
        participating = Role.RADIOLOGIST in roles
        return make_member(
            self.section,
            *roles,
            participating=participating,
            first_name=first,
            last_name=last,
            email=f"{first}.{last}@canary.example.org".lower(),
        )

    def _submit(self, submitter, reader, accession, *, reason="discrepancy", at=None):
        submission = submission_create(
            submitter=submitter,
            section=self.section,
            accession_number=accession,
            reason=reason,
            reason_detail="perceptual" if reason == "discrepancy" else "",
            description="Canary finding worth a second look.",
            learning_point="Check the corners.",
            reader=reader,
            actions=[ActionRequest("addendum")] if reason == "discrepancy" else [],
            attested=True,
        )
        if at is not None:
            from submissions.models import RequiredAction, Submission

            Submission.objects.filter(pk=submission.pk).update(
                created_at=at, feedback_sent_at=at, next_action_due_at=None
            )
            RequiredAction.objects.filter(submission=submission).update(
                due_at=at + datetime.timedelta(days=3), done_at=at, done_on=at.date()
            )
        return submission

    def the_discrepancy(self):
        """The event under test: the submitter sends the reader a discrepancy."""
        return self._submit(self.submitter, self.reader, "C0000099")


def _feedback_documents(snap):
    return {
        key: doc
        for key, doc in snap.documents.items()
        if doc.name.startswith(("submissions:feedback", "api:submission"))
        or key.startswith("email:feedback:")
    }


@pytest.fixture(scope="module")
def timings():
    found = {}
    yield found
    if found:
        print("\nleak harness:", ", ".join(f"{k} {v}" for k, v in sorted(found.items())))


@pytest.mark.parametrize("combination", sorted(COMBINATIONS))
def test_nothing_changes_that_would_tell_who_submitted_or_who_received(
    client, combination, timings
):
    started = time.monotonic()
    canaries = Canaries(COMBINATIONS[combination])
    watchers = [canaries.reader, canaries.leader, canaries.assistant]
    before = {user.pk: snapshot(client, user) for user in watchers}

    submission = canaries.the_discrepancy()
    after = {user.pk: snapshot(client, user) for user in watchers}

    reader_before, reader_after = before[canaries.reader.pk], after[canaries.reader.pk]
    # The reader's own inbox is theirs to see grow; the submitter is nowhere in it.
    about_submitter = changed_about(reader_before, reader_after, canaries.submitter)
    assert about_submitter == {}, "the reader can see what the submitter did"

    for watcher in (canaries.leader, canaries.assistant):
        about_reader = changed_about(before[watcher.pk], after[watcher.pk], canaries.reader)
        assert about_reader == {}, f"{watcher} can see what the reader received"

    feedback = _feedback_documents(reader_after)
    assert any(doc.name == "submissions:feedback-detail" for doc in feedback.values())
    assert any(key.startswith("email:feedback:") for key in feedback)
    for key, doc in feedback.items():
        text = doc.text.lower()
        assert "quaxmire" not in text and "zelda" not in text, key
        if doc.name.startswith("submissions:feedback"):
            assert "HH:MM" not in doc.text, key
    reader_api = [
        doc
        for doc in reader_after.documents.values()
        if doc.name == "api:submission-detail"
        and any(f'"id": {submission.pk}' in line for line in doc.lines)
    ]
    assert reader_api, "the reader's API answer for the new feedback was not reached"
    for doc in reader_api:
        assert not re.search(r"ISO", doc.text), doc.url

    total = sum(len(s.documents) for s in (*before.values(), *after.values()))
    timings[combination] = f"{total} documents in {time.monotonic() - started:.1f}s"


@pytest.mark.parametrize("combination", ["all_three"])
def test_leaders_documents_count_no_ones_follow_ups_or_discrepancies(client, combination):
    canaries = Canaries(COMBINATIONS[combination])
    canaries.the_discrepancy()
    for leader in (canaries.leader, canaries.reader):
        snap = snapshot(client, leader)
        for key, doc in snap.documents.items():
            if not doc.name.startswith(("reporting:oppe", "reporting:report", "reporting:moc")):
                continue
            if doc.name.startswith(("reporting:oppe-mine", "reporting:moc-letter-mine")):
                continue  # the radiologist's own report has the details
            for line in doc.lines:
                lowered = line.lower()
                if "follow-up" in lowered or "discrepanc" in lowered:
                    assert not re.search(r"\b\d+\s*(of|/)\s*\d+\b", line), (key, line)


def test_the_harness_sees_a_name_that_is_there(client):
    """The rig is not blind: a leader's monitoring pages name the submitter."""
    canaries = Canaries(())
    snap = snapshot(client, canaries.leader)
    assert snap.lines_about(canaries.submitter)
    assert len(snap.documents) > 10
    assert Membership.objects.filter(section=canaries.section).count() >= 8
