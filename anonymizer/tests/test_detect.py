"""The recall-first detector, and the scrubber's answers to the free-text findings."""

import pytest

from anonymizer.engine.detect import detect
from anonymizer.engine.text import KnownIdentifiers, scrub_text
from anonymizer.engine.textcheck import check_text
from anonymizer.engine.vocabulary import word_list_installed
from anonymizer.tests.corpus.evaluate import evaluate


def flagged(text: str) -> list[str]:
    return [text[f.start : f.end] for f in detect(text)]


def survives(check, value: str) -> bool:
    """Whether value is still readable: in the scrubbed text and flagged nowhere."""
    at = check.text.find(value)
    if at < 0:
        return False
    return not any(f.start <= at and at + len(value) <= f.end for f in check.flags)


def test_the_word_list_is_installed():
    assert word_list_installed(), "apt-get install wamerican"


@pytest.mark.parametrize(
    "text, name",
    [
        ("Result called Grace Hall at the desk.", "Grace Hall"),
        ("Discussed with his wife Elinor about the biopsy.", "Elinor"),
        ("Seen by Dr. Özdemir in clinic.", "Özdemir"),
        ("Read by Dr Élise Martin overnight.", "Élise Martin"),
        ("The reader was Dr. Olivia Nuñez.", "Olivia Nuñez"),
        ("Patient Jürgen Mueller, follow-up.", "Jürgen Mueller"),
        ("Bartholomew Quist presented the case.", "Bartholomew Quist"),
    ],
)
def test_names_outside_any_roster_are_replaced_or_flagged(text, name):
    assert not survives(check_text(text), name)


def test_names_in_scripts_without_spaces_are_flagged():
    assert "山田太郎" in flagged("症例: 山田太郎様, 93歳.")
    assert any("张伟" in span for span in flagged("患者张伟, 入院。"))


def test_a_known_name_without_spaces_is_replaced():
    known = KnownIdentifiers.build(person_names=["YAMADA^TARO=山田^太郎"])
    assert scrub_text("山田太郎様の症例", known=known).text == "[NAME]様の症例"


def test_a_patient_named_with_common_words_is_replaced_when_capitalised():
    known = KnownIdentifiers.build(person_names=["GREEN^HOLLY"])
    assert scrub_text("History: Holly Green presented.", known=known).text == (
        "History: [NAME] presented."
    )
    assert scrub_text("holly green leaves", known=known).text == "holly green leaves"


def test_a_transliterated_known_name_is_replaced():
    known = KnownIdentifiers.build(person_names=["MÜLLER^JÜRGEN"])
    assert scrub_text("Herr Mueller und Jurgen", known=known).text == "Herr [NAME] und [NAME]"


def test_a_title_before_an_accented_name_replaces_the_whole_name():
    assert scrub_text("Seen by Dr. Olivia Nuñez.").text == "Seen by Dr. [NAME]."
    assert scrub_text("Dr Élise Martin read it.").text == "Dr [NAME] read it."


def test_the_rest_of_a_half_replaced_word_is_flagged():
    assert flagged("Dr. [NAME]ñez and [ID]-7") == ["ñez", "-7"]


@pytest.mark.parametrize(
    "date", ["14-Mar-2021", "14MAR2021", "2021.03.14", "Mar-14-2021", "2021年3月14日", "3/14"]
)
def test_dates_in_common_forms_are_flagged(date):
    assert flagged(f"Seen on {date} in clinic.") == [date]


def test_age_at_the_end_of_a_sentence_is_replaced():
    assert scrub_text("Age 95.").text == "Age [AGE]."


@pytest.mark.parametrize(
    "text", ["ninety-two years", "aged 97", "quatre-vingt-onze ans", "doksan iki"]
)
def test_ages_of_90_and_over_are_flagged_in_words_and_digits(text):
    assert flagged(f"Patient, {text}, fell.")


def test_uids_ips_urls_and_emails_are_flagged():
    text = "UID 1.2.840.113619.2.55.3 on 10.42.7.19, see www.pacs.example.org or a.b@example.org"
    kinds = {f.kind for f in detect(text)}
    assert {"UID", "IP", "URL", "EMAIL"} <= kinds


@pytest.mark.parametrize(
    "text",
    [
        "Acute subdural hematoma, 9 mm, with 5 mm of midline shift.",
        "BI-RADS 4 calcifications; Lung-RADS 4B; Fazekas grade 2.",
        "T2/FLAIR hyperintensity at C5-C6; CA 19-9 was 412 U/mL.",
        "Hodgkin and non-Hodgkin lymphoma; Crohn disease; Monteggia fracture type I.",
        "Mass of 3.1 x 2.2 cm; 100 mL iohexol; gadobutrol 0.1 mmol/kg.",
    ],
)
def test_clinical_text_is_not_flagged(text):
    assert flagged(text) == []


def test_flags_are_kinds_and_offsets_never_text():
    (flag,) = detect("Seen by Dr. Quist.")
    assert flag.as_dict() == {"kind": "NAME", "start": 12, "end": 17}


@pytest.mark.parametrize("part", ["eval", "dev"])
def test_every_planted_identifier_is_replaced_or_flagged(part):
    figures = evaluate(part)
    assert figures.misses == []
    assert figures.recall == 1.0
    assert figures.phrases_kept_share >= 0.95
