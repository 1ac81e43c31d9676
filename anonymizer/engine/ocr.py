"""Proposals for the pixel review: where text is drawn into an image, found by OCR.

The ``tesseract`` program (Debian's ``tesseract-ocr``) reads one frame; the words it is
confident about become padded rectangles, merged where they sit close together. They are
only proposals: a person checks them before anything is blacked out. Without tesseract the
answer is an empty list and the reason is logged.

The words read are never kept or logged (they are the identifiers); only their boxes are.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut, apply_modality_lut

from .pixels import Rect, _frame, _to_uint8

log = logging.getLogger(__name__)

TESSERACT = "tesseract"
# Words tesseract rates below this (0-100) are mostly texture read as letters.
MIN_CONFIDENCE = 50.0
# Burned-in text is small (8-12 pixels high on a 512 matrix); tesseract reads best when
# capitals are 20-30 pixels high, so small images are enlarged up to this long side.
TARGET_LONG_SIDE = 1600
MAX_SCALE = 4
# Black margin around the frame: tesseract misses words that touch the edge.
MARGIN = 16
TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class _Box:
    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def grown(self, dx: float, dy: float) -> _Box:
        return _Box(self.left - dx, self.top - dy, self.right + dx, self.bottom + dy)

    def touches(self, other: _Box) -> bool:
        return (
            self.left <= other.right
            and other.left <= self.right
            and self.top <= other.bottom
            and other.top <= self.bottom
        )

    def union(self, other: _Box) -> _Box:
        return _Box(
            min(self.left, other.left),
            min(self.top, other.top),
            max(self.right, other.right),
            max(self.bottom, other.bottom),
        )


def ocr_available() -> bool:
    return shutil.which(TESSERACT) is not None


def grey_frame(ds: Dataset, frame: int = 0) -> np.ndarray:
    """One frame as 8-bit grey over its full value range (text is drawn at the extremes)."""
    pixels = _frame(ds, frame)
    photometric = ds.PhotometricInterpretation
    if photometric == "PALETTE COLOR":
        pixels = apply_color_lut(pixels, ds)
    if pixels.ndim == 3:
        # Colour (ultrasound text is often yellow or green): its luminance.
        rgb = _to_uint8(pixels, 0, float(pixels.max()) or 1.0)
        return np.asarray(Image.fromarray(rgb, "RGB").convert("L"))
    values = apply_modality_lut(pixels, ds)
    grey = _to_uint8(values, float(values.min()), float(values.max()))
    return 255 - grey if photometric == "MONOCHROME1" else grey


def _scale_for(grey: np.ndarray) -> int:
    return max(1, min(MAX_SCALE, TARGET_LONG_SIDE // max(grey.shape)))


def _tesseract_input(grey: np.ndarray, scale: int) -> bytes:
    image = Image.fromarray(grey, "L")
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.Resampling.LANCZOS)
    framed = Image.new("L", (image.width + 2 * MARGIN, image.height + 2 * MARGIN), 0)
    framed.paste(image, (MARGIN, MARGIN))
    out = io.BytesIO()
    framed.save(out, format="PNG")
    return out.getvalue()


def _run_tesseract(program: str, png: bytes, timeout: float) -> str | None:
    # Sparse text (--psm 11): annotations are scattered words, not a page of paragraphs.
    # One thread: tesseract's OpenMP threads only slow it down on small images.
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    command = [program, "stdin", "stdout", "--psm", "11", "-l", "eng", "tsv"]
    try:
        done = subprocess.run(  # noqa: S603 - a fixed command on a program found on PATH
            command, input=png, capture_output=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        log.warning("OCR gave up: tesseract took longer than %s seconds", timeout)
        return None
    except OSError as exc:
        log.warning("OCR could not start tesseract (%s)", type(exc).__name__)
        return None
    if done.returncode != 0:
        # Not the output: it may quote what was read.
        log.warning("OCR failed: tesseract exited with status %s", done.returncode)
        return None
    return done.stdout.decode("utf-8", errors="replace")


def _is_word(text: str, confidence: float) -> bool:
    letters = sum(ch.isalnum() for ch in text)
    # A lone character is as often a speck of noise as a letter: only when tesseract is sure.
    return (letters >= 2 and confidence >= MIN_CONFIDENCE) or (letters == 1 and confidence >= 85)


def _word_boxes(tsv: str, scale: int) -> list[_Box]:
    """Boxes of the words on lines where tesseract is sure of at least one word.

    A sure word vouches for the rest of its line: "DOE^JANE" reads as a low-confidence
    "DOE*JANE" beside a confident "12345678", and both are text to hide.
    """
    lines: dict[tuple[str, ...], list[_Box]] = {}
    sure: set[tuple[str, ...]] = set()
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        try:
            if row["level"] != "5" or not text:
                continue
            line = (row["page_num"], row["block_num"], row["par_num"], row["line_num"])
            confidence = float(row["conf"])
            left, top = int(row["left"]) - MARGIN, int(row["top"]) - MARGIN
            width, height = int(row["width"]), int(row["height"])
        except (KeyError, TypeError, ValueError):
            continue
        box = _Box(left / scale, top / scale, (left + width) / scale, (top + height) / scale)
        lines.setdefault(line, []).append(box)
        if _is_word(text, confidence):
            sure.add(line)
    return [box for line in lines if line in sure for box in lines[line]]


def merge_boxes(boxes: list[_Box]) -> list[_Box]:
    """Pad each word box and join the ones on one line, or on lines close above each other."""
    padded = [b.grown(max(2.0, 0.3 * b.height), max(2.0, 0.3 * b.height)) for b in boxes]
    merged = True
    while merged:
        merged = False
        out: list[_Box] = []
        for box in padded:
            for n, other in enumerate(out):
                # Words up to about two letters apart belong together (fonts drawn by
                # scanners have wide spaces); lines whose padding touches, too.
                reach = max(box.height, other.height)
                if box.grown(reach, 0).touches(other):
                    out[n] = other.union(box)
                    merged = True
                    break
            else:
                out.append(box)
        padded = out
    return padded


def _to_rects(boxes: list[_Box], columns: int, rows: int) -> list[Rect]:
    rects = []
    for box in boxes:
        left, top = max(0, int(box.left)), max(0, int(box.top))
        right, bottom = min(columns, int(np.ceil(box.right))), min(rows, int(np.ceil(box.bottom)))
        if right > left and bottom > top:
            rects.append(Rect(left, top, right - left, bottom - top))
    return sorted(rects, key=lambda r: (r.y, r.x))


def propose_rectangles(
    ds: Dataset, frame: int = 0, *, timeout: float = TIMEOUT_SECONDS
) -> list[Rect]:
    """Rectangles (image pixels) around text that OCR finds in one frame; [] without OCR."""
    program = shutil.which(TESSERACT)
    if program is None:
        log.info("No OCR proposals: tesseract is not installed (Debian: tesseract-ocr)")
        return []
    try:
        grey = grey_frame(ds, frame)
    except Exception as exc:  # undecodable pixels: the person reviews without proposals
        log.warning("No OCR proposals: the pixels could not be read (%s)", type(exc).__name__)
        return []
    scale = _scale_for(grey)
    tsv = _run_tesseract(program, _tesseract_input(grey, scale), timeout)
    if tsv is None:
        return []
    boxes = merge_boxes(_word_boxes(tsv, scale))
    rows, columns = grey.shape
    return _to_rects(boxes, columns, rows)
