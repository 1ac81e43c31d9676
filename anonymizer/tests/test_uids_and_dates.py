import datetime as dt
import subprocess
import sys
import uuid

import pytest

from anonymizer.engine import dates
from anonymizer.engine.uids import UIDMapper, case_key_bytes, is_class_uid_keyword, is_standard_uid

ORIGINAL = "1.2.826.0.1.3680043.10.1450.1.1.1"


def test_the_same_uid_maps_to_the_same_new_uid_within_a_case():
    first = UIDMapper(secret="s", case_key="case-1")
    second = UIDMapper(secret="s", case_key="case-1")
    assert first(ORIGINAL) == first(ORIGINAL) == second(ORIGINAL)
    assert first(ORIGINAL + " ") == first(ORIGINAL + "\x00") == first(ORIGINAL)


def test_different_cases_and_secrets_give_unlinkable_uids():
    base = UIDMapper(secret="s", case_key="case-1")(ORIGINAL)
    assert UIDMapper(secret="s", case_key="case-2")(ORIGINAL) != base
    assert UIDMapper(secret=b"t", case_key="case-1")(ORIGINAL) != base
    assert UIDMapper(secret="s", case_key="case-1")(ORIGINAL + ".2") != base


def test_new_uids_are_valid_2_25_uuid_uids():
    new = UIDMapper(secret="s", case_key="c")(ORIGINAL)
    assert new.startswith("2.25.")
    assert len(new) <= 64
    number = int(new.removeprefix("2.25."))
    assert uuid.UUID(int=number).version == 4
    assert str(number) == new.removeprefix("2.25.")  # no leading zeros


def test_uids_are_the_same_in_another_process():
    code = (
        "from anonymizer.engine.uids import UIDMapper;"
        f"print(UIDMapper(secret='s', case_key='case-1')('{ORIGINAL}'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == UIDMapper(secret="s", case_key="case-1")(ORIGINAL)


def test_standard_uids_are_never_replaced():
    mapper = UIDMapper(secret="s", case_key="c")
    ct = "1.2.840.10008.5.1.4.1.1.2"
    assert is_standard_uid(ct)
    assert mapper.map_value(ct) == ct
    assert mapper.map_value("") == ""
    assert mapper.map_value(ORIGINAL) == mapper(ORIGINAL)


@pytest.mark.parametrize(
    ("keyword", "expected"),
    [
        ("SOPClassUID", True),
        ("ReferencedSOPClassUID", True),
        ("TransferSyntaxUID", True),
        ("CodingSchemeUID", True),
        ("SOPInstanceUID", False),
        ("FrameOfReferenceUID", False),
    ],
)
def test_class_uid_attributes_are_recognised(keyword, expected):
    assert is_class_uid_keyword(keyword) is expected


@pytest.mark.parametrize(("secret", "case_key"), [("", "c"), ("s", "")])
def test_a_secret_and_a_case_key_are_required(secret, case_key):
    with pytest.raises(ValueError):
        case_key_bytes(secret=secret, case_key=case_key)


def test_the_date_offset_is_stable_negative_and_per_case():
    offset = dates.case_date_offset(secret="s", case_key="case-1")
    assert offset == dates.case_date_offset(secret="s", case_key="case-1")
    assert -dates.MAX_OFFSET_DAYS <= offset <= -dates.MIN_OFFSET_DAYS
    others = {dates.case_date_offset(secret="s", case_key=f"case-{n}") for n in range(20)}
    assert len(others) > 15


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20240115", "20240105"),
        ("20240301", "20240220"),
        ("2024.03.01", "20240220"),
        ("202403", "202403"),
        ("2024", "2024"),
        (" 20240115 ", "20240105"),
        ("20241315", None),
        ("15/01/2024", None),
        ("", None),
    ],
)
def test_da_values_shift_at_their_own_precision(value, expected):
    assert dates.shift_da(value, -10) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20240115101501.123456+0100", "20240105101501.123456+0100"),
        ("20240115", "20240105"),
        ("2024011510", "2024010510"),
        ("202401", "202401"),
        ("20240115xyz", None),
        ("2024-01-15", None),
        ("2024011", None),
        ("", None),
    ],
)
def test_dt_values_keep_time_and_utc_offset(value, expected):
    assert dates.shift_dt(value, -10) == expected


def test_partial_dates_shift_from_the_middle_of_their_period():
    assert dates.shift_da("202403", -20) == "202402"
    assert dates.shift_da("2024", -200) == "2023"


def test_a_date_that_would_leave_the_calendar_is_unreadable():
    assert dates.shift_da("00010102", -10) is None


def test_intervals_between_dates_are_kept():
    offset = dates.case_date_offset(secret="s", case_key="case-1")

    def day(value):
        return dt.datetime.strptime(value, "%Y%m%d").date()  # noqa: DTZ007

    first, second = "20230501", "20240229"
    shifted = dates.shift_da(second, offset), dates.shift_da(first, offset)
    assert day(shifted[0]) - day(shifted[1]) == day(second) - day(first)
    assert shifted[0] != second


def test_the_mapping_cache_is_bounded_and_mapping_stays_the_same(monkeypatch):
    mapper = UIDMapper(secret="s", case_key="bounded")
    monkeypatch.setattr(UIDMapper, "CACHE_LIMIT", 2)
    first = [mapper(f"{ORIGINAL}.{n}") for n in range(5)]
    assert len(mapper._cache) <= 2
    assert [mapper(f"{ORIGINAL}.{n}") for n in range(5)] == first
