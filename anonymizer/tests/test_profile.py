import hashlib
import itertools
import json
import re
import zipfile
from pathlib import Path

import pytest
from pydicom.datadict import get_entry, keyword_for_tag
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from anonymizer.engine import profile_build
from anonymizer.engine.dicom import DUMMY_TEXT, deidentify_dataset
from anonymizer.engine.profile import (
    DEFAULT_PATIENT_CHARACTERISTICS,
    PATIENT_CHARACTERISTICS,
    Options,
    load_profile,
    resolve_action,
    resolve_basic,
)
from anonymizer.engine.uids import UIDMapper
from anonymizer.tests.factories import make_image, uid

DATA = Path(__file__).parent / "data"
PUBLISHED = DATA / "published_confidentiality_profile_attributes.json"
# Tags and actions read from idiscore 1.2.0's idiscore/_public_dicom.py (the file's
# sha256 is in its "source"); written by `profile_build --idiscore-rows`.
IDISCORE_ROWS = DATA / "published_idiscore_rows.json"
ACTIONS = {"X", "Z", "D", "K", "C", "U", "X/Z", "X/D", "X/Z/D", "Z/D", "X/Z/U*"}
# What the engine knows how to apply (dicom.py `_apply`).
ENGINE_ACTIONS = {"X", "Z", "D", "K", "C", "U"}
# Option columns whose options we do not offer (see profile.Options).
NOT_OFFERED = {
    "retain_uids",
    "retain_device_identity",
    "retain_institution_identity",
    "retain_long_full_dates",
    "clean_structured_content",
    "clean_graphics",
}


@pytest.fixture(scope="module")
def published():
    return json.loads(PUBLISHED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def idiscore():
    return profile_build.load_idiscore(IDISCORE_ROWS)


@pytest.fixture(scope="module")
def table():
    return load_profile()


def _ours(table):
    return {r.tag: r for r in table.rows}


def test_our_table_has_every_row_of_the_innolitics_copy(published, table):
    ours = _ours(table)
    assert len(published) == 460
    for row in map(profile_build.convert_row, published):
        mine = ours[row["tag"]]
        expected = profile_build.BASIC_CORRECTIONS.get(row["tag"], (None, row["basic"]))[1]
        assert (mine.name, mine.in_std_comp_iod) == (row["name"], row["in_std_comp_iod"])
        assert (mine.basic, dict(mine.options)) == (expected, row["options"]), row["tag"]


def test_our_table_has_every_row_of_the_idiscore_copy(idiscore, table):
    ours = _ours(table)
    assert len(idiscore["rows"]) == table.row_count == len(table.rows) == 623
    differing = set()
    for row in idiscore["rows"]:
        mine = ours[row["tag"]]
        assert mine.basic == row["basic"], row["tag"]
        columns = set(mine.options) | set(row["options"])
        differing |= {c for c in columns if mine.options.get(c) != row["options"].get(c)}
    # The five option cells we kept from the older copy are in columns we do not offer.
    assert differing <= NOT_OFFERED


def test_both_sources_are_recorded(table):
    assert table.source["innolitics"]["commit"] == "0d01bf11dfc1d0b73b6df85bbf6e1764d3c558a3"
    assert table.source["idiscore"] == {
        "package": "idiscore",
        "version": "1.2.0",
        "wheel": "idiscore-1.2.0-py3-none-any.whl",
        "wheel_sha256": "2c0ef6caf00e38eb1d2f12f5f38e8cfa34dba62693e0bff85155e3428900a524",
        "file": "idiscore/_public_dicom.py",
        "sha256": "fb8a5558b9943309dfdc8ac1ef49b9b0526c8b5aae22cad8921806ff66a119ee",
        "scraped": "2024-09-19",
    }


def test_rows_only_the_newer_copy_has_are_named_from_the_dictionary(table, published):
    older = {profile_build.convert_row(r)["tag"] for r in published}
    new = [r for r in table.rows if r.tag not in older]
    assert len(new) == 163
    assert all(r.in_std_comp_iod is None for r in new)
    assert all(r.name == get_entry(r.tag_int)[2] for r in new)


def test_regenerating_from_the_published_copies_reproduces_our_table_exactly(
    published, idiscore, table
):
    regenerated = profile_build.build_profile(
        published, commit=table.source["innolitics"]["commit"], idiscore=idiscore
    )
    ours = profile_build.DATA_PATH.read_text(encoding="utf-8")
    assert profile_build.dump_profile(regenerated) == ours


def test_the_build_script_writes_the_table(tmp_path, capsys):
    out = tmp_path / "profile.json"
    argv = [str(PUBLISHED), "--commit", "abc123", "--output", str(out)]
    profile_build.main([*argv, "--idiscore", str(IDISCORE_ROWS)])
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["source"]["innolitics"]["commit"] == "abc123"
    assert data["source"]["idiscore"]["version"] == "1.2.0"
    assert data["row_count"] == 623
    printed = capsys.readouterr().out
    assert "wrote 623 rows" in printed
    assert "kept ours: (0008,1120) retain_uids: X (newer copy: K)" in printed


def test_the_build_script_still_reads_the_innolitics_copy_alone(tmp_path, capsys):
    out = tmp_path / "profile.json"
    profile_build.main([str(PUBLISHED), "--commit", "abc123", "--output", str(out)])
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["row_count"] == 460
    assert list(data["source"]) == ["innolitics"]
    assert "wrote 460 rows" in capsys.readouterr().out


def test_notes_and_line_breaks_are_dropped_from_names():
    row = {
        "name": "Icon Image Sequence\n\n(see Note 12)",
        "tag": "(0088,0200)",
        "basicProfile": "X",
    }
    assert profile_build.convert_row(row)["name"] == "Icon Image Sequence"


# --- reading idiscore's _public_dicom.py as text ------------------------------------------

# Written for these tests in the layout of idiscore's file; the two top-level statements
# after the docstring would stop an import, so parsing it proves nothing is executed.
SNIPPET = '''"""Rule sets laid out like idiscore's.

scrape date: 2030-01-02
"""

import os

raise SystemExit(os.system("echo executed"))

basic_profile = RawNemaRuleSet(
    name="Basic Application Level Confidentiality Profile",
    code="113100",
    rules=[
        (SingleTag("00100010"), ActionCodes.EMPTY),  # PatientName
        (
            SingleTag("00081030"),
            ActionCodes.REMOVE,
        ),  # StudyDescription
        (RepeatingGroup("60xx3000"), ActionCodes.REMOVE),  # OverlayData
        (PrivateTags(), ActionCodes.REMOVE),  # Private Attributes
        (SingleTag("0040a730"), ActionCodes.REMOVE_OR_EMPTY_OR_UID),  # ContentSequence
    ],
)
limit = 3
settings = dict(verbose=True)
clean_descriptors = RawNemaRuleSet(
    name="Clean Descriptors Option",
    code="113105",
    rules=[(SingleTag("00081030"), ActionCodes.CLEAN)],  # StudyDescription
)
retain_safe_private = RawNemaRuleSet(
    name="Retain Safe Private Option",
    code="113111",
    rules=[(PrivateTags(), ActionCodes.CLEAN)],  # Private Attributes
)
'''


def test_idiscore_rule_sets_are_read_without_running_the_file():
    rows = profile_build.parse_idiscore(SNIPPET)
    assert rows == [
        {
            "tag": "(0008,1030)",
            "keyword": "StudyDescription",
            "basic": "X",
            "options": {"clean_descriptors": "C"},
        },
        {"tag": "(0010,0010)", "keyword": "PatientName", "basic": "Z", "options": {}},
        {"tag": "(0040,A730)", "keyword": "ContentSequence", "basic": "X/Z/U*", "options": {}},
        {"tag": "(60XX,3000)", "keyword": "OverlayData", "basic": "X", "options": {}},
        {
            "tag": "(GGGG,EEEE) where GGGG is odd",
            "keyword": "Private Attributes",
            "basic": "X",
            "options": {"retain_safe_private": "C"},
        },
    ]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("ActionCodes.EMPTY)", "ActionCodes.REPLACE_OR_DUMMY)", "not a known action"),
        ("ActionCodes.EMPTY)", "'Z')", "not a known action"),
        ('code="113105"', 'code="999999"', "unknown method code 999999"),
        ('code="113105"', "code=CODE", "code is not a string literal"),
        ('SingleTag("0040a730")', 'SingleTag("00100010")', "(0010,0010) listed twice"),
        (
            '"00081030"), ActionCodes.CLEAN',
            '"00280010"), ActionCodes.CLEAN',
            "without a Basic rule",
        ),
        ('SingleTag("00100010")', 'SingleTag("0010")', "cannot read the tag of SingleTag"),
        ('SingleTag("00100010")', "Tag(0x00100010)", "cannot read the tag of Tag"),
        ('SingleTag("00100010")', "tags[0]", "expected SingleTag"),
        ("(PrivateTags(), ActionCodes.REMOVE),", "PrivateTags(),", "a rule is not (tag, action)"),
        ("rules=[(PrivateTags(), ActionCodes.CLEAN)]", "rules=RULES", "rules is not a list"),
        ('code="113100"', 'code="113106"', "no Basic profile"),
    ],
)
def test_an_idiscore_file_that_is_not_as_expected_is_refused(old, new, message):
    assert old in SNIPPET
    with pytest.raises(profile_build.IdiscoreFormatError, match=re.escape(message)):
        profile_build.parse_idiscore(SNIPPET.replace(old, new, 1))


def _wheel(path, source, version="9.9"):
    with zipfile.ZipFile(path, "w") as archive:
        metadata = f"Name: idiscore\nVersion: {version}\n"
        archive.writestr(f"idiscore-{version}.dist-info/METADATA", metadata)
        archive.writestr("idiscore/_public_dicom.py", source)
    return path


def test_the_wheel_is_read_and_its_file_fingerprinted(tmp_path):
    wheel = _wheel(tmp_path / "idiscore-9.9-py3-none-any.whl", SNIPPET)
    loaded = profile_build.load_idiscore(wheel)
    assert loaded["source"] == {
        "package": "idiscore",
        "version": "9.9",
        "wheel": wheel.name,
        "wheel_sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
        "file": "idiscore/_public_dicom.py",
        "sha256": hashlib.sha256(SNIPPET.encode()).hexdigest(),
        "scraped": "2030-01-02",
    }
    assert len(loaded["rows"]) == 5
    undated = _wheel(tmp_path / "b.whl", SNIPPET.replace("scrape", ""))
    assert profile_build.load_idiscore(undated)["source"]["scraped"] is None


def test_rows_read_from_the_wheel_can_be_kept_and_read_back(tmp_path, capsys):
    wheel = _wheel(tmp_path / "idiscore-9.9-py3-none-any.whl", SNIPPET)
    rows, out = tmp_path / "rows.json", tmp_path / "profile.json"
    argv = [str(PUBLISHED), "--commit", "abc", "--idiscore", str(wheel)]
    profile_build.main([*argv, "--idiscore-rows", str(rows), "--output", str(out)])
    assert profile_build.load_idiscore(rows) == profile_build.load_idiscore(wheel)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["source"]["idiscore"]["version"] == "9.9"
    assert data["row_count"] == 460  # every row of the snippet is in the innolitics copy
    assert "wrote 460 rows" in capsys.readouterr().out


def test_merging_keeps_our_rows_corrects_the_established_ones_and_adds_new_ones():
    base = [
        {
            "tag": "(0010,0020)",
            "name": "Patient ID",
            "in_std_comp_iod": True,
            "basic": "Z",
            "options": {},
        },
        {
            "tag": "(3010,0077)",
            "name": "Treatment Site",
            "in_std_comp_iod": True,
            "basic": "X",
            "options": {},
        },
        {
            "tag": "(0008,1030)",
            "name": "Study Description",
            "in_std_comp_iod": True,
            "basic": "X",
            "options": {"clean_descriptors": "C"},
        },
    ]
    newer = [
        {"tag": "(0010,0020)", "keyword": "PatientID", "basic": "Z/D", "options": {}},
        {"tag": "(3010,0077)", "keyword": "TreatmentSite", "basic": "X/D", "options": {}},
        {"tag": "(0008,1030)", "keyword": "StudyDescription", "basic": "X", "options": {}},
        {
            "tag": "(0008,0055)",
            "keyword": "StationAETitle",
            "basic": "X",
            "options": {"retain_device_identity": "C"},
        },
    ]
    rows, kept = profile_build.merge_rows(base, newer)
    by_tag = {r["tag"]: r for r in rows}
    assert by_tag["(0010,0020)"]["basic"] == "Z/D"  # a listed correction
    assert by_tag["(3010,0077)"]["basic"] == "X"  # the correction is from D only: kept
    assert by_tag["(0008,1030)"]["options"] == {"clean_descriptors": "C"}
    assert by_tag["(0008,0055)"] == {
        "tag": "(0008,0055)",
        "name": "Station AE Title",
        "in_std_comp_iod": None,
        "basic": "X",
        "options": {"retain_device_identity": "C"},
    }
    assert kept == [
        "(3010,0077) basic: X (newer copy: X/D)",
        "(0008,1030) clean_descriptors: C (newer copy: -)",
    ]


@pytest.mark.parametrize(
    ("tag", "keyword", "expected"),
    [
        ("(0008,0055)", "Unknown", "Station AE Title"),
        ("(0009,0010)", "SomePrivateThing", "SomePrivateThing"),
        ("(60XX,3000)", "OverlayData", "OverlayData"),
        ("(60XX,3000)", "", "(60XX,3000)"),
    ],
)
def test_new_rows_are_named_from_the_dictionary_else_by_keyword(tag, keyword, expected):
    assert profile_build.name_for(tag, keyword) == expected


# --- the table ------------------------------------------------------------------------------


def test_every_row_has_a_known_action_and_ten_option_columns(table):
    columns = set(profile_build.OPTION_COLUMNS.values())
    assert len(columns) == 10
    for row in table.rows:
        assert row.basic in ACTIONS, row.tag
        assert set(row.options) <= columns, row.tag
        assert set(row.options.values()) <= {"K", "C", "X"}, row.tag


def _option_sets():
    for dates, descriptors, characteristics, private in itertools.product(
        (True, False),
        (True, False),
        (frozenset(), DEFAULT_PATIENT_CHARACTERISTICS, PATIENT_CHARACTERISTICS),
        (True, False),
    ):
        yield Options(
            retain_longitudinal_modified_dates=dates,
            clean_descriptors=descriptors,
            retain_patient_characteristics=characteristics,
            retain_safe_private=private,
        )


def test_every_row_resolves_to_an_action_the_engine_applies_under_every_option_set(table):
    for options in _option_sets():
        for row in table.rows:
            keyword = keyword_for_tag(row.tag_int) if row.tag_int is not None else ""
            assert resolve_action(row, keyword, options) in ENGINE_ACTIONS, (row.tag, options)


def test_every_basic_action_code_resolves_to_an_action_the_engine_applies(table):
    for code in {row.basic for row in table.rows}:
        assert code in ACTIONS
        assert resolve_basic(code, "") in ENGINE_ACTIONS, code


def _new_rows_image():
    ds = make_image()
    # Attributes only the 2024 table lists; each value would survive the safety nets.
    ds.IssuerOfClinicalTrialProtocolID = "TRIAL REGISTRY"  # X
    ds.InterpretationID = "INT-0042"  # X (retired)
    ds.ROICreatorSequence = Sequence([Dataset()])  # X
    ds.ROICreatorSequence[0].CodeMeaning = "contouring"
    ds.ModifyingSystem = "WORKSTATION 3"  # D
    ds.DestinationAE = "ARCHIVE2"  # D
    ds.SourceOfPreviousValues = "PACS MIGRATION"  # Z
    ds.PyramidUID = uid(9, 1)  # U
    return ds


def test_the_engine_applies_rows_only_the_newer_copy_lists():
    ds = _new_rows_image()
    original_pyramid = ds.PyramidUID
    out, report = deidentify_dataset(ds, case_key="case-new-rows", secret="test-secret")
    actions = report.to_dict()["actions"]
    for keyword in ("IssuerOfClinicalTrialProtocolID", "InterpretationID", "ROICreatorSequence"):
        assert keyword not in out
        assert actions[keyword] == "X"
    assert (out.ModifyingSystem, out.DestinationAE) == (DUMMY_TEXT, DUMMY_TEXT)
    assert actions["ModifyingSystem"] == actions["DestinationAE"] == "D"
    assert out.SourceOfPreviousValues == ""
    assert actions["SourceOfPreviousValues"] == "Z"
    mapper = UIDMapper.for_case(secret="test-secret", case_key="case-new-rows")
    assert out.PyramidUID == mapper.map_value(original_pyramid) != original_pyramid
    assert actions["PyramidUID"] == "U"


def test_new_date_rows_follow_the_dates_option():
    ds = make_image()
    ds.ReviewDate = "20240115"  # Z, Retain Modified Dates: C
    ds.DecayCorrectionDateTime = "20240115101500"  # D, Retain Modified Dates: C
    shifted, report = deidentify_dataset(ds.copy(), case_key="c", secret="s")
    assert shifted.ReviewDate == shifted.StudyDate != "20240115"
    assert report.to_dict()["actions"]["ReviewDate"] == "C:shifted"
    options = Options(retain_longitudinal_modified_dates=False)
    removed, report = deidentify_dataset(ds, case_key="c", secret="s", options=options)
    assert removed.ReviewDate == ""
    assert removed.DecayCorrectionDateTime == "19000101000000"
    assert report.to_dict()["actions"]["DecayCorrectionDateTime"] == "D"


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
        ("D", "EncapsulatedDocument", "X"),
    ],
)
def test_compound_actions_resolve_to_the_safest_valid_choice(code, keyword, expected):
    assert resolve_basic(code, keyword) == expected


def _row(table, keyword_tag):
    return table.by_tag[keyword_tag]


def test_options_override_the_basic_action(table):
    default = Options(clean_descriptors=True)
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
    assert [c for c, _ in Options().method_codes()] == ["113100", "113107", "113108"]
    cleaned = Options(clean_descriptors=True, clean_structured_content=True)
    assert [c for c, _ in cleaned.method_codes()] == [
        "113100",
        "113107",
        "113104",
        "113105",
        "113108",
    ]
    basic_only = Options(
        retain_longitudinal_modified_dates=False,
        clean_descriptors=False,
        retain_patient_characteristics=frozenset(),
        retain_safe_private=True,
    )
    assert [c for c, _ in basic_only.method_codes()] == ["113100", "113111"]
