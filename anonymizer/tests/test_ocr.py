"""OCR proposals for the pixel review: rectangles over burned-in text, nowhere else.

The tests that read pixels need Debian's tesseract-ocr: skipped without it, a failure under
REQUIRE_SERVICES=1. The others put a stand-in ``tesseract`` script on PATH.
"""

import logging
import stat

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from anonymizer.engine.ocr import grey_frame, ocr_available, propose_rectangles
from anonymizer.engine.pixels import Rect
from anonymizer.tests.factories import make_image, make_secondary_capture

TEXT = "DOE^JANE 12345678"
TEXT_AT = (12, 10)


def _ct(pixels: np.ndarray):
    rows, columns = pixels.shape
    ds = make_image(rows=rows, columns=columns)
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    return ds


def _burned_in_ct(text: str = TEXT) -> tuple:
    """A 512 x 512 12-bit CT slice: a noisy body, and text drawn at full white."""
    body = Image.new("L", (512, 512), 0)
    ImageDraw.Draw(body).ellipse((110, 130, 400, 430), fill=255)
    writing = Image.new("L", (512, 512), 0)
    draw = ImageDraw.Draw(writing)
    font = ImageFont.load_default(size=16)
    draw.text(TEXT_AT, text, fill=255, font=font)
    left, top, right, bottom = draw.textbbox(TEXT_AT, text, font=font)
    rng = np.random.default_rng(7)
    # Stored values 0-4095 (rescale -1024): air, soft tissue with noise, text the brightest.
    pixels = np.where(np.asarray(body) > 0, 1064 + rng.integers(-60, 60, (512, 512)), 24)
    pixels = np.maximum(pixels, np.asarray(writing).astype(np.int64) * 4095 // 255)
    return _ct(pixels), Rect(left, top, max(1, right - left), max(1, bottom - top))


def _covers(outer: Rect, inner: Rect) -> bool:
    return (
        outer.x <= inner.x
        and outer.y <= inner.y
        and outer.x + outer.width >= inner.x + inner.width
        and outer.y + outer.height >= inner.y + inner.height
    )


def _overlaps(a: Rect, b: Rect) -> bool:
    return (
        a.x < b.x + b.width
        and b.x < a.x + a.width
        and a.y < b.y + b.height
        and b.y < a.y + a.height
    )


@pytest.fixture
def tesseract(need_service):
    need_service(ocr_available(), "tesseract (Debian package tesseract-ocr)")


def test_a_rectangle_is_proposed_over_burned_in_text_and_nowhere_else(tesseract):
    ds, text = _burned_in_ct()

    proposed = propose_rectangles(ds)

    assert [r for r in proposed if _covers(r, text)], (proposed, text)
    assert [r for r in proposed if not _overlaps(r, text)] == []
    # Snug: padding, not half the image.
    assert sum(r.width * r.height for r in proposed) < 4 * text.width * text.height


def test_an_image_without_text_gets_no_proposal(tesseract):
    ds, _ = _burned_in_ct(text="")

    assert propose_rectangles(ds) == []


def test_text_on_a_small_colour_capture_is_found_at_the_image_scale(tesseract):
    ds = make_secondary_capture(rgb=True)
    canvas = Image.new("RGB", (256, 128), (0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    # Small yellow text, as ultrasound machines draw it: found on an enlarged copy.
    draw.text((140, 100), "SMITH 0042", fill=(230, 230, 0), font=ImageFont.load_default(size=11))
    text_box = draw.textbbox((140, 100), "SMITH 0042", font=ImageFont.load_default(size=11))
    ds.Rows, ds.Columns = 128, 256
    ds.PixelData = np.asarray(canvas).tobytes()

    proposed = propose_rectangles(ds)

    text = Rect(text_box[0], text_box[1], text_box[2] - text_box[0], text_box[3] - text_box[1])
    assert len(proposed) == 1 and _covers(proposed[0], text), (proposed, text)
    assert proposed[0].x + proposed[0].width <= 256 and proposed[0].y + proposed[0].height <= 128


def test_without_tesseract_there_are_no_proposals_and_the_log_says_why(monkeypatch, caplog):
    monkeypatch.setenv("PATH", "")
    ds, _ = _burned_in_ct()

    with caplog.at_level(logging.INFO, logger="anonymizer.ocr"):
        assert propose_rectangles(ds) == []

    assert not ocr_available()
    assert "tesseract is not installed" in caplog.text


# A stand-in tesseract -----------------------------------------------------------------------

HEADER = (
    "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
)


def _fake_tesseract(tmp_path, monkeypatch, script: str) -> None:
    program = tmp_path / "tesseract"
    program.write_text("#!/bin/sh\n/bin/cat > /dev/null\n" + script + "\n")
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(tmp_path))


def _tsv(*words: tuple) -> str:
    rows = [HEADER, "1\t1\t0\t0\t0\t0\t0\t0\t544\t544\t-1\t"]
    for line, left, top, width, height, conf, text in words:
        rows.append(f"5\t1\t1\t1\t{line}\t1\t{left}\t{top}\t{width}\t{height}\t{conf}\t{text}")
    return "\n".join(rows) + "\n"


def _small_image():
    # 400 columns: enlarged 4 times, inside a 16-pixel margin.
    return _ct(np.zeros((100, 400)))


def test_words_on_a_sure_line_are_joined_and_unsure_lines_dropped(tmp_path, monkeypatch):
    tsv = _tsv(
        # Line 1: an unsure word beside a sure one, a letter-width apart: one rectangle.
        (1, 16 + 40, 16 + 40, 120, 40, 30.0, "DOE*JANE"),
        (1, 16 + 180, 16 + 40, 160, 40, 96.0, "12345678"),
        # Line 2, far below, unsure only: texture read as letters.
        (2, 16 + 400, 16 + 300, 80, 40, 20.0, "il"),
        # Line 3: a lone sure letter stands; line 4: a lone unsure one does not.
        (3, 16 + 1200, 16 + 40, 20, 40, 90.0, "F"),
        (4, 16 + 1200, 16 + 300, 20, 40, 70.0, "|"),
    )
    _fake_tesseract(tmp_path, monkeypatch, f"printf '{tsv}'")

    proposed = propose_rectangles(_small_image())

    # 4x enlarged: words at (10, 10)-(85, 20) and (300, 10)-(305, 20), padded by 3 pixels.
    assert proposed == [Rect(7, 7, 81, 16), Rect(297, 7, 11, 16)]


def test_a_failing_or_stuck_tesseract_gives_no_proposals(tmp_path, monkeypatch, caplog):
    _fake_tesseract(tmp_path, monkeypatch, "exit 3")
    with caplog.at_level(logging.WARNING, logger="anonymizer.ocr"):
        assert propose_rectangles(_small_image()) == []
    assert "status 3" in caplog.text

    _fake_tesseract(tmp_path, monkeypatch, "exec /bin/sleep 5")
    with caplog.at_level(logging.WARNING, logger="anonymizer.ocr"):
        assert propose_rectangles(_small_image(), timeout=0.5) == []
    assert "longer than 0.5 seconds" in caplog.text


def test_unreadable_pixels_give_no_proposals(tmp_path, monkeypatch, caplog):
    _fake_tesseract(tmp_path, monkeypatch, "exit 0")
    ds = _small_image()
    ds.PixelData = b"\0" * 10  # far too short for 400 x 100

    with caplog.at_level(logging.WARNING, logger="anonymizer.ocr"):
        assert propose_rectangles(ds) == []
    assert "could not be read" in caplog.text


@pytest.mark.parametrize(
    ("photometric", "stored", "shown"), [("MONOCHROME2", 4095, 255), ("MONOCHROME1", 4095, 0)]
)
def test_frames_are_read_over_their_full_range(photometric, stored, shown):
    pixels = np.zeros((100, 400), dtype=np.uint16)
    pixels[0, 0] = stored
    ds = _ct(pixels)
    ds.PhotometricInterpretation = photometric
    grey = grey_frame(ds)
    assert grey.dtype == np.uint8 and grey[0, 0] == shown and grey[50, 50] == 255 - shown
