import json
import re
from pathlib import Path

import pytest
from pydicom.datadict import get_entry

from anonymizer import profile_build
from anonymizer.profile import (
    DEFAULT_PATIENT_CHARACTERISTICS,
    Options,
    load_profile,
    resolve_action,
    resolve_basic,
)

PUBLISHED = Path(__file__).parent / "data" / "published_confidentiality_profile_attributes.json"
ACTIONS = {"X", "Z", "D", "K", "C", "U", "X/Z", "X/D", "X/Z/D", "Z/D", "X/Z/U*"}


@pytest.fixture(scope="module")
def published():
    return json.loads(PUBLISHED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def table():
    return load_profile()


def _key(row):
    return (row["tag"], row["basic"], tuple(sorted(row["options"].items())))


def test_our_table_has_every_published_row(published, table):
    ours = {(r.tag, r.basic, tuple(sorted(r.options.items()))) for r in table.rows}
    missing = [row["tag"] for row in published if _key(profile_build.convert_row(row)) not in ours]
    assert missing == []
    assert table.row_count == len(table.rows) == len(published) == 460


def test_regenerating_from_the_published_copy_reproduces_our_table_exactly(published, table):
    regenerated = profile_build.build_profile(published, commit=table.source["commit"])
    ours = profile_build.DATA_PATH.read_text(encoding="utf-8")
    assert profile_build.dump_profile(regenerated) == ours


def test_the_build_script_writes_the_table(tmp_path, capsys):
    out = tmp_path / "profile.json"
    profile_build.main([str(PUBLISHED), "--commit", "abc123", "--output", str(out)])
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["source"]["commit"] == "abc123"
    assert data["row_count"] == 460
    assert "wrote 460 rows" in capsys.readouterr().out


def test_notes_and_line_breaks_are_dropped_from_names():
    row = {
        "name": "Icon Image Sequence\n\n(see Note 12)",
        "tag": "(0088,0200)",
        "basicProfile": "X",
    }
    assert profile_build.convert_row(row)["name"] == "Icon Image Sequence"


def test_every_row_has_a_known_action_and_ten_option_columns(table):
    columns = set(profile_build.OPTION_COLUMNS.values())
    assert len(columns) == 10
    for row in table.rows:
        assert row.basic in ACTIONS, row.tag
        assert set(row.options) <= columns, row.tag
        assert set(row.options.values()) <= {"K", "C", "X"}, row.tag


def test_every_listed_tag_is_the_attribute_the_standard_names(table):
    def norm(name):
        return re.sub(r"[^a-z0-9]", "", name.lower())

    for row in table.rows:
        if row.tag_int is None:
            continue
        assert norm(get_entry(row.tag_int)[2]) == norm(row.name), row.tag


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        (0x00100010, "(0010,0010)"),
        (0x50001000, "(50XX,XXXX)"),
        (0x501E0010, "(50XX,XXXX)"),
        (0x60003000, "(60XX,3000)"),
        (0x60024000, "(60XX,4000)"),
        (0x00091001, "(GGGG,EEEE) where GGGG is odd"),
    ],
)
def test_rows_cover_repeating_groups_and_private_tags(table, tag, expected):
    assert table.row_for(tag).tag == expected


@pytest.mark.parametrize("tag", [0x60000010, 0x00280010, 0x7FE00010])
def test_attributes_the_table_does_not_list_have_no_row(table, tag):
    assert table.row_for(tag) is None


@pytest.mark.parametrize(
    ("code", "keyword", "expected"),
    [
        ("X", "PatientAddress", "X"),
        ("X", "TreatmentMachineName", "Z"),
        ("X/Z", "AcquisitionContextSequence", "Z"),
        ("X/Z", "BarcodeValue", "X"),
        ("X/D", "ProtocolName", "X"),
        ("X/Z/D", "DeviceSerialNumber", "D"),
        ("X/Z/D", "OperatorsName", "Z"),
        ("X/Z/D", "StationName", "X"),
        ("Z/D", "ContentCreatorName", "Z"),
        ("Z/D", "ContentDate", "D"),
        ("X/Z/U*", "ReferencedImageSequence", "U"),
    ],
)
def test_compound_actions_resolve_to_the_safest_valid_choice(code, keyword, expected):
    assert resolve_basic(code, keyword) == expected


def _row(table, keyword_tag):
    return table.by_tag[keyword_tag]


def test_options_override_the_basic_action(table):
    default = Options()
    nothing = Options(
        retain_longitudinal_modified_dates=False,
        clean_descriptors=False,
        retain_patient_characteristics=frozenset(),
    )
    study_date, description, age = (_row(table, t) for t in (0x00080020, 0x00081030, 0x00101010))
    assert resolve_action(study_date, "StudyDate", default) == "C"
    assert resolve_action(study_date, "StudyDate", nothing) == "Z"
    assert resolve_action(description, "StudyDescription", default) == "C"
    assert resolve_action(description, "StudyDescription", nothing) == "X"
    assert resolve_action(age, "PatientAge", default) == "K"
    assert resolve_action(age, "PatientAge", nothing) == "X"


def test_retain_safe_private_cleans_private_attributes(table):
    assert resolve_action(table.private_row, "", Options(retain_safe_private=True)) == "C"
    assert resolve_action(table.private_row, "", Options()) == "X"


def test_patient_characteristics_are_configurable():
    assert {
        "PatientAge",
        "PatientSex",
        "PatientSize",
        "PatientWeight",
    } == DEFAULT_PATIENT_CHARACTERISTICS
    with pytest.raises(ValueError, match="not a patient characteristic"):
        Options(retain_patient_characteristics=frozenset({"PatientName"}))


def test_method_codes_follow_the_options():
    assert [c for c, _ in Options().method_codes()] == ["113100", "113107", "113105", "113108"]
    basic_only = Options(
        retain_longitudinal_modified_dates=False,
        clean_descriptors=False,
        retain_patient_characteristics=frozenset(),
        retain_safe_private=True,
    )
    assert [c for c, _ in basic_only.method_codes()] == ["113100", "113111"]
