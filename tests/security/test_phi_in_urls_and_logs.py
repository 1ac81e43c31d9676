"""PHI (accession numbers) never travels in URLs' query strings and never reaches a log.

The run-wide guard (tests/security/phi_log_guard.py) scans every log record of the session
for the accession numbers the tests created; the tests here check its parts, and the places
a query string could be logged: Django's request logger, the development server, gunicorn's
access log and nginx's.
"""

import logging
import os
import re
import runpy
import subprocess
import sys
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import reverse

from peerlearning.lib.security import StripQueryStrings
from peerlearning.models import OutboundEmail
from peerlearning.testing import free_port
from submissions.models import Submission
from tests.security import phi_log_guard
from tests.security.conftest import case_for

ROOT = Path(__file__).resolve().parents[2]
ACCESSION = "QS12345678"


class UrlAttributes(HTMLParser):
    URL_ATTRIBUTES = {"href", "src", "action", "hx-get", "hx-post", "hx-put", "formaction"}

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in self.URL_ATTRIBUTES and value:
                self.urls.append(value)


def urls_in(html: str) -> list[str]:
    parser = UrlAttributes()
    parser.feed(html)
    return parser.urls


# No accession number in any URL a page or an e-mail hands out ---------------------------------


@pytest.mark.django_db
def test_no_page_puts_an_accession_number_into_a_link_or_form_address(client, department):
    case = case_for(department.radiologist, department.neuro, department.reader, ACCESSION)
    pages = {
        department.radiologist: [
            reverse("submissions:mine"),
            reverse("submissions:mine-detail", args=[case.pk]),
            reverse("submissions:submit"),
        ],
        department.reader: [
            reverse("submissions:feedback-inbox"),
            reverse("submissions:feedback-detail", args=[case.pk]),
        ],
        department.champion: [
            reverse("submissions:queue"),
            reverse("submissions:queue") + "?status=open&sort=due",
            reverse("submissions:review", args=[case.pk]),
        ],
    }
    checked = shown = 0
    for user, urls in pages.items():
        client.force_login(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            html = response.content.decode()
            shown += ACCESSION in html  # pages show it …
            for link in urls_in(html):  # … but never in an address
                checked += 1
                assert ACCESSION.lower() not in link.lower(), (url, link)
    assert checked > 50 and shown >= 3


@pytest.mark.django_db
def test_no_e_mail_link_carries_an_accession_number(department):
    case_for(department.radiologist, department.neuro, department.reader, ACCESSION)

    emails = list(OutboundEmail.objects.all())

    assert emails
    for email in emails:
        for link in re.findall(r"https?://\S+", email.body_text + email.body_html):
            assert ACCESSION not in link


# Request logging keeps query strings out -------------------------------------------------------


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.security.urls")
def test_a_server_error_is_logged_without_the_query_string(client, caplog):
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get(reverse("test-boom"), {"accession": ACCESSION})

    assert response.status_code == 500
    records = [r for r in caplog.records if r.name == "django.request"]
    assert records, "the error was not logged"
    for record in records:
        assert ACCESSION not in record.getMessage()
        assert "/test-security/boom/" in record.getMessage()


@pytest.mark.django_db
def test_a_not_found_is_logged_without_the_query_string(client, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/no/such/page/", {"accession": ACCESSION}).status_code == 404

    messages = [r.getMessage() for r in caplog.records if r.name == "django.request"]
    assert messages == ["Not Found: /no/such/page/"]


def test_the_filter_strips_query_strings_from_request_lines():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        (f"GET /submissions/submit/?accession={ACCESSION}&reader=a@b.org HTTP/1.1", "302", "0"),
        None,
    )
    assert StripQueryStrings().filter(record) is True
    assert record.getMessage() == '"GET /submissions/submit/ HTTP/1.1" 302 0'

    plain = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, f"Failed: /x/?a={ACCESSION}", (), None
    )
    StripQueryStrings().filter(plain)
    assert plain.getMessage() == "Failed: /x/"

    named = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "%(path)s", ({"path": "/y/?a=1"},), None
    )
    StripQueryStrings().filter(named)
    assert named.getMessage() == "/y/"


def test_the_request_loggers_are_configured_with_the_filter():
    for name in ("django.request", "django.server"):
        assert any(isinstance(f, StripQueryStrings) for f in logging.getLogger(name).filters), name


def test_the_development_server_logs_request_lines_without_query_strings(tmp_path):
    """`manage.py runserver`, as `make run` starts it, asked for a PACS launch URL."""
    port = free_port()
    log = tmp_path / "runserver.log"
    # Its own empty SQLite file: the suite's database may exist only as pytest's test copy.
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("REDIS_URL", None)
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}/healthz?accession={ACCESSION}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).read()
                break
            except urllib.error.HTTPError:
                break  # 503 without a broker still is a logged request
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"runserver did not start:\n{log.read_text()}")
                time.sleep(0.2)
        deadline = time.monotonic() + 10
        while "/healthz" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=10)
    text = log.read_text()
    assert '"GET /healthz HTTP/1.1"' in text, text
    assert ACCESSION not in text


def test_gunicorns_access_log_leaves_the_query_string_out():
    config = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    log_format = config["access_log_format"]

    assert "%(U)s" in log_format  # the path alone
    for with_query in ("%(r)s", "%(q)s", "%({raw_uri}e)s"):
        assert with_query not in log_format


def test_nginx_logs_requests_without_their_query_strings():
    conf = (ROOT / "deploy" / "nginx" / "peerlearning.conf").read_text()
    formats = re.findall(r"log_format\s+(\S+)\s+(.*?);", conf, re.DOTALL)
    access_logs = re.findall(r"^\s*access_log\s+(.*?);", conf, re.MULTILINE)

    assert formats and access_logs, "no access log format of our own"
    for _, body in formats:
        for variable in ("$request ", '$request"', "$request_uri", "$args", "$query_string"):
            assert variable not in body
    for line in access_logs:
        assert line.strip() == "off" or any(line.split()[-1] == name for name, _ in formats)


# The run-wide guard ------------------------------------------------------------------------------


def test_the_guard_finds_an_accession_number_in_a_log_line_and_names_only_the_logger():
    lines = [
        ("app.one", "Submission 42 created"),
        ("app.two", f"Submission {ACCESSION.lower()} created"),
        ("app.two", f"again: {ACCESSION}"),
        ("app.three", f"id X{ACCESSION}9 is another number"),
        ("mail.log", f"the test SMTP server received {ACCESSION}"),
    ]

    found = phi_log_guard.leaking_loggers(lines, {ACCESSION})

    assert found == {"app.two": 2}


def test_the_guard_ignores_numbers_too_short_to_tell_apart():
    registry = phi_log_guard.AccessionRegistry()
    registry.add("A123")
    registry.add("  ")
    registry.add(None)
    registry.add(ACCESSION)

    assert registry.values == {ACCESSION}


@pytest.mark.django_db
def test_the_guard_registers_every_accession_number_the_tests_create(department):
    case_for(department.radiologist, department.neuro, department.reader, "REG1000001")
    Submission.objects.bulk_create(
        [
            Submission(
                section=department.neuro,
                submitter=department.reader,
                accession_number="REG1000002",
                reason="interesting",
                description="Bulk.",
            )
        ]
    )

    assert {"REG1000001", "REG1000002"} <= phi_log_guard.GUARD.registry.values


def test_the_guard_sees_records_of_every_level_and_of_loggers_that_do_not_propagate():
    guard = phi_log_guard.GUARD
    before = len(guard.buffer.lines)
    quiet = logging.getLogger("tests.security.quiet")
    quiet.propagate = False
    try:
        guard.reattach()
        logging.getLogger("tests.security.loud").debug("debug record")
        quiet.info("kept to itself")
    finally:
        quiet.propagate = True
        quiet.removeHandler(guard.buffer)
    seen = guard.buffer.lines[before:]
    assert ("tests.security.loud", "debug record") in seen
    assert ("tests.security.quiet", "kept to itself") in seen


# Database errors -------------------------------------------------------------------------------


def console_output_of(record: logging.LogRecord) -> str:
    """What the site's console handler (settings.LOGGING) prints for a record."""
    (console,) = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    for check in console.filters:
        check.filter(record)
    return console.format(record)


def test_a_logged_database_error_keeps_its_detail_values_out():
    try:
        raise RuntimeError(
            'duplicate key value violates unique constraint "submission_once_per_submitter"\n'
            f"DETAIL:  Key (submitter_id, accession_number)=(7, {ACCESSION}) already exists."
        )
    except RuntimeError:
        record = logging.getLogger("django.request").makeRecord(
            "django.request", logging.ERROR, __file__, 1, "Internal Server Error: %s",
            ("/submissions/submit/",), sys.exc_info(),
        )  # fmt: skip

    output = console_output_of(record)

    assert "duplicate key value violates unique constraint" in output
    assert "DETAIL: (values not logged)" in output
    assert ACCESSION not in output


@pytest.mark.django_db(transaction=True)
def test_a_real_unique_violation_logs_no_accession_number(department):
    """On PostgreSQL the error names the values; on SQLite it names only the columns."""
    from django.db import IntegrityError, transaction

    case = case_for(department.radiologist, department.neuro, department.reader, ACCESSION)
    try:
        with transaction.atomic():
            Submission.objects.create(
                section=case.section,
                submitter=case.submitter,
                accession_number=case.accession_number,
                reason="interesting",
                description="Twice.",
            )
    except IntegrityError:
        record = logging.getLogger("tests").makeRecord(
            "tests", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    else:
        pytest.fail("the unique constraint did not hold")

    from django.db import connection

    if connection.vendor == "postgresql":  # the control: unredacted, the value is there
        assert ACCESSION in logging.Formatter().formatException(record.exc_info)
    assert ACCESSION not in console_output_of(record)
