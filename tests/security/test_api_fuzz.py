"""Schemathesis against the live API: thousands of generated requests, no server error.

The OpenAPI schema at /api/schema/ drives `st run` (schemathesis's command line) against
pytest-django's live server, signed in with an API token of a champion (who is also a
radiologist, so every operation is open to them: submitting, scheduling, importing). The
database holds the department's personas, a case and a held conference with attendance, so
detail and attendance operations meet real ids as well as made-up ones.

Checks: `not_a_server_error` (no 5xx, ever) and `content_type_conformance`. The run is bounded
(MAX_EXAMPLES per operation, a fixed seed, one worker), about a minute on a laptop.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conferences.attendance.services import attendance_mark
from peerlearning.testing import api_key_for
from tests.security.conftest import case_for, held_conference

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "25"))
SEED = int(os.environ.get("FUZZ_SEED", "20261112"))
ST = Path(sys.executable).with_name("st")


@pytest.fixture
def seeded(transactional_db, department, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    case_for(department.radiologist, department.neuro, department.champion, "FUZZ000001")
    case_for(department.reader, department.neuro, department.radiologist, "FUZZ000002")
    conference = held_conference(department.neuro, title="Fuzzed conference")
    attendance_mark(
        conference=conference, user=department.reader, present=True, minutes=None, actor=None
    )
    return api_key_for(department.champion)


@pytest.mark.slow
def test_the_api_never_answers_with_a_server_error(live_server, seeded, tmp_path, need_service):
    need_service(
        ST.exists() or bool(shutil.which("st")),
        "schemathesis (the dev extra `schemathesis>=4.32,<5`)",
    )
    report = tmp_path / "report"
    command = [
        str(ST if ST.exists() else shutil.which("st")),
        "run",
        f"{live_server.url}/api/schema/",
        "--header",
        f"Authorization: Token {seeded}",
        "--checks",
        os.environ.get("FUZZ_CHECKS", "not_a_server_error,content_type_conformance"),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--phases",
        "examples,coverage,fuzzing",
        "--generation-database",
        "none",
        "--request-timeout",
        "20",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(report),
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False
    )
    output = result.stdout + result.stderr
    # Keep the summary where CI shows it, whatever the outcome.
    print(output[-6000:])
    assert result.returncode == 0, output[-12000:]
    tested = re.search(r"Tested: (\d+)", output)
    assert tested and int(tested.group(1)) >= 9, "schemathesis tested too few operations"
    assert re.search(r"\d+ generated, \d+ passed", output), output[-6000:]
