"""Checking uploaded DICOM (files or zips) before anything is kept, and reading it back.

Used by every page that takes DICOM: the teaching-case images (conferences) and the
anonymizer's own upload page (anonymizer/jobs.py). The web request only inspects: sizes,
the zip's directory, the first bytes of each file. A refusal names every problem in words
for the champion and keeps nothing. The Celery task then reads the staged files with
`iter_payloads`, which enforces the same limits on the bytes actually decompressed (a zip
may lie about its sizes).

Protections: a total size limit; per zip, a limit on the uncompressed total, on the number
of files, and on the compression ratio of each entry (zip bombs); entries whose path is
absolute, climbs out with "..", is a symbolic link or is encrypted are refused; a zip
inside a zip is refused. Entry names are only ever shown back to the person who uploaded
them, never stored or logged (folder names from PACS exports are often patient names), and
nothing is written to the file system under a name taken from the upload.
"""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from django.conf import settings
from pydicom import dcmread

MB = 1024 * 1024
# Files a PACS export or an operating system adds, skipped without complaint.
IGNORED_NAMES = frozenset({"dicomdir", ".ds_store", "thumbs.db", "desktop.ini"})
SMALL_ENTRY = 1 * MB  # the ratio rule only looks at entries bigger than this
FULL_READ_LIMIT = 64 * MB  # a file without the "DICM" marker is parsed if at most this big
CHUNK = 1 * MB
MAX_LISTED = 10


@dataclass(frozen=True)
class Limits:
    total_bytes: int
    unzipped_bytes: int
    max_ratio: int
    max_files: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            total_bytes=getattr(settings, "TEACHING_CASE_UPLOAD_MAX_MB", 500) * MB,
            unzipped_bytes=getattr(settings, "TEACHING_CASE_UNZIPPED_MAX_MB", 2048) * MB,
            max_ratio=getattr(settings, "TEACHING_CASE_ZIP_MAX_RATIO", 100),
            max_files=getattr(settings, "TEACHING_CASE_UPLOAD_MAX_FILES", 5000),
        )


class UploadRefused(Exception):
    """Nothing was kept; `problems` say why, each in a sentence."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class Inspection:
    dicom_files: int = 0
    skipped: int = 0
    not_dicom: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _base(name: str) -> str:
    return name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def ignored(name: str) -> bool:
    base = _base(name).lower()
    parts = name.replace("\\", "/").split("/")
    return base in IGNORED_NAMES or base.startswith("._") or "__MACOSX" in parts


def unsafe_path(name: str) -> bool:
    path = name.replace("\\", "/")
    return (
        path.startswith("/")
        or (len(path) > 1 and path[1] == ":")
        or any(part == ".." for part in path.split("/"))
        or "\x00" in path
    )


def looks_like_zip(head: bytes) -> bool:
    return head[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def looks_like_dicom(head: bytes, read_all) -> bool:
    """The "DICM" marker after the preamble, or (rarely) a bare dataset that parses."""
    if head[128:132] == b"DICM":
        return True
    data = read_all()
    return data is not None and _parses_as_dataset(data)


def _parses_as_dataset(data: bytes) -> bool:
    """Whether bytes without the preamble still read as a DICOM object's header."""
    try:
        ds = dcmread(io.BytesIO(data), stop_before_pixels=True, force=True)
    except Exception:  # unreadable means "not DICOM" here
        return False
    return "SOPClassUID" in ds and "SOPInstanceUID" in ds


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    more = len(names) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def inspect(files: Iterable, limits: Limits | None = None) -> Inspection:
    """Check uploaded files (Django `UploadedFile`s) and raise `UploadRefused` on any problem."""
    limits = limits or Limits.from_settings()
    files = list(files)
    found = Inspection()
    if not files:
        raise UploadRefused(["Choose DICOM files or a zip of them to upload."])
    total = sum(f.size for f in files)
    if total > limits.total_bytes:
        raise UploadRefused(
            [
                f"The upload is {total / MB:.0f} MB; at most {limits.total_bytes // MB} MB "
                "can be uploaded at once. Pick the series you need, or upload in parts."
            ]
        )
    for upload in files:
        name = upload.name or "file"
        upload.seek(0)
        head = upload.read(132)
        upload.seek(0)
        if looks_like_zip(head):
            _inspect_zip(upload, name, found, limits)
        elif ignored(name):
            found.skipped += 1
        elif looks_like_dicom(head, lambda u=upload: _read_small(u)):
            found.dicom_files += 1
        else:
            found.not_dicom.append(name)
        upload.seek(0)
    if found.not_dicom:
        found.problems.append(
            f"Not DICOM: {_listed(found.not_dicom)}. Upload only DICOM images "
            "(files exported from PACS, often without an extension), or a zip of them."
        )
    if not found.problems and found.dicom_files == 0:
        found.problems.append("No DICOM image was found in the upload.")
    if found.dicom_files > limits.max_files:
        found.problems.append(
            f"The upload holds {found.dicom_files} files; at most {limits.max_files} at once."
        )
    if found.problems:
        raise UploadRefused(found.problems)
    return found


def _read_small(handle: IO[bytes]) -> bytes | None:
    handle.seek(0)
    data = handle.read(FULL_READ_LIMIT + 1)
    handle.seek(0)
    return data if len(data) <= FULL_READ_LIMIT else None


def _entry_problem(info: zipfile.ZipInfo, limits: Limits) -> str | None:
    if unsafe_path(info.filename):
        return "a file path that leaves the zip's folder (refused for safety)"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    if info.flag_bits & 0x1:
        return "an encrypted file (remove the password and zip it again)"
    if info.file_size > SMALL_ENTRY and info.file_size > limits.max_ratio * max(
        info.compress_size, 1
    ):
        return "a file compressed more than a real image can be (a possible zip bomb)"
    return None


def _inspect_zip(upload, name: str, found: Inspection, limits: Limits) -> None:
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError, ValueError):
        found.problems.append(f"{name} is not a readable zip file.")
        return
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        unzipped = sum(i.file_size for i in infos)
        if unzipped > limits.unzipped_bytes:
            found.problems.append(
                f"{name} unpacks to {unzipped / MB:.0f} MB; at most "
                f"{limits.unzipped_bytes // MB} MB are accepted."
            )
            return
        if len(infos) > limits.max_files:
            found.problems.append(
                f"{name} holds {len(infos)} files; at most {limits.max_files} at once."
            )
            return
        for info in infos:
            problem = _entry_problem(info, limits)
            if problem:
                found.problems.append(f"{name} contains {problem}: {info.filename}.")
                continue
            if ignored(info.filename):
                found.skipped += 1
                continue
            try:
                with archive.open(info) as entry:
                    head = entry.read(132)
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError):
                found.problems.append(f"{name}: {info.filename} cannot be read from the zip.")
                continue
            if looks_like_zip(head):
                found.problems.append(
                    f"{name} contains another zip ({info.filename}); unzip it first."
                )
            elif looks_like_dicom(head, lambda i=info: _read_entry_small(archive, i)):
                found.dicom_files += 1
            else:
                found.not_dicom.append(f"{info.filename} (in {name})")


def _read_entry_small(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    if info.file_size > FULL_READ_LIMIT:
        return None
    with archive.open(info) as entry:
        return entry.read(FULL_READ_LIMIT + 1)


# Reading staged files back (in the task) ---------------------------------------------------


def iter_payloads(handles: Iterable[IO[bytes]], limits: Limits | None = None) -> Iterator[bytes]:
    """The bytes of every file to process, in a stable order, zips expanded under limits.

    Non-DICOM content was refused at upload; what is skipped here are the ignored names.
    Raises `UploadRefused` if a zip decompresses to more than it declared or than allowed.
    """
    limits = limits or Limits.from_settings()
    unzipped = 0
    for handle in handles:
        head = handle.read(132)
        handle.seek(0)
        if not looks_like_zip(head):
            yield handle.read()
            continue
        with zipfile.ZipFile(handle) as archive:
            for info in archive.infolist():
                if info.is_dir() or ignored(info.filename):
                    continue
                if _entry_problem(info, limits):
                    raise UploadRefused(["The zip changed after it was checked."])
                data = _read_entry(archive, info, limits, limits.unzipped_bytes - unzipped)
                unzipped += len(data)
                yield data


def _read_entry(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, allowance: int
) -> bytes:
    buffer = io.BytesIO()
    ceiling = min(info.file_size, allowance)
    with archive.open(info) as entry:
        while chunk := entry.read(CHUNK):
            buffer.write(chunk)
            if buffer.tell() > ceiling:
                raise UploadRefused(
                    ["A file in the zip unpacks to more than the zip declares or allows."]
                )
    return buffer.getvalue()
