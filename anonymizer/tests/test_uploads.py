"""The upload guards (anonymizer/uploads.py), shared by every page that takes DICOM: nothing
unsafe is kept, and a refusal says why in words."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from anonymizer.tests.factories import IDENTITY, make_image, to_bytes, zip_of
from anonymizer.uploads import Limits, UploadRefused, inspect, iter_payloads

LIMITS = Limits(total_bytes=10 << 20, unzipped_bytes=20 << 20, max_ratio=100, max_files=50)


def dicom_bytes(instance: int = 1) -> bytes:
    return to_bytes(make_image(IDENTITY, instance=instance))


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        ({"../../etc/evil": b"x"}, "leaves the zip's folder"),
        ({"/abs/path": b"x"}, "leaves the zip's folder"),
        ({"C:/windows/x": b"x"}, "leaves the zip's folder"),
        ({"inner.zip": zip_of({"a": b"b"}).read()}, "contains another zip"),
        ({"bomb": b"\x00" * (3 << 20)}, "possible zip bomb"),
    ],
)
def test_unsafe_zips_are_refused(entries, problem):
    with pytest.raises(UploadRefused) as refused:
        inspect([zip_of(entries)], LIMITS)
    assert problem in refused.value.problems[0]


def test_a_zip_that_unpacks_to_too_much_or_too_many_is_refused():
    small = Limits(total_bytes=10 << 20, unzipped_bytes=1 << 20, max_ratio=10_000, max_files=3)
    with pytest.raises(UploadRefused, match="unpacks to 2 MB; at most 1 MB"):
        inspect([zip_of({"a": b"\x01" * (2 << 20)})], small)
    with pytest.raises(UploadRefused, match="holds 4 files; at most 3"):
        inspect([zip_of({str(n): b"x" for n in range(4)})], small)


def test_symbolic_links_and_encrypted_entries_in_a_zip_are_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("link")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(UploadRefused, match="symbolic link"):
        inspect([SimpleUploadedFile("a.zip", buffer.getvalue())], LIMITS)
    data = bytearray(zip_of({"secret": b"x" * 10}).read())
    # Set the "encrypted" bit in the local header and the central directory.
    data[6] |= 1
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 1
    with pytest.raises(UploadRefused, match="encrypted"):
        inspect([SimpleUploadedFile("b.zip", bytes(data))], LIMITS)


def test_dicom_is_recognized_with_or_without_the_preamble_and_system_files_are_skipped():
    data = dicom_bytes()
    bare = data[132:]  # no preamble and no "DICM": a dataset that still parses
    found = inspect(
        [
            SimpleUploadedFile("IMG0001", data),
            SimpleUploadedFile("IMG0002", bare),
            SimpleUploadedFile("DICOMDIR", b"anything"),
        ],
        LIMITS,
    )
    assert (found.dicom_files, found.skipped) == (2, 1)


def test_non_dicom_files_are_named_in_the_refusal():
    with pytest.raises(UploadRefused) as refused:
        inspect(
            [SimpleUploadedFile("IMG0001", dicom_bytes()), SimpleUploadedFile("notes.txt", b"hi")],
            LIMITS,
        )
    assert refused.value.problems[0].startswith("Not DICOM: notes.txt.")


def test_reading_back_stops_a_zip_that_unpacks_to_more_than_allowed():
    archive = zip_of({"a": b"\x01" * (2 << 20), "b": b"\x01" * (2 << 20)})
    small = Limits(total_bytes=10 << 20, unzipped_bytes=3 << 20, max_ratio=10_000, max_files=3)
    with pytest.raises(UploadRefused, match="unpacks to more than"):
        list(iter_payloads([archive], small))
