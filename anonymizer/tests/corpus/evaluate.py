"""Recall, clinical phrases kept and precision of the text engine on one corpus part.

    python -m anonymizer.tests.corpus.evaluate dev|eval [--misses]

An identifier counts as caught when every letter and digit of it is inside a replacement
or a flag; a clinical phrase is kept when no replacement touches it; a flag is a false
alarm when it overlaps no planted identifier.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field

from anonymizer.engine.text import KnownIdentifiers
from anonymizer.engine.textcheck import check_text

from . import KINDS, Document, load


@dataclass
class Figures:
    planted: Counter = field(default_factory=Counter)
    caught: Counter = field(default_factory=Counter)
    phrases: int = 0
    phrases_kept: int = 0
    flags: int = 0
    false_flags: int = 0
    misses: list[tuple[str, str, str]] = field(default_factory=list)
    broken: list[tuple[str, str]] = field(default_factory=list)
    false_alarms: list[tuple[str, str]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return sum(self.caught.values()) / max(1, sum(self.planted.values()))

    @property
    def phrases_kept_share(self) -> float:
        return self.phrases_kept / max(1, self.phrases)

    @property
    def precision(self) -> float:
        return 1 - self.false_flags / max(1, self.flags)


def evaluate_document(doc: Document, figures: Figures) -> None:
    known = KnownIdentifiers.build(person_names=doc.known_names, ids=doc.known_ids)
    check = check_text(doc.text, known=known)
    covered = [False] * len(doc.text)
    for r in check.replacements:
        for i in range(r.start, r.end):
            covered[i] = True
    for flag in check.flags:
        start = check.original_offset(flag.start)
        end = check.original_offset(flag.end - 1) + 1
        for i in range(start, min(end, len(doc.text))):
            covered[i] = True
        figures.flags += 1
        if not any(s.start < end and start < s.end for s in doc.identifiers):
            figures.false_flags += 1
            figures.false_alarms.append((doc.source, doc.text[start:end]))
    for span in doc.identifiers:
        figures.planted[span.kind] += 1
        value = doc.text[span.start : span.end]
        if all(covered[i] for i in range(span.start, span.end) if doc.text[i].isalnum()):
            figures.caught[span.kind] += 1
        else:
            figures.misses.append((doc.source, span.kind, value))
    for phrase in doc.phrases:
        figures.phrases += 1
        if any(r.start < phrase.end and phrase.start < r.end for r in check.replacements):
            figures.broken.append((doc.source, doc.text[phrase.start : phrase.end]))
        else:
            figures.phrases_kept += 1


def evaluate(part: str) -> Figures:
    figures = Figures()
    for doc in load(part):
        evaluate_document(doc, figures)
    return figures


def table(figures: Figures) -> str:
    rows = ["| kind | planted | replaced or flagged | recall |", "| --- | ---: | ---: | ---: |"]
    for kind in KINDS:
        n, c = figures.planted[kind], figures.caught[kind]
        if n:
            rows.append(f"| {kind} | {n} | {c} | {100 * c / n:.1f} % |")
    total, caught = sum(figures.planted.values()), sum(figures.caught.values())
    rows.append(f"| all | {total} | {caught} | {100 * figures.recall:.1f} % |")
    rows.append("")
    rows.append(
        f"Clinical phrases kept: {figures.phrases_kept} of {figures.phrases} "
        f"({100 * figures.phrases_kept_share:.1f} %). Flags: {figures.flags}, of which "
        f"{figures.false_flags} on no identifier (precision {100 * figures.precision:.1f} %)."
    )
    return "\n".join(rows)


if __name__ == "__main__":
    part = sys.argv[1] if len(sys.argv) > 1 else "dev"
    result = evaluate(part)
    print(table(result))
    if "--misses" in sys.argv:
        for item in result.misses:
            print("MISS", *item)
        for item in result.broken:
            print("BROKEN", *item)
        for item in result.false_alarms:
            print("FALSE", *item)
