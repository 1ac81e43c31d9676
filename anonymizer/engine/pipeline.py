"""The file pipeline: read, de-identify, verify, write and report, file by file.

Files are streamed one at a time (memory stays flat for a 3,000-image series) and the JSON
report is written as it goes. A file the verifier finds anything in is not written.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from anonymizer.engine.text import KnownIdentifiers, ScrubResult, forget_cases, scrub_text

from .dates import case_date_offset
from .dicom import (
    DUMMY_TEXT,
    collect_identifiers,
    deidentified_file_bytes,
    deidentified_file_write,
    deidentify_dataset,
    forget_identifiers,
)
from .profile import Options, load_profile
from .uids import UIDMapper, case_key_bytes
from .verify import CaseIdentifiers, Finding, verify_file, verify_text

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
REPORT_FORMAT = "peerlearning-anonymizer-report/1"
UNDEFINED_LENGTH = 0xFFFFFFFF
# Files are written here first, verified, then moved into place whole.
PARTIAL_FOLDER = ".partial"


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


def source_id(relative_path: str, *, secret: str | bytes, case_key: str) -> str:
    """A stable reference to an input file that does not repeat its (possibly PHI) name.

    Keyed with the case key: folder names are often MRNs or names, which an unkeyed hash
    would give back to anyone who tries the likely ones.
    """
    key = case_key_bytes(secret=secret, case_key=case_key)
    message = b"source\x00" + relative_path.encode("utf-8", "surrogateescape")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:16]


def iter_files(src: Path) -> list[Path]:
    """Every file under ``src``, links included (``_outside`` tells those that leave it).

    Linked folders are not entered.
    """
    files = []
    for folder, _, names in os.walk(src):
        files.extend(Path(folder) / name for name in names)
    return sorted(files)


def _outside(path: Path, root: Path) -> bool:
    """Whether a file is a link to somewhere outside the input folder (never followed)."""
    if not path.is_symlink():
        return False
    try:
        path.resolve(strict=True).relative_to(root)
    except (OSError, ValueError, RuntimeError):
        return True
    return False


class TooDeeplyNested(Exception):
    """Sequences nest deeper than can be walked."""


def read_dicom(
    source: str | os.PathLike[str] | bytes | IO[bytes], *, stop_before_pixels: bool = False
) -> Dataset | None:
    """The dataset in a file (a path, bytes or an open binary file), or None when it is
    not DICOM. Raises ``TooDeeplyNested`` for sequences nested too deep to read."""
    try:
        return _read(source, stop_before_pixels=stop_before_pixels, force=False)
    except InvalidDicomError:
        pass
    except RecursionError:
        raise TooDeeplyNested from None
    except Exception:  # anything unreadable is simply not DICOM here
        return None
    # Files without the 128-byte preamble are still DICOM if they parse as a dataset.
    try:
        ds = _read(source, stop_before_pixels=stop_before_pixels, force=True)
    except RecursionError:
        raise TooDeeplyNested from None
    except Exception:  # anything unreadable is simply not DICOM here
        return None
    return ds if "SOPClassUID" in ds and "SOPInstanceUID" in ds else None


def _read(
    source: str | os.PathLike[str] | bytes | IO[bytes], *, stop_before_pixels: bool, force: bool
) -> Dataset:
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    elif hasattr(source, "seek"):
        source.seek(0)
    return dcmread(source, stop_before_pixels=stop_before_pixels, force=force)


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

    A file is written only once the verifier has read it back and found nothing, and it
    appears in ``dst`` whole or not at all; every file that cannot be de-identified is
    reported and skipped, and the report is valid JSON however the run ends.
    ``progress``, if given, is called after each file with its result and the counts so far.
    """
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise NotADirectoryError(f"{src} is not a directory")
    options = options or Options()
    root = src.resolve()
    files = iter_files(src)
    outside = {path for path in files if _outside(path, root)}
    known, checked, unreadable = _case_identifiers_of(
        (p for p in files if p not in outside), roster=options.roster
    )
    summary = DirectorySummary(files=len(files))
    seen_instances: set[str] = set()
    created = not dst.exists()
    with _ReportWriter(report_path, options, summary) as report, _cleaned(dst, created):
        for index, path in enumerate(files):
            relative = path.relative_to(src).as_posix()
            result = FileResult(
                index=index,
                source_id=source_id(relative, secret=secret, case_key=case_key),
                status="failed",
            )
            if path in outside:
                result.status = "skipped"
                result.reason = "a link to a file outside the input folder (not followed)"
            elif path in unreadable:
                result.reason = unreadable[path]
            else:
                _anonymize_one(
                    path,
                    dst,
                    result,
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
    forget_case_data()
    summary.report_path = str(report_path or "")
    return summary


@contextlib.contextmanager
def _cleaned(dst: Path, created: bool) -> Iterator[None]:
    """Whatever happens, ``dst`` is left holding verified files only (or, if it was made
    here and nothing was written, not at all)."""
    try:
        yield
    finally:
        shutil.rmtree(dst / PARTIAL_FOLDER, ignore_errors=True)
        if created and dst.is_dir() and not any(dst.iterdir()):
            dst.rmdir()


def _case_identifiers_of(
    paths: Iterable[Path], *, roster: tuple[str, ...]
) -> tuple[KnownIdentifiers, CaseIdentifiers, dict[Path, str]]:
    """The case's identifiers from every header, and the files whose header cannot be read
    through (with the reason), which are then refused."""
    known = KnownIdentifiers.build(person_names=roster)
    checked = CaseIdentifiers()
    unreadable: dict[Path, str] = {}
    for path in paths:
        try:
            ds = read_dicom(path, stop_before_pixels=True)
            if ds is None:
                continue
            known = known.merge(collect_identifiers([ds]))
            checked.add_dataset(ds)
        except (RecursionError, TooDeeplyNested):
            unreadable[path] = TOO_DEEP
        except Exception as exc:
            unreadable[path] = f"could not read the header ({type(exc).__name__})"
    checked.add_roster(roster)
    return known, checked, unreadable


TOO_DEEP = "sequences nested too deeply to de-identify; not written"
# Documents inside a file: the engine cannot read a PDF, a CDA report or a 3D model
# for identifiers, so such a file is refused rather than written without its document.
ENCAPSULATED_DOCUMENTS = {
    "1.2.840.10008.5.1.4.1.1.104.1": "an encapsulated PDF",
    "1.2.840.10008.5.1.4.1.1.104.2": "an encapsulated CDA document",
    "1.2.840.10008.5.1.4.1.1.104.3": "an encapsulated STL model",
    "1.2.840.10008.5.1.4.1.1.104.4": "an encapsulated OBJ model",
    "1.2.840.10008.5.1.4.1.1.104.5": "an encapsulated MTL file",
}


def forget_case_data() -> None:
    """Clear the per-case caches (scrubbed texts, UID maps) once a case is done.

    They only speed up the files of one case; keeping them would keep identifying text
    and original UIDs in the worker's memory for no purpose.
    """
    forget_cases()
    forget_identifiers()
    UIDMapper.for_case.cache_clear()


def refusal(ds: Dataset) -> str:
    """Why a DICOM file cannot be de-identified safely and whole ("" when it can)."""
    as_read = ds._dict.copy()
    try:
        return _refusal(ds)
    finally:
        # Reading converts values; put them back as read, which is cheaper to write.
        ds._dict.update(as_read)


def _refusal(ds: Dataset) -> str:
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class in ENCAPSULATED_DOCUMENTS or 0x00420011 in ds:
        what = ENCAPSULATED_DOCUMENTS.get(sop_class, "an encapsulated document")
        return f"{what}: the document inside cannot be checked for identifiers; not written"
    if not str(ds.get("SeriesInstanceUID", "") or ""):
        return "no Series Instance UID; not written"
    for elem in ds._dict.values():
        if (
            type(elem) is RawDataElement
            and isinstance(elem.value, bytes)
            and elem.length != UNDEFINED_LENGTH
            and len(elem.value) < elem.length
        ):
            return "the file is truncated (a value is shorter than its length); not written"
    return _pixel_data_refusal(ds)


def _pixel_data_refusal(ds: Dataset) -> str:
    pixels = ds._dict.get(0x7FE00010)
    if pixels is None:
        return ""
    meta = getattr(ds, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    if pixels.length == UNDEFINED_LENGTH or (syntax is not None and syntax.is_compressed):
        return ""
    try:
        rows, columns = int(ds.get("Rows", 0)), int(ds.get("Columns", 0))
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        bits = int(ds.get("BitsAllocated", 0))
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except (TypeError, ValueError):
        return ""  # nothing to compare with; the value's own length was checked
    expected = (rows * columns * samples * frames * bits + 7) // 8
    if str(ds.get("PhotometricInterpretation", "")).strip() == "YBR_FULL_422":
        expected = expected * 2 // 3  # two chroma samples shared by two pixels
    value = pixels.value if isinstance(pixels.value, bytes) else b""
    if bits and len(value) < expected:
        return "the pixel data is shorter than the image needs (truncated); not written"
    return ""


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
    try:
        ds = read_dicom(path)
    except TooDeeplyNested:
        result.reason = TOO_DEEP
        return result
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
        why = refusal(ds)
        if why:
            result.reason = why
            return result
        ds, report = deidentify_dataset(
            ds, case_key=case_key, secret=secret, options=options, known=known
        )
        output = Path(str(ds.SeriesInstanceUID)) / f"{ds.SOPInstanceUID}.dcm"
        result.output = output.as_posix()
        result.actions = report.to_dict()["actions"]
        result.pixel_review_reasons = report.pixel_review_reasons
        result.needs_pixel_review = bool(report.pixel_review_reasons)
        if result.output in seen_instances:
            result.status, result.reason = "skipped", "duplicate SOP Instance UID"
            return result
        target = dst / output
        partial = dst / PARTIAL_FOLDER / f"{result.index}.dcm"
        partial.parent.mkdir(parents=True, exist_ok=True)
        try:
            with partial.open("wb") as handle:
                deidentified_file_write(ds, handle)
            del ds  # the written file is verified from the disk, without its pixel data
            result.findings = verify_file(
                partial,
                checked,
                allowed_person_names={DUMMY_TEXT, options.patient_label} - {""},
                allowed_private=options.safe_private,
            )
            if result.findings:
                result.status = "rejected"
                result.reason = "the verifier found identifiers; not written"
                return result
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    except RecursionError:
        result.reason = TOO_DEEP
        return result
    except Exception as exc:  # one bad file must not stop the case
        # The exception type only: messages can quote values.
        result.reason = f"could not de-identify ({type(exc).__name__})"
        return result
    seen_instances.add(result.output)
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
    """Streams the JSON report so that it never has to be held in memory.

    The report is closed with the summary so far however the run ends, so that it is
    always valid JSON; a run that stopped early says so (``"complete": false``).
    """

    def __init__(
        self, path: str | os.PathLike[str] | None, options: Options, summary: DirectorySummary
    ) -> None:
        self.path = Path(path) if path else None
        self.options = options
        self.summary = summary
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

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        if self.handle is not None:
            summary = {**self.summary.as_dict(), "complete": exc_type is None}
            self.handle.write('\n], "summary": ' + json.dumps(summary) + "}\n")
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
