from collections import Counter

from anonymizer.tests.corpus import KINDS, load, parse_document


def test_markup_gives_text_and_offsets():
    doc = parse_document("@known names: DOE^JANE\nSeen by [[NAME:Jane Doe]] for {{BI-RADS 4}}.")
    assert doc.text == "Seen by Jane Doe for BI-RADS 4."
    (name,) = doc.identifiers
    assert (name.kind, doc.text[name.start : name.end]) == ("NAME", "Jane Doe")
    (phrase,) = doc.phrases
    assert doc.text[phrase.start : phrase.end] == "BI-RADS 4"
    assert doc.known_names == ["DOE^JANE"]


def test_corpus_holds_over_300_identifiers_of_every_kind():
    dev, held_out = load("dev"), load("eval")
    kinds = Counter(s.kind for doc in dev + held_out for s in doc.identifiers)
    assert sum(kinds.values()) >= 300
    assert set(kinds) == set(KINDS)
    assert sum(len(doc.phrases) for doc in held_out) >= 100


def test_eval_part_has_no_document_of_the_dev_part():
    dev_texts = {doc.text for doc in load("dev")}
    assert not dev_texts & {doc.text for doc in load("eval")}
