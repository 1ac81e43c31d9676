"""Sequences kept as read.

pydicom turns a sequence into Dataset items, and writes them back element by element,
which costs more than all the rest of de-identifying a typical header. Sequences read
with defined lengths are parsed here into items that hold their elements as read, walked
like any dataset, and encoded back into one value. Anything unusual (an item or value of
undefined length, a value that is not plain ASCII, an element the engine must create in
pydicom's own form) sends the sequence back to pydicom's handling, from the start.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from .elements import _encoding

# VRs whose length takes 4 bytes (after 2 reserved ones) in explicit VR encodings.
_LONG_LENGTH_VRS = frozenset(
    {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
)
_SHORT_LENGTH_VRS = frozenset(
    {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "PN", "SH", "SL"}
    | {"SS", "ST", "TM", "UI", "UL", "US"}
)
_VR_BY_BYTES = {vr.encode("ascii"): vr for vr in _LONG_LENGTH_VRS | _SHORT_LENGTH_VRS}
_ITEM_TAG = 0xFFFEE000
_UNDEFINED = 0xFFFFFFFF


class _NeedsDataset(Exception):
    """An item kept as read needs pydicom's full handling."""


class _RawItem:
    """A sequence item kept as read: its elements, undecoded, by tag (an int)."""

    __slots__ = ("_dict", "_private_blocks", "original_encoding")

    def __init__(self, elements: dict, encoding: tuple[bool, bool]) -> None:
        self._dict = elements
        self.original_encoding = encoding
        self._private_blocks: dict = {}

    def __contains__(self, tag: int) -> bool:
        return tag in self._dict

    def __getitem__(self, tag: int) -> DataElement:
        raise _NeedsDataset

    def __setitem__(self, tag: int, elem: DataElement) -> None:
        raise _NeedsDataset


class _Codec(NamedTuple):
    tag_length: Callable  # (group, element, 4-byte length)
    explicit: Callable  # (group, element, VR, 2-byte length)
    long: Callable
    pack_tag: Callable
    pack_short: Callable
    pack_long: Callable


@lru_cache(maxsize=2)
def _codec(little: bool) -> _Codec:
    order = "<" if little else ">"
    return _Codec(
        struct.Struct(f"{order}HHL").unpack_from,
        struct.Struct(f"{order}HH2sH").unpack_from,
        struct.Struct(f"{order}L").unpack_from,
        struct.Struct(f"{order}HH").pack,
        struct.Struct(f"{order}H").pack,
        struct.Struct(f"{order}L").pack,
    )


def _raw_items(raw: object) -> list[_RawItem] | None:
    """The items of a sequence as read; None when it is not simple enough to parse here."""
    if type(raw) is not RawDataElement:
        return None
    data, implicit, little = raw.value, raw.is_implicit_VR, raw.is_little_endian
    if (
        type(data) is not bytes
        or raw.is_buffered
        or raw.length == _UNDEFINED
        or implicit is None
        or not (raw.VR == "SQ" or (raw.VR is None and implicit))
    ):
        return None
    codec = _codec(little)
    tag_length, explicit, long = codec.tag_length, codec.explicit, codec.long
    items = []
    pos, end = 0, len(data)
    while pos < end:
        if end - pos < 8:
            return None
        group, element, length = tag_length(data, pos)
        if (group << 16 | element) != _ITEM_TAG or length == _UNDEFINED:
            return None
        pos += 8
        stop = pos + length
        if stop > end:
            return None
        elements = {}
        while pos < stop:
            if stop - pos < 8:
                return None
            if implicit:
                group, element, length = tag_length(data, pos)
                vr = None
                pos += 8
            else:
                group, element, vr_bytes, length = explicit(data, pos)
                vr = _VR_BY_BYTES.get(vr_bytes)
                if vr is None:
                    return None
                if vr in _LONG_LENGTH_VRS:
                    if stop - pos < 12:
                        return None
                    length = long(data, pos + 8)[0]
                    pos += 12
                else:
                    pos += 8
            if length == _UNDEFINED or pos + length > stop or group == 0xFFFE:
                return None
            tag = group << 16 | element
            # Keys are plain ints (cheap to compare and sort); the elements carry BaseTags.
            elements[tag] = RawDataElement(
                BaseTag(tag),
                vr,
                length,
                data[pos : pos + length],
                raw.value_tell + pos,
                implicit,
                little,
            )
            pos += length
        items.append(_RawItem(elements, (implicit, little)))
    return items


def _encode_sequence(ds: Dataset, tag: BaseTag, items: list) -> bool:
    """Store a walked sequence encoded, as if it had been read, when every value allows.

    Writing one raw value costs pydicom far less than writing each item element by
    element. Items holding anything but values as read (or our ASCII replacements) stay
    as they are and are written the ordinary way (False).
    """
    implicit, little = _encoding(None, ds)
    codec = _codec(little)
    pack_tag, pack_short, pack_long = codec.pack_tag, codec.pack_short, codec.pack_long
    parts = []
    for item in items:
        body = []
        for elem_tag, raw in sorted(item._dict.items()):
            if (
                type(raw) is not RawDataElement
                or type(raw.value) is not bytes
                or raw.is_implicit_VR is not implicit
                or raw.is_little_endian is not little
                or raw.is_buffered
            ):
                return False
            data = raw.value
            length = len(data)
            head = pack_tag(elem_tag >> 16, elem_tag & 0xFFFF)
            if implicit:
                head += pack_long(length)
            elif raw.VR in _LONG_LENGTH_VRS:
                head += raw.VR.encode("ascii") + b"\x00\x00" + pack_long(length)
            elif raw.VR in _SHORT_LENGTH_VRS and length <= 0xFFFF:
                head += raw.VR.encode("ascii") + pack_short(length)
            else:
                return False
            body.append(head)
            body.append(data)
        encoded = b"".join(body)
        parts.append(pack_tag(0xFFFE, 0xE000) + pack_long(len(encoded)) + encoded)
    value = b"".join(parts)
    ds._dict[tag] = RawDataElement(tag, "SQ", len(value), value, 0, implicit, little)
    return True
