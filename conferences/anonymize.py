"""The conference app's one door to the anonymizer library.

Every call into `anonymizer` goes through this module, so the rest of the app speaks of
cases and parts, not datasets and findings. What the library does not offer yet is written
here as a thin adapter (and listed in docs/conferences.md for the library to take over):

- keeping a case's identifiers after the original files are gone (`identity_header`:
  reduced DICOM JSON of the identifying attributes, turned back into datasets);
- extra identifiers that come from outside the images (the submission's accession number,
  as a one-attribute dataset);
- verifying a de-identified file read back from storage, with the same allowances as
  `deidentify_to_bytes` uses.

Never log a value that passes through here: findings carry kinds and places only.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

from pydicom import dcmread
from pydicom.dataset import Dataset

from anonymizer.engine.dicom import DUMMY_TEXT, IDENTIFYING_KEYWORDS
from anonymizer.engine.ocr import ocr_available, propose_rectangles
from anonymizer.engine.pipeline import (
    TooDeeplyNested,
    case_identifiers,
    deidentify_to_bytes,
    forget_case_data,
    read_dicom,
    scrub_case_text,
)
from anonymizer.engine.pixels import (
    WINDOW_PRESETS,
    Rect,
    black_out,
    pixel_review_reasons,
    render_png,
)
from anonymizer.engine.profile import Options
from anonymizer.engine.text import KnownIdentifiers, scrub_text
from anonymizer.engine.verify import (
    CaseIdentifiers,
    Finding,
    kind_label,
    verify_file,
    verify_text,
)
from anonymizer.services import anonymizer_secret

__all__ = [
    "PRESETS",
    "CaseKeys",
    "Deidentified",
    "Rect",
    "apply_blackout",
    "deidentify",
    "identity_header",
    "kind_label",
    "presets_for",
    "read_dataset",
    "render",
    "scrub_edit",
    "scrub_import",
    "text_proposals",
    "verify_stored",
    "verify_texts",
]

# Window presets offered per modality: (value, label). "auto" is the image's own window.
PRESETS = {
    "ct_brain": "Brain (40/80)",
    "ct_subdural": "Subdural (75/215)",
    "ct_bone": "Bone (600/2800)",
    "ct_lung": "Lung (−600/1500)",
    "ct_soft_tissue": "Soft tissue (50/400)",
    "auto": "As stored",
    "mr_auto": "Automatic (1st–99th percentile)",
}
assert set(WINDOW_PRESETS) <= set(PRESETS)


def presets_for(modality: str) -> list[tuple[str, str]]:
    if modality == "CT":
        keys = ["ct_brain", "ct_subdural", "ct_bone", "ct_lung", "ct_soft_tissue", "auto"]
    elif modality == "MR":
        keys = ["mr_auto", "auto"]
    else:
        keys = ["auto", "mr_auto"]
    return [(key, PRESETS[key]) for key in keys]


# Identifiers of a case ---------------------------------------------------------------------


def _reduced(ds: Dataset) -> Dataset | None:
    """A copy with only the attributes that identify someone (and sequences holding them)."""
    kept = Dataset()
    for elem in ds:
        if elem.VR == "SQ":
            items = [r for r in (_reduced(item) for item in elem.value or []) if r is not None]
            if items:
                kept.add_new(elem.tag, "SQ", items)
        elif (
            elem.VR == "PN"
            or elem.keyword in IDENTIFYING_KEYWORDS
            or (elem.VR == "UI" and not elem.keyword.endswith("ClassUID"))
        ):
            kept.add(elem)
    return kept if len(kept) else None


def identity_header(ds: Dataset) -> dict:
    """The identifying attributes of an original header as DICOM JSON (PHI: never shown)."""
    reduced = _reduced(ds) or Dataset()
    return reduced.to_json_dict(bulk_data_threshold=1 << 20)


def _datasets(headers: Iterable[dict], accession_numbers: Iterable[str]) -> list[Dataset]:
    found = [Dataset.from_json(header) for header in headers]
    for number in accession_numbers:
        if number:
            extra = Dataset()
            extra.AccessionNumber = number
            found.append(extra)
    return found


@dataclass
class CaseKeys:
    """Everything the anonymizer needs to know about one case."""

    case_key: str
    datasets: list[Dataset]
    roster: tuple[str, ...]
    known: KnownIdentifiers
    checked: CaseIdentifiers

    @classmethod
    def build(
        cls,
        *,
        case_key: str,
        headers: Iterable[dict] = (),
        accession_numbers: Iterable[str] = (),
        roster: Iterable[str] = (),
        originals: Iterable[Dataset] = (),
    ) -> CaseKeys:
        datasets = [*_datasets(headers, accession_numbers), *originals]
        roster = tuple(sorted({name for name in roster if name}))
        known, checked = case_identifiers(iter(datasets), roster=roster)
        return cls(case_key, datasets, roster, known, checked)


# Text ----------------------------------------------------------------------------------


def scrub_import(text: str, keys: CaseKeys) -> tuple[str, int]:
    """Scrub text brought in from a submission: identifiers marked, dates shifted."""
    if not text:
        return text, 0
    result, _ = scrub_case_text(
        text,
        case_key=keys.case_key,
        secret=anonymizer_secret(),
        datasets=tuple(keys.datasets),
        roster=keys.roster,
    )
    return result.text, len(result.replacements)


def scrub_edit(text: str, keys: CaseKeys) -> tuple[str, int]:
    """Replace identifiers in text a champion typed: the case's, the roster's, patterns.

    The champion's edits of already scrubbed text must not shift its dates a second time,
    so dates are left as written; the gate's detector flags them for the champion to
    release or replace (`conferences.cases.services.case_gate`).
    """
    if not text:
        return text, 0
    result = scrub_text(text, known=keys.known, roster=keys.roster, dates=False)
    forget_case_data()
    return result.text, len(result.replacements)


def verify_texts(parts: Iterable[tuple[str, str, str]], keys: CaseKeys) -> list[dict]:
    """Findings in each (part, label, text): kind and character position, never the value."""
    found = []
    for part, label, text in parts:
        seen = set()
        for finding in verify_text(text or "", keys.checked):
            if finding.kind in seen:
                continue
            seen.add(finding.kind)
            found.append(
                {
                    "part": part,
                    "label": label,
                    "kind": finding.kind,
                    "where": _text_position(finding),
                }
            )
    return found


def _text_position(finding: Finding) -> str:
    # "text[12:20]" -> "character 13"
    try:
        start = int(finding.where.split("[", 1)[1].split(":", 1)[0])
    except (IndexError, ValueError):
        return ""
    return f"character {start + 1}"


# DICOM ---------------------------------------------------------------------------------


def read_dataset(data: bytes, *, headers_only: bool = False) -> Dataset | None:
    """A DICOM dataset from bytes, or None when the bytes are not a DICOM object."""
    try:
        ds = read_dicom(data, stop_before_pixels=headers_only)
    except TooDeeplyNested:
        return None
    if ds is None or "SOPClassUID" not in ds or "SOPInstanceUID" not in ds:
        return None
    return ds


@dataclass
class Deidentified:
    data: bytes
    pixel_review_reasons: list[str]
    findings: list[dict]


def _options(keys: CaseKeys) -> Options:
    return Options(roster=keys.roster)


def deidentify(ds: Dataset, keys: CaseKeys) -> Deidentified:
    """De-identify one original dataset with the case's key; verify the bytes."""
    data, _actions, reasons, findings = deidentify_to_bytes(
        ds,
        case_key=keys.case_key,
        secret=anonymizer_secret(),
        options=_options(keys),
        known=keys.known,
        checked=keys.checked,
    )
    return Deidentified(data, list(reasons), [f.as_dict() for f in findings])


def verify_stored(data: bytes, keys: CaseKeys) -> list[dict]:
    """Verify a de-identified file read back from storage (after a blackout, or again)."""
    options = _options(keys)
    findings = verify_file(
        data,
        keys.checked,
        allowed_person_names={DUMMY_TEXT, options.patient_label} - {""},
        allowed_private=options.safe_private,
    )
    return [f.as_dict() for f in findings]


def review_reasons(ds: Dataset) -> list[str]:
    return list(pixel_review_reasons(ds))


def apply_blackout(data: bytes, rectangles: list[Rect]) -> bytes:
    """Black out rectangles in every frame; the pixels count as reviewed afterwards."""
    ds = dcmread(io.BytesIO(data))
    black_out(ds, rectangles)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def text_proposals(ds: Dataset) -> list[Rect] | None:
    """Rectangles around text OCR finds in the first frame; None when no OCR is installed."""
    if not ocr_available():
        return None
    return propose_rectangles(ds)


def render(ds: Dataset, *, frame: int = 0, preset: str = "auto") -> bytes:
    """One frame as PNG; an image without its own window falls back to automatic."""
    if preset == "auto" and not ("WindowCenter" in ds and "WindowWidth" in ds):
        preset = "mr_auto"
    return render_png(ds, frame=frame, preset=preset)
