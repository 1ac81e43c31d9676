"""The file pipeline: read, de-identify, verify, write and report, file by file.

Files are streamed one at a time (memory stays flat for a 3,000-image series) and the JSON
report is written as it goes. A file the verifier finds anything in is not written.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from anonymizer.text import KnownIdentifiers, ScrubResult, forget_cases, scrub_text

from .dates import case_date_offset
from .dicom import (
    DUMMY_TEXT,
    collect_identifiers,
    deidentified_file_bytes,
    deidentify_dataset,
    forget_identifiers,
)
from .profile import Options, load_profile
from .uids import UIDMapper
from .verify import CaseIdentifiers, Finding, verify_file, verify_text

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
REPORT_FORMAT = "peerlearning-anonymizer-report/1"


@dataclass
class FileResult:
    index: int
    source_id: str
    status: str  # written | skipped | rejected | failed
    reason: str = ""
    output: str = ""
    actions: dict[str, str] = field(default_factory=dict)
    needs_pixel_review: bool = False
    pixel_review_reasons: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def as_dict(self) -> dict:
        entry: dict = {"index": self.index, "source_id": self.source_id, "status": self.status}
        if self.reason:
            entry["reason"] = self.reason
        if self.status in ("written", "rejected"):
            entry.update(
                output=self.output,
                actions=self.actions,
                needs_pixel_review=self.needs_pixel_review,
                pixel_review_reasons=self.pixel_review_reasons,
                verifier={
                    "passed": not self.findings,
                    "findings": [f.as_dict() for f in self.findings],
                },
            )
        return entry


@dataclass
class DirectorySummary:
    files: int = 0
    written: int = 0
    skipped: int = 0
    rejected: int = 0
    failed: int = 0
    needs_pixel_review: int = 0
    findings: int = 0
    report_path: str = ""

    @property
    def ok(self) -> bool:
        return self.findings == 0 and self.rejected == 0 and self.failed == 0

    def as_dict(self) -> dict:
        return {
            "files": self.files,
            "written": self.written,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "failed": self.failed,
            "needs_pixel_review": self.needs_pixel_review,
            "verifier_findings": self.findings,
            "ok": self.ok,
        }


def source_id(relative_path: str) -> str:
    """A stable reference to an input file that does not repeat its (possibly PHI) name."""
    return hashlib.sha256(relative_path.encode("utf-8")).hexdigest()[:16]


def iter_files(src: Path) -> list[Path]:
    return sorted(p for p in src.rglob("*") if p.is_file())


def read_dicom(path: Path, *, stop_before_pixels: bool = False) -> Dataset | None:
    """The dataset in a file, or None when the file is not DICOM."""
    try:
        return dcmread(path, stop_before_pixels=stop_before_pixels)
    except InvalidDicomError:
        pass
    except (OSError, ValueError, EOFError, KeyError, TypeError, AttributeError):
        return None
    # Files without the 128-byte preamble are still DICOM if they parse as a dataset.
    try:
        ds = dcmread(path, stop_before_pixels=stop_before_pixels, force=True)
    except Exception:  # anything unreadable is simply not DICOM here
        return None
    return ds if "SOPClassUID" in ds and "SOPInstanceUID" in ds else None


def case_identifiers(
    datasets: Iterator[Dataset], *, roster: tuple[str, ...] = ()
) -> tuple[KnownIdentifiers, CaseIdentifiers]:
    """Identifiers of a case for the de-identifier and, gathered separately, the verifier."""
    known = KnownIdentifiers.build(person_names=roster)
    checked = CaseIdentifiers()
    for ds in datasets:
        known = known.merge(collect_identifiers([ds]))
        checked.add_dataset(ds)
    checked.add_roster(roster)
    return known, checked


def deidentify_to_bytes(
    ds: Dataset,
    *,
    case_key: str,
    secret: str | bytes,
    options: Options,
    known: KnownIdentifiers,
    checked: CaseIdentifiers,
) -> tuple[bytes, dict, list[str], list[Finding]]:
    """De-identify, serialize and verify the serialized bytes; nothing touches the disk."""
    ds, report = deidentify_dataset(
        ds, case_key=case_key, secret=secret, options=options, known=known
    )
    data = deidentified_file_bytes(ds)
    findings = verify_file(
        data,
        checked,
        allowed_person_names={DUMMY_TEXT, options.patient_label} - {""},
        allowed_private=options.safe_private,
    )
    return data, report.to_dict()["actions"], report.pixel_review_reasons, findings


def anonymize_directory(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    case_key: str,
    secret: str | bytes,
    report_path: str | os.PathLike[str] | None = None,
    options: Options | None = None,
    progress: Callable[[FileResult, DirectorySummary], None] | None = None,
) -> DirectorySummary:
    """De-identify every DICOM file under ``src`` into ``dst``; report per file.

    ``progress``, if given, is called after each file with its result and the counts so far.
    """
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise NotADirectoryError(f"{src} is not a directory")
    options = options or Options()
    files = iter_files(src)
    headers = (read_dicom(p, stop_before_pixels=True) for p in files)
    known, checked = case_identifiers(
        (ds for ds in headers if ds is not None), roster=options.roster
    )
    summary = DirectorySummary(files=len(files))
    seen_instances: set[str] = set()
    with _ReportWriter(report_path, options) as report:
        for index, path in enumerate(files):
            relative = path.relative_to(src).as_posix()
            result = _anonymize_one(
                path,
                dst,
                FileResult(index=index, source_id=source_id(relative), status="failed"),
                case_key=case_key,
                secret=secret,
                options=options,
                known=known,
                checked=checked,
                seen_instances=seen_instances,
            )
            _count(summary, result)
            report.write(result)
            if progress is not None:
                progress(result, summary)
        report.finish(summary)
    forget_case_data()
    summary.report_path = str(report_path or "")
    return summary


def forget_case_data() -> None:
    """Clear the per-case caches (scrubbed texts, UID maps) once a case is done.

    They only speed up the files of one case; keeping them would keep identifying text
    and original UIDs in the worker's memory for no purpose.
    """
    forget_cases()
    forget_identifiers()
    UIDMapper.for_case.cache_clear()


def _anonymize_one(
    path: Path,
    dst: Path,
    result: FileResult,
    *,
    case_key: str,
    secret: str | bytes,
    options: Options,
    known: KnownIdentifiers,
    checked: CaseIdentifiers,
    seen_instances: set[str],
) -> FileResult:
    ds = read_dicom(path)
    if ds is None:
        result.status, result.reason = "skipped", "not a DICOM file"
        return result
    sop_class = str(ds.get("SOPClassUID", "") or ds.file_meta.get("MediaStorageSOPClassUID", ""))
    if sop_class == MEDIA_STORAGE_DIRECTORY:
        result.status, result.reason = "skipped", "DICOMDIR (a directory of the files, not copied)"
        return result
    if "SOPInstanceUID" not in ds or "SOPClassUID" not in ds:
        result.status, result.reason = "skipped", "no SOP Class or SOP Instance UID"
        return result
    try:
        data, actions, reasons, findings = deidentify_to_bytes(
            ds, case_key=case_key, secret=secret, options=options, known=known, checked=checked
        )
    except Exception as exc:  # one bad file must not stop the case
        # The exception type only: messages can quote values.
        result.reason = f"could not de-identify ({type(exc).__name__})"
        return result
    output = Path(str(ds.SeriesInstanceUID or "no-series")) / f"{ds.SOPInstanceUID}.dcm"
    result.output = output.as_posix()
    result.actions = actions
    result.pixel_review_reasons = reasons
    result.needs_pixel_review = bool(reasons)
    result.findings = findings
    if findings:
        result.status, result.reason = "rejected", "the verifier found identifiers; not written"
        return result
    if result.output in seen_instances:
        result.status, result.reason = "skipped", "duplicate SOP Instance UID"
        return result
    seen_instances.add(result.output)
    target = dst / output
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    result.status = "written"
    return result


def _count(summary: DirectorySummary, result: FileResult) -> None:
    if result.status == "written":
        summary.written += 1
    elif result.status == "skipped":
        summary.skipped += 1
    elif result.status == "rejected":
        summary.rejected += 1
    else:
        summary.failed += 1
    summary.needs_pixel_review += int(result.needs_pixel_review and result.status == "written")
    summary.findings += len(result.findings)


class _ReportWriter:
    """Streams the JSON report so that it never has to be held in memory."""

    def __init__(self, path: str | os.PathLike[str] | None, options: Options) -> None:
        self.path = Path(path) if path else None
        self.options = options
        self.handle: IO[str] | None = None
        self.count = 0

    def __enter__(self) -> _ReportWriter:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = self.path.open("w", encoding="utf-8")
            profile = load_profile()
            head = {
                "format": REPORT_FORMAT,
                "profile": {"source": dict(profile.source), "rows": profile.row_count},
                "options": {
                    "method_codes": [code for code, _ in self.options.method_codes()],
                    "retain_patient_characteristics": sorted(
                        self.options.retain_patient_characteristics
                    ),
                    "retain_safe_private": self.options.retain_safe_private,
                },
            }
            self.handle.write(json.dumps(head)[:-1] + ', "files": [\n')
        return self

    def write(self, result: FileResult) -> None:
        if self.handle is not None:
            self.handle.write((",\n" if self.count else "") + json.dumps(result.as_dict()))
            self.count += 1

    def finish(self, summary: DirectorySummary) -> None:
        if self.handle is not None:
            self.handle.write('\n], "summary": ' + json.dumps(summary.as_dict()) + "}\n")

    def __exit__(self, *exc_info: object) -> None:
        if self.handle is not None:
            self.handle.close()


def scrub_case_text(
    text: str,
    *,
    case_key: str,
    datasets: tuple[Dataset, ...] = (),
    secret: str | bytes,
    roster: tuple[str, ...] = (),
) -> tuple[ScrubResult, list[Finding]]:
    """Scrub free text written about a case and verify the result independently.

    ``datasets`` are the case's original headers (their names, IDs and dates are removed
    from the text); dates are shifted with the case's offset, like the images' dates.
    """
    known, checked = case_identifiers(iter(datasets), roster=roster)
    result = scrub_text(
        text, known=known, date_offset_days=case_date_offset(secret=secret, case_key=case_key)
    )
    findings = verify_text(result.text, checked)
    forget_case_data()
    return result, findings
