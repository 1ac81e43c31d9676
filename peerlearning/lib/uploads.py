"""What a request may carry: checks for uploaded import files, and for API bodies.

An upload's name and its Content-Type are whatever the browser (or an attacker) says, so
the checks here read the bytes:

- its size, read in chunks and stopped one byte past the limit (a 5 GB upload is never read
  whole into memory);
- what it is, from its first bytes: a ZIP archive (which is also what .xlsx and .docx are),
  a DICOM file (the `DICM` magic at byte 128), a PDF, an image, an old Office file, or text;
- for text: no NUL bytes and few control characters, a known encoding, and no line longer
  than a CSV line can sensibly be (a "row" of a million columns is refused before
  `csv.reader` builds a million strings);
- for ZIP archives where one is expected: the declared sizes and compression ratio of its
  members, read from the central directory without extracting anything (zip bombs).

`read_text_upload()` is for CSV imports (rosters, attendance reports, RIS exports);
`check_dicom_upload()` for DICOM; `check_zip_upload()` for archives. Each raises
`UploadRefused` with a message meant for the person who chose the file; `as_validation_error`
turns it into a form error.
"""

import codecs
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, ValidationError
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MB = 1024 * 1024
# A roster or an attendance report is a few hundred kilobytes; 20 MB is a generous bound.
CSV_MAX_BYTES = 20 * MB
# The longest line a CSV import accepts (a Teams report line is a few hundred characters).
CSV_MAX_LINE = 64 * 1024
CHUNK = 1 * MB
SNIFF_BYTES = 8192

DICOM_MAGIC_OFFSET = 128
ZIP_MAX_MEMBERS = 10_000
ZIP_MAX_TOTAL = 2 * 1024 * MB
ZIP_MAX_RATIO = 100


class UploadRefused(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def as_validation_error(refusal: UploadRefused) -> ValidationError:
    return ValidationError(refusal.message, code="upload")


# What the bytes are ----------------------------------------------------------------------

SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"PK\x03\x04", "zip", "a ZIP archive (an Excel .xlsx workbook is one)"),
    (b"PK\x05\x06", "zip", "an empty ZIP archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole", "an old-style Office file (.xls or .doc)"),
    (b"%PDF-", "pdf", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "image", "a PNG image"),
    (b"\xff\xd8\xff", "image", "a JPEG image"),
    (b"GIF87a", "image", "a GIF image"),
    (b"GIF89a", "image", "a GIF image"),
    (b"\x1f\x8b", "gzip", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "archive", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "archive", "a RAR archive"),
    (b"MZ", "executable", "a Windows program"),
    (b"\x7fELF", "executable", "a program"),
    (b"{\\rtf", "rtf", "an RTF document"),
)


@dataclass(frozen=True)
class Sniffed:
    kind: str  # "empty", "text", "dicom", "zip", "pdf", "image", "binary", ...
    description: str
    encoding: str = ""


def sniff(head: bytes, *, whole: bool = True) -> Sniffed:
    """What a file is, from its first bytes (SNIFF_BYTES of them, or all if it is shorter).

    `whole=False` says `head` was cut from a longer file, so its last character may be cut.
    """
    if not head.strip(b"\x00 \t\r\n\xef\xbb\xbf\xff\xfe"):
        return Sniffed("empty", "an empty file")
    if len(head) >= DICOM_MAGIC_OFFSET + 4 and head[DICOM_MAGIC_OFFSET:][:4] == b"DICM":
        return Sniffed("dicom", "a DICOM file")
    for magic, kind, description in SIGNATURES:
        if head.startswith(magic):
            return Sniffed(kind, description)
    encoding = _text_encoding(head, whole=whole)
    if encoding:
        return Sniffed("text", "a text file", encoding)
    return Sniffed("binary", "a binary file")


def _text_encoding(head: bytes, *, whole: bool) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if b"\x00" in head:
        # UTF-16 without a byte-order mark: every other byte of ASCII text is NUL.
        half = len(head) // 2
        if half and head[1::2].count(0) > 0.9 * half:
            return "utf-16-le"
        if half and head[0::2].count(0) > 0.9 * half:
            return "utf-16-be"
        return ""
    try:
        text, encoding = head.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as error:
        if not whole and error.start >= len(head) - 3:  # a character cut by the window
            text, encoding = head[: error.start].decode("utf-8"), "utf-8"
        else:
            # Excel's "CSV" on Windows is Windows-1252; decoding never fails with "replace".
            text, encoding = head.decode("cp1252", errors="replace"), "cp1252"
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\r\n\f")
    if controls > max(8, len(text) // 100):
        return ""
    return encoding


# Reading an upload within its limit ------------------------------------------------------


def _chunks(source: IO[bytes] | bytes) -> Iterable[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        yield bytes(source)
        return
    if getattr(source, "seekable", lambda: False)():
        source.seek(0)
    if hasattr(source, "chunks"):  # a Django UploadedFile
        yield from source.chunks(CHUNK)
        return
    while chunk := source.read(CHUNK):
        yield chunk


def read_limited(source: IO[bytes] | bytes, *, max_bytes: int) -> bytes:
    """The upload's bytes, refused as soon as more than max_bytes have been read."""
    buffer = io.BytesIO()
    for chunk in _chunks(source):
        buffer.write(chunk)
        if buffer.tell() > max_bytes:
            raise UploadRefused(
                f"The file is larger than {_size(max_bytes)}; is this the right file?"
            )
    return buffer.getvalue()


def _size(count: int) -> str:
    return f"{count // MB} MB" if count >= MB else f"{count // 1024} KB"


def read_text_upload(
    source: IO[bytes] | bytes,
    *,
    max_bytes: int = CSV_MAX_BYTES,
    max_line: int = CSV_MAX_LINE,
    allow_cp1252: bool = False,
    what: str = "a CSV file",
) -> str:
    """The decoded text of a CSV upload, or UploadRefused naming what is wrong with it.

    UTF-8 (with or without a byte-order mark) and UTF-16 are read; Windows-1252, which any
    byte string decodes as, only when the caller says so (attendance reports come that way).
    """
    data = read_limited(source, max_bytes=max_bytes)
    found = sniff(data[:SNIFF_BYTES], whole=len(data) <= SNIFF_BYTES)
    if found.kind == "empty":
        raise UploadRefused("The file is empty.")
    if found.kind != "text":
        raise UploadRefused(f"This is {found.description}, not {what}. Save it as CSV first.")
    text = _decode(data, found.encoding, allow_cp1252=allow_cp1252)
    if "\x00" in text:
        raise UploadRefused(f"This is a binary file, not {what}.")
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > max_line:
            raise UploadRefused(
                f"Line {number} is {len(line):,} characters long; a line of {what} is at "
                f"most {max_line:,}. Is this the right file?"
            )
    return text.removeprefix("\ufeff")


def _decode(data: bytes, encoding: str, *, allow_cp1252: bool) -> str:
    first = "utf-8" if encoding == "cp1252" else encoding
    try:
        return data.decode(first)
    except UnicodeDecodeError as error:
        if first == "utf-8" and allow_cp1252:
            return data.decode("cp1252", errors="replace")
        line = data[: error.start].count(b"\n") + 1
        name = "UTF-16" if first.startswith("utf-16") else "UTF-8"
        raise UploadRefused(
            f"Line {line} is not {name} text. Save the file as “CSV UTF-8” and try again."
        ) from None


def check_dicom_upload(source: IO[bytes] | bytes, *, max_bytes: int) -> bytes:
    """A DICOM Part 10 file's bytes: 128-byte preamble, then `DICM`; anything else refused."""
    data = read_limited(source, max_bytes=max_bytes)
    found = sniff(data[:SNIFF_BYTES], whole=len(data) <= SNIFF_BYTES)
    if found.kind != "dicom":
        raise UploadRefused(
            f"This is {found.description}, not a DICOM file (no “DICM” marker at byte 128)."
        )
    return data


def check_zip_upload(
    source: IO[bytes] | bytes,
    *,
    max_bytes: int,
    max_total: int = ZIP_MAX_TOTAL,
    max_ratio: int = ZIP_MAX_RATIO,
    max_members: int = ZIP_MAX_MEMBERS,
) -> zipfile.ZipFile:
    """An archive whose members may be extracted: checked from its directory, not by trying.

    Refuses archives that would expand past `max_total` bytes, members compressed more than
    `max_ratio` to 1 (ordinary files rarely pass 20:1; bombs reach 1000:1), too many
    members, nested archives, and member names that climb out of a folder. Python's
    `zipfile` never yields more than a member's declared size, so a directory that lies
    about sizes cannot get past these checks either.
    """
    data = read_limited(source, max_bytes=max_bytes)
    if sniff(data[:SNIFF_BYTES]).kind != "zip":
        raise UploadRefused("This is not a ZIP archive.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise UploadRefused("The ZIP archive is damaged and cannot be read.") from None
    if len(members) > max_members:
        raise UploadRefused(f"The archive holds more than {max_members:,} files.")
    total = 0
    for member in members:
        total += member.file_size
        name = member.filename.replace("\\", "/")
        if name.startswith("/") or ".." in name.split("/"):
            raise UploadRefused(f"The archive holds a file outside its folder ({name[:80]}).")
        if name.lower().endswith((".zip", ".gz", ".7z", ".rar", ".tar", ".tgz")):
            raise UploadRefused("The archive holds another archive; unpack it first.")
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > MB and ratio > max_ratio:
            raise UploadRefused(
                "The archive expands far beyond its size (a “zip bomb”); it was not opened."
            )
    if total > max_total:
        raise UploadRefused(
            f"The archive would expand to {_size(total)}, more than {_size(max_total)}."
        )
    return archive


# Request bodies of the API ------------------------------------------------------------------------


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, answering 400 for nesting too deep for Python's decoder.

    `[[[[…` ten thousand deep raises RecursionError inside `json.loads`, which DRF's parser
    does not catch: the caller got a 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None


def api_exception_handler(exc, context):
    """DRF's handler, plus a JSON 400 with a message for bodies over the upload limits.

    Django refuses them with an HTML "Bad Request" page that tells an API client nothing.
    """
    # Here, not at the top: DRF's views module reads the parser setting, which names this one.
    from rest_framework.views import exception_handler

    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
        exc = ParseError(f"The request body is larger than {limit} MB.")
    elif isinstance(exc, TooManyFieldsSent):
        exc = ParseError(
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields."
        )
    return exception_handler(exc, context)
