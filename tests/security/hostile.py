"""Hostile inputs, made on the spot: nothing large is kept in git.

- strings: script tags, attribute break-outs, SQL, NUL bytes, right-to-left overrides;
- files: empty, binary, not UTF-8, a DICOM file, an image, a "row" of a million columns,
  a zip bomb (a few kilobytes that inflate to gigabytes), and a 50 MB CSV written in chunks.
"""

import random
import struct
import zlib
from pathlib import Path

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
SQL = "'; DROP TABLE submissions_submission; --"
TEXTS = (SCRIPT, ATTRIBUTE, SQL)
# What must never appear raw in a page that shows the strings above.
RAW_MARKERS = ("<script>alert(1)", "<img src=x onerror")

ROSTER_HEADER = b"email,first_name,last_name,roles,section,participating\n"


def assert_escaped(html: str, where: str = "") -> None:
    for marker in RAW_MARKERS:
        assert marker not in html, f"unescaped {marker!r} in {where}"


def binary_bytes(size: int = 4096) -> bytes:
    return random.Random(8).randbytes(size)


def not_utf8_csv() -> bytes:
    return (
        ROSTER_HEADER
        + b"caf\xe9@example.org,Ren\xe9,M\xfcller,radiologist,neuro,yes\n\xff\xfe\xfa\n"
    )


def dicom_bytes() -> bytes:
    """A DICOM Part 10 file's opening: a 128-byte preamble, `DICM`, a meta group element."""
    element = struct.pack("<HH2sH", 0x0002, 0x0010, b"UI", 20) + b"1.2.840.10008.1.2.1\x00"
    return bytes(128) + b"DICM" + element + bytes(256)


def png_bytes() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + bytes(64)


def million_columns_row(header: bytes = ROSTER_HEADER) -> bytes:
    return header + b"a@example.org,A,B,radiologist,neuro,yes" + b",x" * 1_000_000 + b"\n"


def million_columns_header() -> bytes:
    return b"a," * 1_000_000 + b"a\n" + b"a@example.org\n"


def zip_bomb(expanded_gib: int = 4, member: str = "report.csv") -> bytes:
    """A ZIP archive of a few megabytes whose one member inflates to `expanded_gib` GiB of zeros.

    Deflate output after a full flush does not depend on what came before, so one compressed
    64 MiB block of zeros is repeated instead of compressing gigabytes. Zip64 sizes; the CRC
    is left zero, since no reader should get far enough to check it.
    """
    block = 64 * 1024 * 1024
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeats = expanded_gib * 1024 * 1024 * 1024 // block
    data = segment * repeats + b"\x03\x00"  # an empty final block ends the stream
    size, packed = repeats * block, len(data)
    name = member.encode()
    zip64_local = struct.pack("<HHQQ", 0x0001, 16, size, packed)
    local = (
        struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            45,
            0,
            8,
            0,
            0,
            0,
            0xFFFFFFFF,
            0xFFFFFFFF,
            len(name),
            len(zip64_local),
        )
        + name
        + zip64_local
    )
    zip64_central = struct.pack("<HHQQ", 0x0001, 16, size, packed)
    central = (
        struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            45,
            45,
            0,
            8,
            0,
            0,
            0,
            0xFFFFFFFF,
            0xFFFFFFFF,
            len(name),
            len(zip64_central),
            0,
            0,
            0,
            0,
            0,
        )
        + name
        + zip64_central
    )
    central_at = len(local) + packed
    end64 = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, 1, 1, len(central), central_at)
    locator = struct.pack("<IIQI", 0x07064B50, 0, central_at + len(central), 1)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), 0xFFFFFFFF, 0)
    return local + data + central + end64 + locator + end


def huge_csv(path: Path, megabytes: int = 50, header: bytes = ROSTER_HEADER) -> Path:
    """A well-formed CSV of `megabytes` MB, written a megabyte at a time."""
    line = b"person%08d@example.org,First,Last,radiologist,neuro,yes\n"
    per_mb = (1024 * 1024) // len(line % 0)
    with path.open("wb") as out:
        out.write(header)
        number = 0
        for _ in range(megabytes):
            out.write(b"".join(line % (number + i) for i in range(per_mb)))
            number += per_mb
    return path
