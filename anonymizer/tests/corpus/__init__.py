"""The labelled free-text corpus: synthetic radiology notes with planted identifiers.

Every name, number, date and place in these notes is invented. Each file holds documents
separated by a line ``---``. In a document:

- ``[[KIND:text]]`` is a planted identifier of KIND (``NAME``, ``DATE``, ``ID``, ``PHONE``,
  ``EMAIL``, ``URL``, ``IP``, ``UID``, ``AGE``, ``PLACE``);
- ``{{text}}`` is a clinical phrase that must come out of the engine unchanged;
- ``@known names: A | B`` and ``@known ids: X | Y`` lines give what the case already
  knows (its header names and the roster; its IDs), as the scrubber would be told.

``dev/`` is the part looked at while tuning the detector; ``eval/`` is never tuned on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
KINDS = ("NAME", "DATE", "ID", "PHONE", "EMAIL", "URL", "IP", "UID", "AGE", "PLACE")

_MARK = re.compile(r"\[\[(?P<kind>[A-Z]+):(?P<ident>.+?)\]\]|\{\{(?P<phrase>.+?)\}\}")


@dataclass(frozen=True)
class Span:
    kind: str
    start: int
    end: int


@dataclass
class Document:
    source: str
    text: str
    identifiers: list[Span] = field(default_factory=list)
    phrases: list[Span] = field(default_factory=list)
    known_names: list[str] = field(default_factory=list)
    known_ids: list[str] = field(default_factory=list)


def parse_document(raw: str, *, source: str = "") -> Document:
    """One document of the markup: its plain text and the offsets of what is marked."""
    doc = Document(source=source, text="")
    lines = []
    for line in raw.strip("\n").split("\n"):
        if line.startswith("@known names:"):
            doc.known_names += [v.strip() for v in line.split(":", 1)[1].split("|") if v.strip()]
        elif line.startswith("@known ids:"):
            doc.known_ids += [v.strip() for v in line.split(":", 1)[1].split("|") if v.strip()]
        else:
            lines.append(line)
    marked = "\n".join(lines)
    pieces: list[str] = []
    length = 0
    pos = 0
    for match in _MARK.finditer(marked):
        before = marked[pos : match.start()]
        pieces.append(before)
        length += len(before)
        value = match["ident"] if match["kind"] else match["phrase"]
        if match["kind"] and match["kind"] not in KINDS:
            raise ValueError(f"{source}: unknown kind {match['kind']}")
        span = Span(match["kind"] or "PHRASE", length, length + len(value))
        (doc.identifiers if match["kind"] else doc.phrases).append(span)
        pieces.append(value)
        length += len(value)
        pos = match.end()
    pieces.append(marked[pos:])
    doc.text = "".join(pieces)
    if "[[" in doc.text or "{{" in doc.text:
        raise ValueError(f"{source}: unbalanced markup")
    return doc


def load(part: str) -> list[Document]:
    """The documents of one part, ``"dev"`` or ``"eval"``."""
    documents = []
    for path in sorted((HERE / part).glob("*.txt")):
        chunks = re.split(r"^---$", path.read_text(encoding="utf-8"), flags=re.M)
        for n, chunk in enumerate(chunks, start=1):
            if chunk.strip():
                documents.append(parse_document(chunk, source=f"{part}/{path.name}#{n}"))
    return documents
