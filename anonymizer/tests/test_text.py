import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anonymizer.engine.text import KnownIdentifiers, ScrubResult, name_tokens, scrub_text

KNOWN = KnownIdentifiers.build(
    person_names=["QUILLFEATHER^ZANDRA^ORLAITH", "White^Peter", "Haverkampf^Dovrin^^Dr"],
    ids=["ZQ4471923", "AC-7712-0934", "12"],
    birth_dates=[dt.date(1947, 3, 12)],
    places=["Larkspur Vale Infirmary"],
    phones=["555-014-2397"],
)


def scrub(text, **kwargs):
    kwargs.setdefault("known", KNOWN)
    return scrub_text(text, **kwargs).text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # names known for the case, in any case and order, joined into one mark
        ("Zandra Quillfeather fell", "[NAME] fell"),
        ("QUILLFEATHER, ZANDRA O. fell", "[NAME] fell"),
        ("seen by dovrin haverkampf", "seen by [NAME]"),
        ("SMITH_Quillfeather", "SMITH_[NAME]"),
        # a known name that is a common word counts only where it reads as a name
        ("White matter disease", "White matter disease"),
        ("white matter disease", "white matter disease"),
        ("Peter White agreed", "[NAME] agreed"),
        ("Mr White agreed", "Mr [NAME] agreed"),
        ("WHITE", "[NAME]"),
        # name patterns
        ("Discussed with Dr. Alba Renquist.", "Discussed with Dr. [NAME]."),
        ("Dr Renquist and Mrs. O'Hanlon", "Dr [NAME] and Mrs. [NAME]"),
        ("DR RENQUIST REVIEWED THE STUDY", "DR [NAME] REVIEWED THE STUDY"),
        ("MR. RENQUIST", "MR. [NAME]"),
        ("Alba Renquist, MD agrees", "[NAME], MD agrees"),
        ("Alba Renquist, DO agrees", "[NAME], DO agrees"),
        ("Dictated by: Alba Renquist", "Dictated by: [NAME]"),
        ("signed by Alba Renquist", "signed by [NAME]"),
        ("Attending: J. McAllister", "Attending: [NAME]"),
        ("Name: RENQUIST^ALBA", "Name: [NAME]"),
        ("prior RENQUIST^ALBA^^ study", "prior [NAME] study"),
        # identifiers
        ("MRN: 88123456 and acc# A-99812", "MRN: [ID] and acc# [ID]"),
        ("mrn zq4471923, AC77120934 and AC-7712-0934", "mrn [ID], [ID] and [ID]"),
        ("SSN 123-45-6789", "SSN [ID]"),
        ("order 7712093412", "order [ID]"),
        ("ID: 7", "ID: [ID]"),
        # contact details and places
        ("call (555) 014 2397 or 555.014.2397", "call [PHONE] or [PHONE]"),
        ("pager 4-1234, tel: +44 20 7946 0958", "pager [PHONE], tel: [PHONE]"),
        ("Mail a.renquist@example.org now", "Mail [EMAIL] now"),
        ("Lives at 41 Thistledown Road, Emberfield, QX 10442.", "Lives at [ADDRESS]."),
        ("PO Box 1234", "[ADDRESS]"),
        ("Emberfield, QX 10442", "[ADDRESS]"),
        ("transferred from larkspur  vale infirmary", "transferred from [ADDRESS]"),
        # ages over 89 (HIPAA), not younger ones
        ("92-year-old woman", "[AGE]-year-old woman"),
        ("a 101 yo man, aged 95, 090Y", "a [AGE] yo man, aged [AGE], [AGE]Y"),
        ("45 yo man, aged 89", "45 yo man, aged 89"),
        # dates are replaced when there is no offset
        ("seen 3/14/2024 and 2024-03-15", "seen [DATE] and [DATE]"),
        ("on 14 March 2024, March 15th, 2024 and 20240316", "on [DATE], [DATE] and [DATE]"),
        ("in January 2024, follow up May 3.", "in [DATE], follow up [DATE]."),
        ("DOB 12.03.1947", "DOB [DATE]"),
        # nothing clinical is touched
        ("C5/6 disc; BP 120/80; 3/4 of the lesion", "C5/6 disc; BP 120/80; 3/4 of the lesion"),
        (
            "3.2 x 2.1 cm, T2/FLAIR, 1.5 T MR Brain, MS lesions",
            "3.2 x 2.1 cm, T2/FLAIR, 1.5 T MR Brain, MS lesions",
        ),
        ("may 2024 change", "may 2024 change"),
        ("Version 1.2.3 in 2019, 13/45/2020", "Version 1.2.3 in 2019, 13/45/2020"),
        # impossible dates and too few digits are not identifiers
        (
            "2024-02-30, 20240231, 2/30/2024, 30.02.2024",
            "2024-02-30, 20240231, 2/30/2024, 30.02.2024",
        ),
        ("February 30, 2024 or 30 February 2024", "February 30, 2024 or 30 [DATE]"),
        ("Mar 45 and 45 March", "Mar 45 and 45 March"),
        ("dial +1 2 3", "dial +1 2 3"),
        # initials next to a known name go with it
        ("Z. Quillfeather and Peter White", "[NAME] and [NAME]"),
        ("White Peter", "[NAME]"),
        ("", ""),
    ],
)
def test_scrubber(text, expected):
    assert scrub(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("seen 3/14/2024", "seen 3/04/2024"),
        ("seen 14/03/2024", "seen 04/03/2024"),
        ("seen 1/15/24", "seen 1/05/24"),
        ("seen 2024-03-14", "seen 2024-03-04"),
        ("seen 2024/3/14", "seen 2024/3/04"),
        ("seen 20240314.", "seen 20240304."),
        ("seen 14.03.2024.", "seen 04.03.2024."),
        ("seen March 14, 2024", "seen March 4, 2024"),
        ("seen 14 MAR 2024", "seen 4 MAR 2024"),
        ("seen January 2024", "seen January 2024"),
        ("seen Jan 5th, 2024", "seen Dec 26, 2023"),
        ("DOB 03/12/1947; born 1947-03-12", "DOB [DATE]; born [DATE]"),
        ("prior 03/12/1947", "prior [DATE]"),
        ("seen March 14", "seen [DATE]"),
    ],
)
def test_dates_are_shifted_with_the_case_offset(text, expected):
    assert scrub(text, date_offset_days=-10) == expected


def test_two_digit_years_are_read_as_recent_or_last_century():
    assert scrub("seen 1/15/99", date_offset_days=-10) == "seen 1/05/99"


def test_replacements_list_kind_and_span_but_not_the_text():
    text = "Zandra Quillfeather seen 2024-03-15, MRN ZQ4471923"
    result = scrub_text(text, known=KNOWN, date_offset_days=-10)
    assert isinstance(result, ScrubResult)
    assert result.changed
    assert [(r.kind, text[r.start : r.end]) for r in result.replacements] == [
        ("NAME", "Zandra Quillfeather"),
        ("DATE", "2024-03-15"),
        ("ID", "ZQ4471923"),
    ]
    assert result.summary() == [
        {"kind": "NAME", "span": [0, 19], "shifted": False},
        {"kind": "DATE", "span": [25, 35], "shifted": True},
        {"kind": "ID", "span": [41, 50], "shifted": False},
    ]
    assert "Quillfeather" not in repr(result.summary())
    assert result.replacements[0].span == (0, 19)


def test_a_roster_adds_names():
    assert scrub_text(
        "Consulted Seraphine Lindqvorn", roster=["Dr. Seraphine Lindqvorn, MD"]
    ).text == ("Consulted [NAME]")


def test_known_identifiers_only_mode_leaves_patterns_alone():
    text = "Quillfeather 2024-03-15 555-123-4567"
    assert scrub(text, patterns=False) == "[NAME] 2024-03-15 555-123-4567"


def test_unchanged_text_reports_no_replacements():
    result = scrub_text("No acute intracranial abnormality.")
    assert not result.changed
    assert result.replacements == ()


def test_name_tokens_drop_titles_initials_and_empty_parts():
    assert name_tokens("Haverkampf^Dovrin^^Dr^Jr") == {"Haverkampf", "Dovrin"}
    assert name_tokens("Dr. Anne-Marie O'Neil, MD") == {
        "Anne-Marie",
        "Anne",
        "Marie",
        "O'Neil",
        "Neil",
    }
    assert name_tokens("Yamada^Tarou=山田^太郎") >= {"Yamada", "Tarou", "山田", "太郎"}
    assert name_tokens("Größenwahn^Jörg") >= {"Größenwahn", "GRÖSSENWAHN", "Jörg"}


def test_name_tokens_add_the_spellings_without_accents():
    assert name_tokens("MÜLLER^JÜRGEN") >= {"MÜLLER", "MUELLER", "MULLER", "JURGEN"}
    assert name_tokens("Nuñez") >= {"Nunez"}


def test_known_identifiers_drop_short_ids_and_merge():
    known = KnownIdentifiers.build(ids=["12", "1234"], places=["NY"], phones=["911"])
    assert known.ids == {"1234"}
    assert not known.places
    assert not known.phones
    merged = known.merge(KnownIdentifiers.build(person_names=["Renquist^Alba"]))
    assert merged.names == {"Renquist", "Alba"}
    assert merged.ids == {"1234"}
    assert merged
    assert not KnownIdentifiers()


# --- properties -------------------------------------------------------------------------

CLINICAL = [
    "No acute intracranial hemorrhage.",
    "Chronic small vessel ischemic change.",
    "Ventricles are normal in size.",
    "Left MCA territory infarct, 2.3 x 1.1 cm.",
    "Compared with prior CT head.",
    "Impression: stable appearance.",
    "T2/FLAIR hyperintensity at C5/6.",
    "Recommend MRI brain with contrast.",
    "White matter changes, grade 2 of 3.",
]
surname = st.from_regex(
    r"[BDFGKLMNPRSTVZ][aeiou][bdfgklmnprstvz][aeiou][bdfgklmnprstvz]{2}[aeiou]n", fullmatch=True
)
mrn = st.from_regex(r"[A-Z]{2}[0-9]{7}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(CLINICAL), min_size=1, max_size=6))
def test_clinical_text_without_identifiers_is_never_changed(sentences):
    text = " ".join(sentences)
    assert scrub_text(text, known=KNOWN, date_offset_days=-30).text == text


@settings(max_examples=60, deadline=None)
@given(
    family=surname,
    given_name=surname,
    patient_id=mrn,
    sentences=st.lists(st.sampled_from(CLINICAL), min_size=2, max_size=5),
    positions=st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=4),
    style=st.sampled_from(["{g} {f}", "{f}, {g}", "{F}^{G}", "Mr. {f}", "{f}'s", "({f})", "{F}"]),
)
def test_planted_identifiers_never_survive_and_clinical_text_stays(
    family, given_name, patient_id, sentences, positions, style
):
    known = KnownIdentifiers.build(person_names=[f"{family}^{given_name}"], ids=[patient_id])
    name = style.format(f=family, g=given_name, F=family.upper(), G=given_name.upper())
    pieces = list(sentences)
    for pos in positions:
        pieces.insert(min(pos, len(pieces)), f"{name} ({patient_id}).")
    text = " ".join(pieces)
    result = scrub_text(text, known=known)
    lowered = result.text.lower()
    assert family.lower() not in lowered
    assert given_name.lower() not in lowered
    assert patient_id.lower() not in lowered
    for sentence in sentences:
        assert sentence in result.text
    # every replacement is marked where it was
    assert len(re.findall(r"\[(?:NAME|ID)\]", result.text)) == len(result.replacements)
