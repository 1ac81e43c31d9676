import datetime
from pathlib import Path

import pytest
from django.utils import timezone

from conferences.meetings.services import conference_create
from conferences.models import Conference
from peerlearning.models import User
from peerlearning.roster import roster_import, roster_parse

DATA = Path(__file__).parent / "data"


def sample_bytes(name: str) -> bytes:
    return (DATA / name).read_bytes()


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=timezone.get_default_timezone())


# The samples record a meeting on 12 November 2026 from about 07:00 to 08:01 (site time).
SAMPLE_START = local(2026, 11, 12, 7, 0)
SAMPLE_END = local(2026, 11, 12, 8, 0)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    # Invitations write calendar files to the default storage: keep them out of var/.
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def sample_department(department):
    """The personas' department plus the sample roster (Avery Okafor …) in neuroradiology."""
    parsed = roster_parse(sample_bytes("sample_roster.csv"))
    assert parsed.ok, parsed.error_messages()
    roster_import(rows=parsed.rows, actor=None)
    department.people = {u.email.split("@")[0]: u for u in User.objects.all()}
    return department


def make_conference(section, *, actor=None, start=None, minutes=60, **extra) -> Conference:
    start = start or SAMPLE_START
    extra.setdefault("virtual_url", "https://zoom.example.org/j/81244179023")
    return conference_create(
        section=section,
        title=extra.pop("title", "Neuroradiology Peer Learning Conference"),
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=minutes),
        actor=actor,
        **extra,
    )


@pytest.fixture
def sample_conference(sample_department):
    return make_conference(sample_department.neuro, actor=sample_department.champion)
