"""The slides, on screen and as PDF: nothing that identifies the patient, the reader or the
submitter; the PDF renderer fetches only the app's files and the deck's key images."""

import re
import shutil
import subprocess
import time
import zlib

import pytest
from django.urls import reverse

from anonymizer.tests.factories import IDENTITY
from conferences.cases.deck import deck_html, deck_pdf
from conferences.models import TeachingCase
from conferences.tests.conftest import make_conference
from conferences.tests.teaching import agenda_of, candidate, ready_case
from peerlearning.lib.pdf import BASE_URL, static_only_fetcher
from peerlearning.models import AuditEvent, Role
from peerlearning.testing import make_member

pytestmark = pytest.mark.django_db

PDFTOTEXT = shutil.which("pdftotext")


@pytest.fixture
def deck(department):
    """Three cases from DICOM full of planted identifiers and submissions naming people."""
    for name in IDENTITY.roster:  # the hospital's staff named in the images' text
        first, last = name.removeprefix("Dr. ").split()
        make_member(department.neuro, Role.RADIOLOGIST, first_name=first, last_name=last)
    conference = make_conference(department.neuro, actor=department.champion)
    sources = [
        candidate(
            department.neuro,
            department.radiologist,
            reader=department.reader,
            description=(
                f"Quinn Reader missed it; Rowan Submitter found it in {IDENTITY.given} "
                f"{IDENTITY.family} (MRN {IDENTITY.patient_id}, DOB 03/12/1947, "
                f"accession {IDENTITY.accession}, {IDENTITY.institution})."
            ),
            learning_point="Rowan Submitter suggests a subdural window.",
        ),
        candidate(department.neuro, department.trainee, reader=department.reader, accession="A2"),
    ]
    cases = [
        ready_case(department.neuro, department.champion, title="Case A", sources=sources[:1]),
        ready_case(department.neuro, department.champion, title="Case B", sources=sources[1:]),
        ready_case(department.neuro, department.champion, title="Case C", images=2),
    ]
    agenda_of(conference, cases, department.champion)
    return conference


def planted(department) -> list[str]:
    people = [department.reader, department.radiologist, department.trainee]
    return [
        *IDENTITY.planted(),
        "03/12/1947",
        *(p.first_name for p in people),
        *(p.last_name for p in people),
    ]


def leaks(text: str, department) -> list[str]:
    """Planted values found as whole words (so "Tate" is not found in "state")."""
    return [
        value
        for value in planted(department)
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])", text, re.I)
    ]


def pdf_strings(data: bytes) -> str:
    """Every string a PDF stores (metadata, outline), its streams decompressed."""
    found = [data]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            found.append(zlib.decompress(stream))
        except zlib.error:
            continue
    return b"\n".join(found).decode("latin-1")


def test_the_slides_on_screen_show_no_patient_reader_or_submitter(client, department, deck):
    client.force_login(department.champion)
    page = client.get(reverse("conferences:present", args=[deck.pk])).content.decode()

    assert "Case A" in page and "Case C" in page and deck.check_in_code in page
    assert page.count("data-zoomable") == 4
    assert leaks(page, department) == []


def test_the_pdf_deck_shows_no_patient_reader_or_submitter(client, department, deck):
    html, files = deck_html(deck)
    assert "Case A" in html and len(files) == 4
    assert leaks(html, department) == []

    response = client.get(reverse("conferences:deck", args=[deck.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(department.champion)
    response = client.get(reverse("conferences:deck", args=[deck.pk]))
    assert response["Content-Type"] == "application/pdf"
    data = response.content
    strings = pdf_strings(data)
    assert "Case A" in strings  # the outline holds the slide titles: the check reads them
    assert leaks(strings, department) == []
    if PDFTOTEXT:
        text = subprocess.run(
            [PDFTOTEXT, "-layout", "-", "-"], input=data, capture_output=True, check=True
        ).stdout.decode()
        assert "Case A" in text and "What is the finding?" in text
        assert leaks(text, department) == []
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert event.object_id == str(deck.pk) and event.detail["what"] == "slide deck"


def test_the_deck_is_landscape_one_slide_a_page_on_a4_or_letter(department, deck):
    a4 = deck_pdf(deck).data
    letter = deck_pdf(deck, paper="letter").data
    # Title page, then a question page and an answer page per case.
    boxes = re.findall(r"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf_strings(a4))
    assert len(boxes) == 1 + 2 * 3
    assert {(round(float(w)), round(float(h))) for w, h in boxes} == {(842, 595)}
    boxes = re.findall(r"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf_strings(letter))
    assert {(round(float(w)), round(float(h))) for w, h in boxes} == {(792, 612)}


def test_a_held_back_case_is_left_out_of_the_pdf(department, deck):
    TeachingCase.objects.filter(title="Case B").update(check_passed=False)
    html, files = deck_html(deck)
    assert "Case B" not in html and "1 held back" in html and len(files) == 3


def test_the_pdf_renderer_fetches_only_static_files_and_the_decks_key_images(department, deck):
    _, files = deck_html(deck)
    fetcher = static_only_fetcher(files=files)
    allowed = next(iter(files))
    assert fetcher.fetch(f"https://pdf.invalid{allowed}").read()[:4] == b"\x89PNG"
    assert b"<svg" in fetcher.fetch(f"{BASE_URL}static/img/favicon.svg").read()
    other_case = ready_case(department.neuro, department.champion, title="Not on it")
    outside = f"/deck-images/{other_case.key_images.get().pk}.png"
    for url in [
        f"https://pdf.invalid{outside}",
        f"https://pdf.invalid{allowed}?x=1",
        "https://pdf.invalid/media/conferences/cases/x.png",
        "https://pdf.invalid/static/../conferences/pdf.py",
        "file:///etc/passwd",
        "http://127.0.0.1:8000/admin/",
        "https://example.org/logo.png",
    ]:
        with pytest.raises(ValueError):
            fetcher.fetch(url)


def test_a_ten_case_deck_renders_in_a_few_seconds(department, django_assert_max_num_queries):
    conference = make_conference(department.neuro, actor=department.champion, minutes=120)
    cases = [
        ready_case(department.neuro, department.champion, title=f"Case {n}", images=2)
        for n in range(10)
    ]
    agenda_of(conference, cases, department.champion)
    started = time.perf_counter()
    # One more than the deck itself: the roster, for the conference title at the text gate.
    with django_assert_max_num_queries(5):
        rendered = deck_pdf(conference)
    seconds = time.perf_counter() - started
    assert rendered.data.startswith(b"%PDF")
    assert pdf_strings(rendered.data).count("/MediaBox") == 21
    # Measured about 0.5 s on the 2-core development machine; the bound catches a regression.
    assert seconds < 15, seconds
