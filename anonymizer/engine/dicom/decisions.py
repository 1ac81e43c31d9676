"""What to do with an element: decided once per tag, VR and options, from Table E.1-1."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from ..profile import Options, ProfileRow, load_profile, resolve_action
from ..uids import is_class_uid_keyword
from .elements import (
    _dictionary,
    _vr_of,
)

# VRs that no safety net looks at: an attribute the table does not list keeps them.
_INERT_VRS = frozenset(
    {
        "AS",
        "AT",
        "DS",
        "FD",
        "FL",
        "IS",
        "OD",
        "OF",
        "OL",
        "OV",
        "SL",
        "SS",
        "SV",
        "TM",
        "UL",
        "US",
        "UV",
        "US or SS",
        "OB or OW",
        "US or OW",
        "US or SS or OW",
    }
)


@lru_cache(maxsize=8192)
def _table(options: Options, tag: int) -> tuple[ProfileRow | None, str]:
    """The table row covering a tag and its action under the options (cached)."""
    row = load_profile().row_for(tag)
    if row is None:
        return None, ""
    return row, resolve_action(row, _dictionary(tag)[0], options)


# What to do with an element, decided once per tag (and VR) and options.
_INERT, _PRIVATE, _DROP, _OVERLAY, _LISTED, _UNLISTED = range(6)


class _Decision(NamedTuple):
    kind: int
    raw_vr: str | None = None
    vr: str = ""
    name: str = ""
    row: ProfileRow | None = None
    action: str = ""
    keyword: str = ""
    class_uid: bool = False


_DECISIONS: dict[Options, dict[int, _Decision]] = {}


def _decisions_for(options: Options) -> dict[int, _Decision]:
    decisions = _DECISIONS.get(options)
    if decisions is None:
        if len(_DECISIONS) >= 32:
            _DECISIONS.clear()
        decisions = _DECISIONS[options] = {}
    return decisions


def _decide(options: Options, tag: int, raw_vr: str | None) -> _Decision:
    group, element = tag >> 16, tag & 0xFFFF
    if group & 1:
        return _Decision(_PRIVATE, raw_vr)
    if element == 0 or group == 0x0002:
        # Group lengths are recomputed on writing; file meta lives in ds.file_meta.
        return _Decision(_DROP, raw_vr)
    if group & 0xFF00 == 0x6000:
        # Overlays (Clean Graphics is not offered): the whole overlay goes.
        return _Decision(_OVERLAY, raw_vr, name=f"({group:04X},xxxx)")
    vr = _vr_of(BaseTag(tag), raw_vr)
    row, action = _table(options, tag)
    keyword = _dictionary(tag)[0]
    if row is None and vr in _INERT_VRS and keyword:
        return _Decision(_INERT, raw_vr)
    name = keyword or f"({group:04X},{element:04X})"
    return _Decision(
        _LISTED if row is not None else _UNLISTED,
        raw_vr,
        vr,
        name,
        row,
        action,
        keyword,
        is_class_uid_keyword(keyword),
    )


def _restore_inert(ds: Dataset, as_read: dict, decisions: dict[int, _Decision]) -> None:
    """Elements the engine never changes but pydicom converted on the way: back as read."""
    elements = ds._dict
    for tag, elem in elements.items():
        if type(elem) is not RawDataElement:
            before = as_read.get(tag)
            decision = decisions.get(int(tag))
            if (
                type(before) is RawDataElement
                and decision is not None
                and decision.kind == _INERT
                and decision.raw_vr == before.VR
            ):
                elements[tag] = before
