"""Reading a table someone uploads: a CSV file or an Excel workbook's first sheet, with its
header matched to the columns an import needs.

The roster, TAT (RIS extracts) and attendance imports read through `table_read()`, so they
accept the same encodings and spell the same problems the same way:

- CSV in UTF-8 (with or without a byte-order mark) or UTF-16 (Teams, Excel's "Unicode
  text"), detected from the first bytes (`peerlearning.lib.uploads.sniff`); Windows-1252
  when the caller allows it. A line that is not in the file's encoding is reported with
  its number. The delimiter is `,`, `;` or a tab, whichever the first line holds most of
  (spreadsheets in some locales save with `;`; header names contain none of them).
- An .xlsx workbook (a ZIP archive): its first sheet, cells as text (dates in ISO 8601).
- The header: names are compared lower-cased, with spaces and dashes as `_`, then through
  the caller's aliases; a column named twice or one missing is refused, unknown ones come
  back as warnings.

Rows stream (`Table.rows` is a generator): a CSV of a million lines is decoded a line at a
time and never held whole, so an import's memory stays flat. The caller's file is left open
and may be read again after `seek(0)`.
"""

import codecs
import csv
import datetime
import io
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

from peerlearning.lib.uploads import SNIFF_BYTES, sniff

DELIMITERS = (",", "\t", ";")
NOT_UTF8 = "is not UTF-8 text. Save the file as “CSV UTF-8” and import it again."


class TableError(Exception):
    """A problem that stops the whole file, with the line it is on when there is one."""

    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line
        self.message = message

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}" if self.line else self.message


def header_key(value: str) -> str:
    """ "E-mail Address " -> "e_mail_address": how header cells are compared."""
    return "_".join(value.strip().lower().replace("-", " ").split())


@dataclass
class Table:
    header_line: int
    header: list[str]
    columns: dict[str, int]  # column name -> index in a row
    rows: Iterator[tuple[int, list[str]]]  # (line, cells) of each non-blank record
    warnings: list[str] = field(default_factory=list)

    def values(self, cells: list[str]) -> dict[str, str]:
        return {name: (cells[i] if i < len(cells) else "") for name, i in self.columns.items()}


def table_read(
    source: IO[bytes] | bytes | str,
    *,
    columns: Sequence[str],
    aliases: Mapping[str, str] | None = None,
    noun: str = "rows",
    what: str = "the file",
    max_columns: int | None = None,
    cp1252: bool = False,
) -> Table:
    """The file's header matched to `columns`, and its rows as they are read; TableError.

    `noun` names what the rows are in the empty-file message ("people", "rows"); `what`
    names the file in the too-many-columns one ("a roster"); `cp1252` accepts Windows-1252.
    """
    records = _records(source, noun=noun, cp1252=cp1252)
    first = next(records, None)
    if first is None:
        raise TableError(None, f"The file is empty: it has no header line and no {noun}.")
    header_line, header = first
    try:
        if max_columns is not None and len(header) > max_columns:
            raise TableError(
                header_line,
                f"the header has {len(header)} columns; {what} has {len(columns)} "
                f"({', '.join(columns)}). Is this the right file?",
            )
        found, warnings = header_match(
            header, columns=columns, aliases=aliases or {}, line=header_line
        )
    except TableError:
        records.close()
        raise
    return Table(header_line, header, found, records, warnings)


def records_read(
    source: IO[bytes] | bytes | str, *, noun: str = "rows", cp1252: bool = False
) -> Iterator[tuple[int, list[str]]]:
    """Every non-blank record of the file with its line, header included (TableError).

    For files whose header is not on the first line, such as meeting reports with a summary
    above their table: the caller finds its header among the records.
    """
    return _records(source, noun=noun, cp1252=cp1252)


def header_match(
    header: list[str], *, columns: Sequence[str], aliases: Mapping[str, str], line: int
) -> tuple[dict[str, int], list[str]]:
    """{column: index} for a header row, and a warning for each cell no column uses."""
    found: dict[str, int] = {}
    warnings = []
    for index, cell in enumerate(header):
        name = aliases.get(header_key(cell), header_key(cell))
        if not name:
            continue
        if name in found:
            raise TableError(line, f"the column “{name}” appears twice in the header.")
        if name in columns:
            found[name] = index
        else:
            warnings.append(f"The column “{cell.strip()}” is not used and was ignored.")
    missing = [name for name in columns if name not in found]
    if missing:
        names = ", ".join(f"“{name}”" for name in missing)
        raise TableError(
            line,
            f"the header has no {names} column{'s' if len(missing) > 1 else ''}. "
            f"The first line must name the columns: {','.join(columns)}.",
        )
    return found, warnings


def text_decode(data: bytes | str, *, cp1252: bool = False) -> str:
    """A whole small file as text, by the same rules as `table_read` (TableError)."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    found = sniff(data[:SNIFF_BYTES], whole=len(data) <= SNIFF_BYTES)
    if found.kind == "empty":
        return ""
    if found.kind != "text":
        raise TableError(None, f"This is {found.description}, not a CSV file.")
    lines = _text_lines(io.BytesIO(data), encoding=found.encoding, cp1252=cp1252)
    return "".join(lines)


# Records ----------------------------------------------------------------------------------


def _records(source, *, noun: str, cp1252: bool) -> Iterator[tuple[int, list[str]]]:
    if isinstance(source, str):
        return _csv_records(iter(io.StringIO(source.removeprefix("\ufeff"), newline="")))
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(bytes(source))
    start = source.tell() if source.seekable() else 0
    head = source.read(SNIFF_BYTES)
    source.seek(start)
    found = sniff(head, whole=len(head) < SNIFF_BYTES)
    if found.kind == "empty":
        raise TableError(None, f"The file is empty: it has no header line and no {noun}.")
    if found.kind == "zip":
        return _workbook_records(source)
    if found.kind != "text":
        raise TableError(None, f"This is {found.description}, not a CSV file or an Excel workbook.")
    return _csv_records(_text_lines(source, encoding=found.encoding, cp1252=cp1252))


def _text_lines(source: IO[bytes], *, encoding: str, cp1252: bool) -> Iterator[str]:
    if encoding.startswith("utf-16"):
        text = io.TextIOWrapper(source, encoding=encoding, newline="")
        try:
            for line in text:
                yield line.removeprefix("\ufeff")
        except UnicodeDecodeError:
            raise TableError(None, "The file is not UTF-16 text all through.") from None
        finally:
            text.detach()  # the caller's file stays open for a second pass
        return
    everything_cp1252 = encoding == "cp1252" and cp1252
    for number, raw in enumerate(source, start=1):
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        if everything_cp1252:
            yield raw.decode("cp1252", errors="replace")
            continue
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            if not cp1252:
                raise TableError(number, NOT_UTF8) from None
            yield raw.decode("cp1252", errors="replace")


def _csv_records(lines: Iterator[str]) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of each record with a non-blank cell; a quoted cell may span lines."""
    line = 1
    for first in lines:
        if first.strip():
            break
        line += 1
    else:
        return
    delimiter = max(DELIMITERS, key=first.count)
    reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter)
    offset = line - 1
    start = line
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                yield start, record
            start = offset + reader.line_num + 1
    except csv.Error as error:
        raise TableError(start, f"cannot be read as CSV ({error}).") from None
    finally:
        close = getattr(lines, "close", None)
        if close is not None:
            close()


def _workbook_records(source: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    import openpyxl  # only when a workbook arrives

    try:
        book = openpyxl.load_workbook(source, read_only=True, data_only=True)
        sheet = book.worksheets[0]
    except Exception:
        raise TableError(
            None, "This ZIP file is not an Excel workbook that can be read; save it as CSV."
        ) from None
    try:
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(value) for value in row]
            if any(cell.strip() for cell in cells):
                yield number, cells
    finally:
        book.close()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep="T")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
