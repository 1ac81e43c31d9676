"""The one reader of uploaded tables (peerlearning/lib/tables.py): encodings, workbooks,
headers, and rows that stream."""

import datetime
import io

import openpyxl
import pytest

from peerlearning.lib.tables import TableError, header_key, table_read

COLUMNS = ("email", "first_name")
ALIASES = {"e_mail": "email", "given_name": "first_name"}


def rows(source, **options):
    table = table_read(source, columns=COLUMNS, aliases=ALIASES, **options)
    return [(line, table.values(cells)) for line, cells in table.rows]


def workbook(*records) -> bytes:
    book = openpyxl.Workbook()
    for record in records:
        book.active.append(record)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_headers_match_whatever_their_case_spaces_dashes_and_aliases():
    assert header_key("  E-mail Address ") == "e_mail_address"
    text = "E-mail,Given Name,Notes\na@example.org,Ada,x\n"
    table = table_read(text, columns=COLUMNS, aliases=ALIASES)
    assert table.columns == {"email": 0, "first_name": 1}
    assert table.warnings == ["The column “Notes” is not used and was ignored."]


@pytest.mark.parametrize(
    "data",
    [
        "email,first_name\r\na@example.org,Zoë\r\n".encode("utf-16"),
        "email,first_name\na@example.org,Zoë\n".encode("utf-16-le"),
        "\ufeffemail;first_name\na@example.org;Zoë\n".encode(),
        "email\tfirst_name\n\na@example.org\tZoë\n".encode(),
    ],
    ids=["utf-16 with BOM", "utf-16 without BOM", "utf-8 BOM, semicolons", "tabs"],
)
def test_encodings_and_delimiters_are_detected(data):
    assert [values for _, values in rows(data)] == [{"email": "a@example.org", "first_name": "Zoë"}]


def test_windows_1252_only_when_the_caller_accepts_it():
    data = "email,first_name\na@example.org,Zoë\n".encode("cp1252")
    with pytest.raises(TableError) as refused:
        rows(data)
    assert str(refused.value).startswith("Line 2: is not UTF-8 text.")
    assert rows(data, cp1252=True)[0][1]["first_name"] == "Zoë"


def test_an_excel_workbooks_first_sheet_is_read_as_text():
    data = workbook(
        ("Email", "First name", "Started"),
        (None, None, None),
        ("a@example.org", "Ada", datetime.datetime(2026, 3, 2, 8, 30)),
        ("b@example.org", 42.0, None),
    )
    table = table_read(data, columns=(*COLUMNS, "started"))
    found = [(line, table.values(cells)) for line, cells in table.rows]
    assert found == [
        (3, {"email": "a@example.org", "first_name": "Ada", "started": "2026-03-02T08:30:00"}),
        (4, {"email": "b@example.org", "first_name": "42", "started": ""}),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty: it has no header line and no rows."),
        (b"%PDF-1.7 ...", "This is a PDF document, not a CSV file or an Excel workbook."),
        (b"email\na@example.org\n", "Line 1: the header has no “first_name” column."),
        (b"email,E-mail,first_name\n", "Line 1: the column “email” appears twice"),
        (b"email,first_name\n" + b"a" * 200_000 + b",x\n", "Line 2: cannot be read as CSV"),
    ],
    ids=["empty", "a PDF", "a column missing", "a column twice", "a cell past the CSV limit"],
)
def test_what_stops_a_file_says_so_with_its_line(data, message):
    with pytest.raises(TableError) as refused:
        rows(data)
    assert str(refused.value).startswith(message)


def test_rows_stream_and_leave_the_file_open_for_a_second_pass():
    source = io.BytesIO(b"email,first_name\n" + b"a@example.org,Ada\n" * 100_000)
    table = table_read(source, columns=COLUMNS)
    first = next(table.rows)
    assert first == (2, ["a@example.org", "Ada"])
    assert source.tell() < len(source.getvalue())  # not read whole
    table.rows.close()
    assert not source.closed
    source.seek(0)
    assert sum(1 for _ in table_read(source, columns=COLUMNS).rows) == 100_000
