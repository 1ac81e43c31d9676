"""The slides of a conference: the same content on screen (presentation mode) and in PDF.

Nothing here reads who submitted or who read a case. The only names a slide can carry are
those of people who agreed to be credited on a great catch or interesting case
(`services.cases.slide_credits`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from conferences.cases.models import AgendaItem, KeyImage, TeachingCase
from conferences.cases.selectors import deck_items, vote_summaries
from conferences.cases.services import slide_credits
from conferences.gated import conference_text
from conferences.meetings.models import Conference
from peerlearning.lib.pdf import html_to_pdf

PAPERS = {"a4": "A4 landscape", "letter": "letter landscape"}


@dataclass
class Picture:
    key: KeyImage
    src: str


@dataclass
class Slide:
    item: AgendaItem
    case: TeachingCase
    number: int
    total: int
    pictures: list[Picture] = field(default_factory=list)
    options: list[tuple[str, str, bool]] = field(default_factory=list)
    credits: dict[str, list[str]] = field(default_factory=dict)
    votes: int = 0
    tally: list[dict] = field(default_factory=list)

    @property
    def held_back(self) -> bool:
        return self.item.held_back


def screen_src(key: KeyImage) -> str:
    url = reverse("conferences:key-image", args=[key.case.uuid, key.pk])
    # The file name changes whenever the image is drawn again: a fresh URL, no stale cache.
    return f"{url}?v={key.png.name.rsplit('/', 1)[-1][:8]}"


def pdf_path(key: KeyImage) -> str:
    return f"/deck-images/{key.pk}.png"


def slides_for(conference: Conference, *, src=screen_src, votes: bool = False) -> list[Slide]:
    items = deck_items(conference)
    summaries = vote_summaries(items) if votes else {}
    slides = []
    for number, item in enumerate(items, start=1):
        case = item.teaching_case
        slide = Slide(item=item, case=case, number=number, total=len(items))
        if not item.held_back:
            for key in case.key_images.all():
                key.case = case
                slide.pictures.append(Picture(key, src(key)))
            slide.options = [
                (chr(65 + n), text, case.correct_option == n)
                for n, text in enumerate(case.vote_options)
            ]
            slide.credits = slide_credits(case)
            slide.votes, slide.tally = summaries.get(item.pk, (0, []))
        slides.append(slide)
    return slides


def deck_html(conference: Conference, *, paper: str = "a4") -> tuple[str, dict[str, str]]:
    """The HTML given to WeasyPrint, and the key image files it may fetch."""
    slides = slides_for(conference, src=lambda key: f"https://pdf.invalid{pdf_path(key)}")
    files = {
        pdf_path(p.key): p.key.png.name for slide in slides for p in slide.pictures if p.key.png
    }
    html = render_to_string(
        "conferences/pdf/deck.html",
        {
            "conference": conference,
            "conference_title": conference_text(conference, "title"),
            "slides": [s for s in slides if not s.held_back],
            "held_back": sum(1 for s in slides if s.held_back),
            "paper": PAPERS.get(paper, PAPERS["a4"]),
            "site_name": settings.SITE_NAME,
            "exported_on": timezone.localdate(),
        },
    )
    return html, files


@dataclass
class Rendered:
    data: bytes
    seconds: float


def deck_pdf(conference: Conference, *, paper: str = "a4") -> Rendered:
    """One slide a page: a title page, then each case's question and its answer."""
    started = time.perf_counter()
    html, files = deck_html(conference, paper=paper)
    data = html_to_pdf(html, files=files)
    return Rendered(data, time.perf_counter() - started)
