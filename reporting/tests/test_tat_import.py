"""Importing report turnaround times from the RIS: the service, the command, the admin page."""

import datetime
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from peerlearning.models import AuditEvent, Role
from peerlearning.testing import SectionFactory, make_member
from reporting.models import TatImport, TurnaroundTime
from reporting.oppe.tat import MAX_ERRORS, tat_import

SHARED_SAMPLE = Path(settings.BASE_DIR).parent / "shared" / "samples" / "tat.csv"
KEPT_SAMPLE = Path(__file__).parent / "data" / "tat.csv"
HEADER = "accession,radiologist_email,modality,exam_completed_at,report_finalized_at\n"
UTC = datetime.UTC


@pytest.fixture
def sample() -> bytes:
    return (SHARED_SAMPLE if SHARED_SAMPLE.exists() else KEPT_SAMPLE).read_bytes()


@pytest.fixture
def roster(db, sample):
    """The sample's radiologists, as the roster import would have made them."""
    section = SectionFactory(name="Neuroradiology", slug="neuroradiology")
    emails = {line.split(",")[1] for line in sample.decode().splitlines()[1:]}
    return {
        email: make_member(
            section,
            Role.RADIOLOGIST,
            email=email,
            first_name=email.split(".")[0].title(),
            last_name=email.split(".")[1].split("@")[0].title(),
        )
        for email in sorted(emails)
    }


def imported(data: bytes | str, **kwargs):
    if isinstance(data, str):
        data = data.encode()
    return tat_import(source=io.BytesIO(data), actor=None, **kwargs)


def table():
    return sorted(
        TurnaroundTime.objects.values_list(
            "accession",
            "radiologist__email",
            "modality",
            "exam_completed_at",
            "report_finalized_at",
            "turnaround_seconds",
        )
    )


def test_the_kept_copy_matches_the_shared_sample():
    if not SHARED_SAMPLE.exists():
        pytest.skip("shared/samples is not beside the repository")
    assert KEPT_SAMPLE.read_bytes() == SHARED_SAMPLE.read_bytes()


# Importing ------------------------------------------------------------------------------------


def test_the_sample_imports_forty_reports(roster, sample):
    result = imported(sample)
    assert result.ok, result.error_messages()
    assert (result.rows, result.created, result.updated, result.unchanged) == (40, 40, 0, 0)
    first = TurnaroundTime.objects.get(accession="A7000100")
    assert first.radiologist == roster["avery.okafor@example-hospital.org"]
    assert first.modality == "CT"


def test_naive_times_are_in_the_site_time_zone_and_offsets_are_respected(roster, sample):
    imported(sample)
    # 2026-10-01T08:00:00 (New York, EDT) → 2026-10-01T09:00:00-04:00: one hour.
    first = TurnaroundTime.objects.get(accession="A7000100")
    assert first.exam_completed_at == datetime.datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
    assert first.report_finalized_at == datetime.datetime(2026, 10, 1, 13, 0, tzinfo=UTC)
    assert first.turnaround_minutes == 60
    # Both naive: 08:01 → 10:07.
    assert TurnaroundTime.objects.get(accession="A7000101").turnaround_minutes == 126


def test_importing_the_same_file_again_changes_nothing(roster, sample):
    imported(sample)
    before = table()
    result = imported(sample)
    assert result.ok
    assert (result.created, result.updated, result.unchanged) == (0, 0, 40)
    assert table() == before
    assert TurnaroundTime.objects.count() == 40


def test_a_corrected_row_updates_the_report_with_that_accession(roster, sample):
    imported(sample)
    corrected = (
        HEADER + "A7000100,jordan.lindqvist@example-hospital.org,mr,"
        "2026-10-01T08:00:00Z,2026-10-01T08:30:00Z\n"
    )
    result = imported(corrected)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    row = TurnaroundTime.objects.get(accession="A7000100")
    assert row.radiologist.email == "jordan.lindqvist@example-hospital.org"
    assert row.modality == "MR"
    assert row.turnaround_minutes == 30
    assert TurnaroundTime.objects.count() == 40


def test_the_import_is_recorded_with_counts_and_never_accessions(roster, sample, department):
    tat_import(source=io.BytesIO(sample), actor=department.site_admin, origin="command")
    event = AuditEvent.objects.get(action=AuditEvent.Action.IMPORT)
    assert event.actor_id == department.site_admin.pk
    assert event.detail == {
        "what": "tat",
        "source": "command",
        "rows": 40,
        "created": 40,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
    }
    assert "A7000" not in str(event.detail)


def test_a_dry_run_counts_and_writes_nothing(roster, sample):
    result = imported(sample, dry_run=True)
    assert result.ok and result.created == 40
    assert TurnaroundTime.objects.count() == 0
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.IMPORT).exists()


def test_tolerates_a_bom_crlf_semicolons_blank_lines_and_other_header_spellings(roster):
    text = (
        "\ufeffAccession Number;Radiologist E-mail;Modality;Exam Completed;Report Finalized\r\n"
        "X1;Avery.Okafor@Example-Hospital.org ; ct ;2026-10-01 08:00;2026-10-01 09:30\r\n"
        "\r\n"
        ";;;;\r\n"
    )
    result = imported(text)
    assert result.ok, result.error_messages()
    row = TurnaroundTime.objects.get(accession="X1")
    assert (row.modality, row.turnaround_minutes) == ("CT", 90)


def test_a_utf16_file_from_a_spreadsheet_is_read(roster):
    text = HEADER + "X1,avery.okafor@example-hospital.org,US,2026-10-01T08:00,2026-10-01T08:10\n"
    assert imported(text.encode("utf-16")).ok


# Refusing -------------------------------------------------------------------------------------


def test_bad_rows_are_reported_by_line_and_nothing_is_written(roster, sample):
    lines = sample.decode().splitlines(keepends=True)
    broken = "".join(
        [
            *lines[:3],
            "B1,avery.okafor@example-hospital.org,CT,yesterday,2026-10-01T09:00:00\n",  # line 4
            "B2,avery.okafor@example-hospital.org,CT,2026-10-01T10:00,2026-10-01T09:00\n",
            "B3,nobody@example-hospital.org,CT,2026-10-01T08:00,2026-10-01T09:00\n",
            "B4,avery.okafor@example-hospital.org,CT,2026-10-01,2026-10-01T09:00\n",
            "B5,avery.okafor@example-hospital.org,C T,2026-10-01T08:00,2026-10-01T09:00\n",
            ",avery.okafor@example-hospital.org,CT,2026-10-01T08:00,2026-10-01T09:00\n",
            "B7,avery.okafor@example-hospital.org,CT,2026-10-01T08:00\n",
            *lines[3:],
        ]
    )
    result = imported(broken)
    assert not result.ok
    assert result.error_messages() == [
        "Line 4: exam_completed_at “yesterday” is not a date (use ISO 8601, e.g. "
        "2026-10-01T08:00:00-04:00).",
        "Line 5: the report was finalized before the exam was completed.",
        "Line 6: no radiologist on the roster has the e-mail nobody@example-hospital.org.",
        "Line 7: exam_completed_at “2026-10-01” has no time of day (use ISO 8601, e.g. "
        "2026-10-01T08:00:00-04:00).",
        "Line 8: “C T” is not a modality code (CT, MR, US, …).",
        "Line 9: the accession is empty.",
        "Line 10: has 4 values; the header names 5.",
    ]
    assert TurnaroundTime.objects.count() == 0


def test_a_refused_file_leaves_earlier_imports_as_they_were(roster, sample):
    imported(sample)
    before = table()
    corrected_then_broken = (
        HEADER
        + "A7000100,avery.okafor@example-hospital.org,CT,2026-10-01T08:00,2026-10-01T08:05\n"
        + "A7000101,avery.okafor@example-hospital.org,CT,2026-10-01T08:00,2026-09-01T08:05\n"
    )
    assert not imported(corrected_then_broken).ok
    assert table() == before


def test_an_accession_listed_twice_is_refused_with_both_lines(roster, sample):
    doubled = (
        sample + b"A7000105,kofi.mensah@example-hospital.org,MR,2026-10-06T08:05,2026-10-06T09:00\n"
    )
    result = imported(doubled)
    assert result.error_messages() == ["Line 42: the accession of line 7 appears again."]
    assert TurnaroundTime.objects.count() == 0


def test_a_person_who_is_not_a_radiologist_is_named_as_such(roster, department):
    text = HEADER + f"X1,{department.trainee.email},CT,2026-10-01T08:00,2026-10-01T09:00\n"
    (message,) = imported(text).error_messages()
    assert (
        message == f"Line 2: {department.trainee.email} is on the roster but not as a radiologist."
    )


def test_unknown_people_can_be_skipped_with_a_warning_instead(roster, sample):
    text = sample.decode() + (
        "C1,locum@teleradiology.example,CT,2026-10-01T08:00,2026-10-01T09:00\n"
        "C2,locum@teleradiology.example,CT,2026-10-01T08:00,2026-10-01T09:00\n"
    )
    result = imported(text, skip_unknown=True)
    assert result.ok
    assert (result.rows, result.created, result.skipped) == (40, 40, 2)
    assert result.warnings == [
        "Skipped 2 rows of people who are not radiologists on the roster: "
        "locum@teleradiology.example (2)."
    ]
    assert not TurnaroundTime.objects.filter(accession__startswith="C").exists()


def test_a_report_finalized_in_the_future_is_refused(roster):
    text = HEADER + "X1,avery.okafor@example-hospital.org,CT,2026-10-01T08:00,2099-10-01T09:00\n"
    assert imported(text).error_messages() == ["Line 2: report_finalized_at is in the future."]


def test_a_header_without_the_columns_says_which_are_missing(roster):
    result = imported("accession,email,modality\nX1,a@b.org,CT\n")
    assert result.error_messages() == [
        "Line 1: the header has no “exam_completed_at”, “report_finalized_at” columns. The "
        "first line must name the columns: accession,radiologist_email,modality,"
        "exam_completed_at,report_finalized_at."
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty: it has no header line and no rows."),
        (HEADER.encode(), "The file has a header line but no rows."),
        (HEADER.encode() + b"X1,\xff\xfe,CT,a,b\n", "Line 2: is not UTF-8 text."),
    ],
)
def test_empty_and_unreadable_files_are_refused(roster, data, message):
    (error,) = imported(data).error_messages()
    assert error.startswith(message)


def test_past_the_first_problems_the_rest_are_counted(roster):
    bad = "X{},avery.okafor@example-hospital.org,CT,2026-10-01T10:00,2026-10-01T09:00\n"
    result = imported(HEADER + "".join(bad.format(i) for i in range(MAX_ERRORS + 7)))
    messages = result.error_messages()
    assert len(messages) == MAX_ERRORS + 1
    assert messages[-1] == "… and 7 more problems."


# The command ----------------------------------------------------------------------------------


def test_the_command_imports_a_file_and_says_what_it_did(roster, tmp_path, sample, capsys):
    path = tmp_path / "tat.csv"
    path.write_bytes(sample)
    call_command("import_tat", str(path))
    assert "40 rows: 40 new, 0 updated, 0 unchanged." in capsys.readouterr().out
    assert TurnaroundTime.objects.count() == 40


def test_the_command_refuses_a_bad_file_with_its_line_numbers(roster, tmp_path):
    path = tmp_path / "tat.csv"
    path.write_text(HEADER + "X1,nobody@example.org,CT,2026-10-01T08:00,2026-10-01T09:00\n")
    with pytest.raises(CommandError) as refused:
        call_command("import_tat", str(path))
    assert "nothing was changed" in str(refused.value)
    assert "Line 2: no radiologist on the roster has the e-mail nobody@example.org." in str(
        refused.value
    )
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_tat", str(tmp_path / "missing.csv"))


# The admin ------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, department, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(department.site_admin)
    return client


def test_the_tat_list_offers_the_import_and_records_who_read_it(admin_client, department):
    response = admin_client.get(reverse("admin:reporting_turnaroundtime_changelist"))
    assert response.status_code == 200
    assert reverse("admin:reporting_turnaroundtime_import").encode() in response.content
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.VIEW,
        object_type="reporting.turnaroundtime",
        actor_id=department.site_admin.pk,
    ).exists()


def test_an_uploaded_file_is_imported_by_a_worker_and_the_outcome_kept(
    admin_client, roster, sample, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:reporting_turnaroundtime_import"),
            {"file": SimpleUploadedFile("october.csv", sample, "text/csv")},
        )
    record = TatImport.objects.get()
    assert response["Location"] == reverse("admin:reporting_tatimport_change", args=[record.pk])
    assert record.status == TatImport.Status.DONE
    assert (record.file_name, record.rows, record.created) == ("october.csv", 40, 40)
    assert not record.file, "the upload is deleted once imported"
    assert TurnaroundTime.objects.count() == 40
    page = admin_client.get(response["Location"])
    assert b"october.csv" in page.content


def test_an_uploaded_file_with_bad_lines_is_refused_and_its_problems_shown(
    admin_client, roster, django_capture_on_commit_callbacks
):
    text = HEADER + "X1,nobody@example.org,CT,2026-10-01T08:00,2026-10-01T09:00\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:reporting_turnaroundtime_import"),
            {"file": SimpleUploadedFile("bad.csv", text.encode(), "text/csv")},
        )
    record = TatImport.objects.get()
    assert record.status == TatImport.Status.REFUSED
    assert record.errors == [
        "Line 2: no radiologist on the roster has the e-mail nobody@example.org."
    ]
    page = admin_client.get(response["Location"])
    assert b"no radiologist on the roster has the e-mail nobody@example.org" in page.content
    assert TurnaroundTime.objects.count() == 0


def test_a_file_with_the_wrong_header_is_refused_at_upload(admin_client, roster):
    response = admin_client.post(
        reverse("admin:reporting_turnaroundtime_import"),
        {"file": SimpleUploadedFile("roster.csv", b"email,first_name\na@b.org,A\n", "text/csv")},
    )
    assert response.status_code == 200
    assert "the header has no “accession”" in response.content.decode()
    assert not TatImport.objects.exists()


def test_a_second_delivery_of_the_import_task_does_nothing(admin_client, roster, sample):
    from reporting.oppe.tat import tat_import_run

    record = TatImport.objects.create(file_name="x.csv")
    record.file.save("x.csv", ContentFile(sample))
    assert tat_import_run(import_id=record.pk) is True
    assert tat_import_run(import_id=record.pk) is False
    assert TurnaroundTime.objects.count() == 40


def test_a_local_time_the_clocks_skipped_is_refused_and_a_repeated_one_read_once(roster):
    # New York, 2026-03-08: 02:00 to 03:00 does not exist; 2026-11-01: 01:00 to 02:00 twice.
    skipped = HEADER + "X1,avery.okafor@example-hospital.org,CT,2026-03-08T02:30,2026-03-08T04:00\n"
    assert imported(skipped).error_messages() == [
        "Line 2: exam_completed_at “2026-03-08T02:30” does not exist in the site's time zone "
        "(the clocks moved forward)."
    ]
    repeated = (
        HEADER + "X2,avery.okafor@example-hospital.org,CT,2026-11-01T01:30,2026-11-01T03:00\n"
    )
    assert imported(repeated).ok
    # 01:30 is read as its first occurrence (EDT, 05:30 UTC); 03:00 EST is 08:00 UTC.
    assert TurnaroundTime.objects.get(accession="X2").turnaround_minutes == 150


def test_a_report_signed_in_the_repeated_hour_after_its_exam_is_read_as_the_second(roster):
    # 01:50 EDT exam, report at 01:10 EST (written naive, it looks 40 minutes earlier).
    text = HEADER + "X3,avery.okafor@example-hospital.org,CT,2026-11-01T01:50,2026-11-01T01:10\n"
    assert imported(text).ok
    assert TurnaroundTime.objects.get(accession="X3").turnaround_minutes == 20
