"""The one gate for text that leaves a champion's hands: scrub, flag, release one by one.

Every text that reaches a conference screen, a deck, an e-mail, an .ics file or a leader's
report goes through `gated_text` (or `texts_gate` for a page that shows the flags): the
scrubber replaces what it knows, the detector flags what is left, and each flagged span
stays replaced by its marker (``[NAME]``, ``[DATE]`` …) until a champion releases it on
the review page ("this is not PHI") or replaces it in the stored text. Releases and
replacements are audited with kinds and offsets, never the words.

Apps that own texts register a `TextSource` (what a champion may review, its fields, how a
replacement is saved); the review page (`anonymizer:text-review`) is the same for all.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import models, transaction
from django.http import HttpRequest

from anonymizer.engine.text import KnownIdentifiers
from anonymizer.engine.textcheck import TextCheck, check_text
from anonymizer.models import TextRelease
from anonymizer.services import anonymizer_secret
from peerlearning.lib.audit import audit_record
from peerlearning.models import User


class SpanGone(Exception):
    """The span is no longer flagged in that text (it was edited meanwhile)."""


@dataclass(frozen=True)
class GateContext:
    """What the scrubber knows for a text: the case's identifiers, the roster's names."""

    known: KnownIdentifiers | None = None
    roster: tuple[str, ...] = ()
    # False for text whose dates were shifted already: they are left to the detector.
    dates: bool = True

    def check(self, text: str) -> TextCheck:
        return check_text(text or "", known=self.known, roster=self.roster, dates=self.dates)


NO_CONTEXT = GateContext()


def roster_context() -> GateContext:
    """For a program's own texts: the roster's names are replaced wherever they appear."""
    from peerlearning.roster import roster_names

    return GateContext(roster=tuple(roster_names()))


def field_key(obj: models.Model, name: str) -> str:
    return f"{obj._meta.label_lower}:{obj.pk}:{name}"


@dataclass(frozen=True)
class GateSpan:
    start: int
    end: int
    kind: str
    digest: str
    released_by: str = ""
    released_at: datetime | None = None

    @property
    def released(self) -> bool:
        return bool(self.released_by)


@dataclass(frozen=True)
class GatedText:
    field_key: str
    label: str
    check: TextCheck
    spans: tuple[GateSpan, ...]

    @property
    def text(self) -> str:
        """The scrubbed text, flags still in it (for the review page only)."""
        return self.check.text

    @property
    def stale(self) -> bool:
        """Whether the scrubber still replaces something in the stored text."""
        return bool(self.check.replacements)

    @property
    def unreleased(self) -> list[GateSpan]:
        return [s for s in self.spans if not s.released]

    @property
    def released(self) -> list[GateSpan]:
        return [s for s in self.spans if s.released]

    @property
    def shown(self) -> str:
        """What may leave the champion's hands: unreleased spans replaced by their marker."""
        text = self.check.text
        for span in reversed(self.unreleased):
            text = f"{text[: span.start]}[{span.kind}]{text[span.end :]}"
        return text

    def segments(self) -> list[tuple[str, GateSpan | None]]:
        """The scrubbed text cut at the spans, for highlighting."""
        pieces: list[tuple[str, GateSpan | None]] = []
        pos = 0
        for span in self.spans:
            pieces.append((self.check.text[pos : span.start], None))
            pieces.append((self.check.text[span.start : span.end], span))
            pos = span.end
        pieces.append((self.check.text[pos:], None))
        return [p for p in pieces if p[0]]


def _digest(key: str, words: str) -> str:
    secret = anonymizer_secret().encode()
    return hmac.new(secret, f"{key}\0{words}".encode(), hashlib.sha256).hexdigest()


def texts_gate(
    *, items: Iterable[tuple[str, str, str]], context: GateContext = NO_CONTEXT
) -> list[GatedText]:
    """Each (field key, label, text) scrubbed and flagged, with the releases made so far."""
    checks = [(key, label, context.check(text)) for key, label, text in items]
    keys = {key for key, _, check in checks if check.flags}
    releases: dict[tuple[str, str], TextRelease] = {}
    if keys:
        for release in TextRelease.objects.filter(field_key__in=keys).select_related("released_by"):
            releases[(release.field_key, release.span_digest)] = release
    gated = []
    for key, label, check in checks:
        spans = []
        for flag in check.flags:
            digest = _digest(key, check.text[flag.start : flag.end])
            release = releases.get((key, digest))
            spans.append(
                GateSpan(
                    flag.start,
                    flag.end,
                    flag.kind,
                    digest,
                    released_by=release.released_by.display_name if release else "",
                    released_at=release.released_at if release else None,
                )
            )
        gated.append(GatedText(key, label, check, tuple(spans)))
    return gated


def gated_text(text: str, *, key: str, context: GateContext = NO_CONTEXT) -> str:
    """The text as it may be shown, printed or sent: scrubbed, unreleased flags replaced."""
    if not text:
        return text or ""
    (gated,) = texts_gate(items=[(key, "", text)], context=context)
    return gated.shown


def gated_field(obj: models.Model, name: str, *, context: GateContext | None = None) -> str:
    """One field of a model as it may leave the champion's hands (the roster's context)."""
    text = getattr(obj, name)
    if not text:
        return text or ""
    return gated_text(text, key=field_key(obj, name), context=context or roster_context())


@dataclass(frozen=True)
class ReleaseSummary:
    """What a page says about its texts: "checked by rules: N spans released by …"."""

    released: int = 0
    unreleased: int = 0
    released_by: tuple[str, ...] = ()

    @classmethod
    def of(cls, gated: Iterable[GatedText]) -> ReleaseSummary:
        gated = list(gated)
        names = sorted({s.released_by for g in gated for s in g.released})
        return cls(
            released=sum(len(g.released) for g in gated),
            unreleased=sum(len(g.unreleased) for g in gated),
            released_by=tuple(names),
        )

    @property
    def sentence(self) -> str:
        if self.unreleased:
            return (
                f"Checked by rules: {self.unreleased} flagged span"
                f"{'s' if self.unreleased != 1 else ''} wait for a champion's decision"
            )
        if not self.released:
            return "Checked by rules: nothing flagged"
        spans = "span" if self.released == 1 else "spans"
        return (
            f"Checked by rules: {self.released} {spans} released by {', '.join(self.released_by)}"
        )


def _find(gated: GatedText, *, start: int, end: int, digest: str) -> GateSpan:
    for span in gated.unreleased:
        if (span.start, span.end, span.digest) == (start, end, digest):
            return span
    raise SpanGone("This text has changed since the page was shown; look at it again.")


@transaction.atomic
def text_span_release(
    *,
    key: str,
    text: str,
    start: int,
    end: int,
    digest: str,
    actor: User,
    context: GateContext = NO_CONTEXT,
    request: HttpRequest | None = None,
) -> TextRelease:
    """Record that one flagged span is not PHI; audited with its kind and place."""
    (gated,) = texts_gate(items=[(key, "", text)], context=context)
    span = _find(gated, start=start, end=end, digest=digest)
    release, _ = TextRelease.objects.get_or_create(
        field_key=key, span_digest=span.digest, defaults={"kind": span.kind, "released_by": actor}
    )
    audit_record(
        action="text.span-released",
        actor=actor,
        obj=release,
        request=request,
        detail={"field": key, "kind": span.kind, "start": span.start, "end": span.end},
    )
    return release


def text_span_replace(
    *,
    key: str,
    text: str,
    start: int,
    end: int,
    digest: str,
    actor: User,
    context: GateContext = NO_CONTEXT,
    request: HttpRequest | None = None,
) -> str:
    """The stored text with one flagged span replaced by its marker; audited. The caller saves."""
    (gated,) = texts_gate(items=[(key, "", text)], context=context)
    span = _find(gated, start=start, end=end, digest=digest)
    check = gated.check
    original_start = check.original_offset(span.start)
    original_end = check.original_offset(span.end - 1) + 1
    audit_record(
        action="text.span-replaced",
        actor=actor,
        object_type="text",
        object_id=key[:64],
        request=request,
        detail={"field": key, "kind": span.kind, "start": span.start, "end": span.end},
    )
    return f"{text[:original_start]}[{span.kind}]{text[original_end:]}"


# Sources ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextSource:
    """Texts of one model that a champion reviews on the gate's page."""

    label: str  # "conferences.conference"
    # The object for this reviewer, or Http404: the owning app's selector decides.
    get_for_review: Callable[[User, str], models.Model]
    # (field name, label, text) of each text of the object that leaves the champion's hands.
    texts: Callable[[models.Model], list[tuple[str, str, str]]]
    # Save a replaced text through the owning app's service.
    save: Callable[..., None]
    back_url: Callable[[models.Model], str]
    title: Callable[[models.Model], str]
    # What the scrubber knows for the object.
    context: Callable[[models.Model], GateContext] = field(default=lambda obj: NO_CONTEXT)
    # Called after a release, so that a check resting on the texts runs again.
    released: Callable[[models.Model], None] = field(default=lambda obj: None)


_SOURCES: dict[str, TextSource] = {}


def text_source_register(source: TextSource) -> None:
    _SOURCES[source.label] = source


def text_source(label: str) -> TextSource | None:
    return _SOURCES.get(label)


def object_texts_gate(source: TextSource, obj: models.Model) -> list[GatedText]:
    items = [(field_key(obj, name), label, text) for name, label, text in source.texts(obj)]
    return texts_gate(items=items, context=source.context(obj))
