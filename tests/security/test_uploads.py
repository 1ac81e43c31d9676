"""The shared upload checks (peerlearning/lib/uploads.py) and the request-size settings."""

import io
import zipfile

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from peerlearning.lib import uploads
from peerlearning.lib.uploads import UploadRefused
from tests.security import hostile


class Endless(io.RawIOBase):
    """A file that never ends, counting what was read from it."""

    def __init__(self):
        self.served = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        buffer[:] = b"a" * len(buffer)
        self.served += len(buffer)
        return len(buffer)


# Telling files apart by their bytes ---------------------------------------------------------


@pytest.mark.parametrize(
    "data, kind",
    [
        (b"", "empty"),
        (b"\xef\xbb\xbf\r\n  ", "empty"),
        (b"email,name\na@b.org,A\n", "text"),
        ("naïve,café\n".encode(), "text"),
        ("name\nRené\n".encode("cp1252"), "text"),
        ("\ufeffName\tEmail\r\n".encode("utf-16"), "text"),
        ("Name\tEmail\r\n".encode("utf-16-le"), "text"),
        (hostile.dicom_bytes(), "dicom"),
        (hostile.png_bytes(), "image"),
        (b"PK\x03\x04" + bytes(40), "zip"),
        (b"%PDF-1.7\n", "pdf"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(40), "ole"),
        (b"\x1f\x8b\x08" + bytes(20), "gzip"),
        (b"MZ\x90\x00" + bytes(60), "executable"),
        (hostile.binary_bytes(), "binary"),
    ],
)
def test_a_file_is_known_by_its_bytes_not_its_name(data, kind):
    assert uploads.sniff(data[: uploads.SNIFF_BYTES]).kind == kind


def test_a_dicom_file_renamed_csv_is_refused_as_dicom():
    upload = SimpleUploadedFile("roster.csv", hostile.dicom_bytes(), content_type="text/csv")

    with pytest.raises(UploadRefused, match="This is a DICOM file, not a CSV file"):
        uploads.read_text_upload(upload)


def test_a_csv_renamed_dcm_is_refused_as_not_dicom():
    with pytest.raises(UploadRefused, match="no “DICM” marker at byte 128"):
        uploads.check_dicom_upload(b"a,b\n1,2\n", max_bytes=1024)
    assert uploads.check_dicom_upload(hostile.dicom_bytes(), max_bytes=1024)


# Size --------------------------------------------------------------------------------------


def test_an_endless_upload_is_refused_after_reading_just_past_the_limit():
    source = Endless()

    with pytest.raises(UploadRefused, match="larger than 2 MB"):
        uploads.read_limited(source, max_bytes=2 * uploads.MB)

    assert source.served <= 2 * uploads.MB + uploads.CHUNK


def test_a_file_at_the_limit_is_read_whole():
    data = b"a,b\n" * (uploads.MB // 4)
    assert uploads.read_limited(io.BytesIO(data), max_bytes=len(data)) == data


def test_the_csv_limit_is_twenty_megabytes(tmp_path):
    path = hostile.huge_csv(tmp_path / "big.csv", megabytes=21)
    with path.open("rb") as handle, pytest.raises(UploadRefused, match="larger than 20 MB"):
        uploads.read_text_upload(handle)


# Text -----------------------------------------------------------------------------------------


def test_text_comes_back_decoded_without_its_byte_order_mark():
    text = uploads.read_text_upload("\ufeffemail\r\nrené@example.org\r\n".encode())
    assert text == "email\r\nrené@example.org\r\n"
    assert uploads.read_text_upload("a\tb\r\n".encode("utf-16")) == "a\tb\r\n"


def test_a_row_of_a_million_columns_is_refused_before_any_csv_parsing():
    with pytest.raises(UploadRefused, match=r"Line 2 is 2,000,039 characters long"):
        uploads.read_text_upload(hostile.million_columns_row())


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "The file is empty."),
        (hostile.binary_bytes(), "This is a binary file, not a CSV file"),
        (hostile.png_bytes(), "This is a PNG image, not a CSV file"),
        (b"a,b\n\x00\x00\x00\x01\x02", "binary file"),
    ],
)
def test_empty_and_binary_files_are_refused_with_a_message(data, message):
    with pytest.raises(UploadRefused, match=message):
        uploads.read_text_upload(data)


def test_windows_1252_is_read_only_when_asked_and_broken_text_is_refused_with_its_line():
    data = "name\nRené\n".encode("cp1252")
    assert uploads.read_text_upload(data, allow_cp1252=True) == "name\nRené\n"
    with pytest.raises(UploadRefused, match="Line 2 is not UTF-8 text"):
        uploads.read_text_upload(data)
    with pytest.raises(UploadRefused, match="Line 2 is not UTF-8 text"):
        uploads.read_text_upload(hostile.not_utf8_csv())
    broken = "a\tb\r\n".encode("utf-16") + b"\x00\xd8"  # a lone surrogate at the end
    with pytest.raises(UploadRefused, match="Line 2 is not UTF-16 text"):
        uploads.read_text_upload(broken)


def test_refusals_become_form_errors():
    error = uploads.as_validation_error(UploadRefused("The file is empty."))
    assert error.messages == ["The file is empty."]


# Archives -------------------------------------------------------------------------------------


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_from_its_directory_without_inflating_it():
    bomb = hostile.zip_bomb(expanded_gib=4)
    assert len(bomb) < 8 * uploads.MB

    with pytest.raises(UploadRefused, match="zip bomb"):
        uploads.check_zip_upload(bomb, max_bytes=20 * uploads.MB)


def test_a_zip_bomb_sent_as_a_csv_is_refused_as_an_archive():
    with pytest.raises(UploadRefused, match="This is a ZIP archive"):
        uploads.read_text_upload(hostile.zip_bomb(expanded_gib=1))


def test_an_archive_that_would_expand_past_the_total_is_refused():
    members = {f"part{i}.csv": hostile.binary_bytes(64 * 1024) for i in range(4)}
    with pytest.raises(UploadRefused, match="would expand to"):
        uploads.check_zip_upload(make_zip(members), max_bytes=uploads.MB, max_total=128 * 1024)


@pytest.mark.parametrize(
    "name, message",
    [
        ("../../etc/cron.d/x", "outside its folder"),
        ("/etc/passwd", "outside its folder"),
        ("series\\..\\..\\x.dcm", "outside its folder"),
        ("inner.zip", "another archive"),
    ],
)
def test_archive_members_may_not_climb_out_or_nest(name, message):
    with pytest.raises(UploadRefused, match=message):
        uploads.check_zip_upload(make_zip({name: b"x"}), max_bytes=uploads.MB)


def test_a_damaged_archive_is_refused_and_an_ordinary_one_opens():
    with pytest.raises(UploadRefused, match="damaged"):
        uploads.check_zip_upload(b"PK\x03\x04" + bytes(100), max_bytes=uploads.MB)
    archive = uploads.check_zip_upload(
        make_zip({"series/1.dcm": hostile.dicom_bytes()}), max_bytes=uploads.MB
    )
    assert archive.namelist() == ["series/1.dcm"]


# The request limits in settings -----------------------------------------------------------------


def test_request_size_limits_are_set():
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 10 * uploads.MB
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE == 5 * uploads.MB
    assert settings.DATA_UPLOAD_MAX_NUMBER_FIELDS == 1000
    assert settings.DATA_UPLOAD_MAX_NUMBER_FILES == 100
