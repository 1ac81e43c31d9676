"""The file meta of a de-identified file, and the file's bytes as pydicom would write them."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from typing import BinaryIO

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from ..encoding import give_elements_their_vr
from .elements import _name, _read
from .raw import _LONG_LENGTH_VRS, _SHORT_LENGTH_VRS, _UNDEFINED, _codec

IMPLEMENTATION_VERSION_NAME = "PEERLEARN_ANON1"


def _transfer_syntax(ds: Dataset) -> str:
    """For a file without file meta: the encoding it was read with."""
    implicit, little = getattr(ds, "original_encoding", (None, None))
    if implicit:
        return ImplicitVRLittleEndian
    if little is False:
        return ExplicitVRBigEndian
    return ExplicitVRLittleEndian


_META_KEPT = frozenset({0x00020000, 0x00020001, 0x00020002, 0x00020010})


def _rebuild_file_meta(ds: Dataset, record: Callable[[str, str], None]) -> None:
    """Keep only the file meta that describes the file; nothing of the sender's survives.

    Source and receiving AE titles, private information and the old instance UID go; the
    elements kept are left as read, which keeps writing cheap.
    """
    meta = getattr(ds, "file_meta", None)
    if meta is None:
        meta = ds.file_meta = FileMetaDataset()
    for tag in list(meta.keys()):
        if tag not in _META_KEPT:
            if tag not in (0x00020003, 0x00020012, 0x00020013):
                record(f"FileMeta.{_name(BaseTag(tag))}", "X")
            del meta[tag]

    def put(tag: int, vr: str, value: object) -> None:
        if isinstance(value, str) and value.isascii():
            # Stored encoded, as if read (file meta is always explicit VR little endian).
            data = value.encode("ascii")
            data += (b"\x00" if vr == "UI" else b" ") * (len(data) & 1)
            meta._dict[BaseTag(tag)] = RawDataElement(
                BaseTag(tag), vr, len(data), data, 0, False, True
            )
        else:
            meta[tag] = DataElement(tag, vr, value)

    if 0x00020001 not in meta:
        put(0x00020001, "OB", b"\x00\x01")
    # Read without converting, so that both stay as read (and cheap to write).
    sop_class = next(iter(_read(ds, 0x00080016, "UI")), "")
    if sop_class and next(iter(_read(meta, 0x00020002, "UI")), "") != sop_class:
        put(0x00020002, "UI", sop_class)
    put(0x00020003, "UI", next(iter(_read(ds, 0x00080018, "UI")), ""))
    if 0x00020010 not in meta:
        put(0x00020010, "UI", _transfer_syntax(ds))
    put(0x00020012, "UI", PYDICOM_IMPLEMENTATION_UID)
    put(0x00020013, "SH", IMPLEMENTATION_VERSION_NAME)
    if not meta.TransferSyntaxUID.is_implicit_VR and any(
        elem.VR is None for elem in ds._dict.values()
    ):
        give_elements_their_vr(ds)
    if hasattr(ds, "preamble"):
        ds.preamble = b"\x00" * 128
    record("FileMeta.MediaStorageSOPInstanceUID", "U")


_PIXEL_DATA = 0x7FE00010
_SEQUENCE_END = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00", b"\xff\xfe\xe0\xdd\x00\x00\x00\x00"
_ITEM_START = b"\xfe\xff\x00\xe0", b"\xff\xfe\xe0\x00"
# Values of converted elements that are simple to encode: text, and bytes for OB.
# (VRs of the default repertoire only: other text may need the character set's encoding.)
_SIMPLE_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DT", "TM", "UI"})


def _value_bytes(elem: object, implicit: bool, little: bool) -> tuple[str | None, bytes] | None:
    """(VR, value bytes) of an element as pydicom would write them; None if not simple."""
    if type(elem) is RawDataElement:
        if (
            type(elem.value) is not bytes
            or elem.is_buffered
            or elem.is_implicit_VR is not implicit
            or elem.is_little_endian is not little
        ):
            return None
        return elem.VR, elem.value
    vr, value = elem.VR, elem.value
    if vr in _SIMPLE_TEXT_VRS:
        if isinstance(value, str):
            text = value
        elif isinstance(value, MultiValue) and all(isinstance(v, str) for v in value):
            text = "\\".join(value)
        else:
            return None
        if not text.isascii():
            return None
        data = text.encode("ascii")
        return vr, data + ((b"\x00" if vr == "UI" else b" ") * (len(data) & 1))
    if vr == "OB" and isinstance(value, bytes):
        return vr, value + b"\x00" * (len(value) & 1)
    return None


def _encode_elements(
    elements: dict, implicit: bool, little: bool, *, compressed: bool
) -> list[bytes] | None:
    """Elements (sorted by tag) encoded as pydicom writes them, in pieces (values are not
    copied); None if one is not simple."""
    codec = _codec(little)
    pack_tag, pack_short, pack_long = codec.pack_tag, codec.pack_short, codec.pack_long
    parts = []
    for tag, elem in sorted(elements.items()):
        if tag & 0xFFFF == 0 and tag >> 16 > 6:
            continue  # retired group lengths, which pydicom does not write either
        encoded = _value_bytes(elem, implicit, little)
        if encoded is None:
            return None
        vr, data = encoded
        length = len(data)
        undefined = type(elem) is RawDataElement and elem.length == _UNDEFINED
        if tag == _PIXEL_DATA and undefined is not compressed:
            return None  # pydicom adjusts, or refuses, pixel data of the other form
        if undefined and not (tag == _PIXEL_DATA and data.startswith(_ITEM_START[not little])):
            return None
        head = pack_tag(tag >> 16, tag & 0xFFFF)
        if implicit:
            head += pack_long(_UNDEFINED if undefined else length)
        elif vr in _LONG_LENGTH_VRS:
            head += (
                vr.encode("ascii") + b"\x00\x00" + pack_long(_UNDEFINED if undefined else length)
            )
        elif vr in _SHORT_LENGTH_VRS and length <= 0xFFFF and not undefined:
            head += vr.encode("ascii") + pack_short(length)
        else:
            return None
        parts.append(head)
        parts.append(data)
        if undefined:
            parts.append(_SEQUENCE_END[not little])
    return parts


def _file_meta_bytes(meta: FileMetaDataset) -> bytes | None:
    required = (0x00020001, 0x00020002, 0x00020003, 0x00020010, 0x00020012)
    if any(tag not in meta._dict for tag in required):
        return None  # pydicom would add them
    body = _encode_elements(
        {tag: elem for tag, elem in meta._dict.items() if tag != 0x00020000},
        False,
        True,
        compressed=False,
    )
    if body is None:
        return None
    body = b"".join(body)
    return b"\x02\x00\x00\x00UL\x04\x00" + struct.pack("<L", len(body)) + body


def deidentified_file_bytes(ds: Dataset) -> bytes:
    """The de-identified dataset as a DICOM file, as ``ds.save_as(…, enforce_file_format=True)``
    writes it, byte for byte."""
    buffer = io.BytesIO()
    deidentified_file_write(ds, buffer)
    return buffer.getvalue()


def deidentified_file_write(ds: Dataset, handle: BinaryIO) -> None:
    """Write the de-identified dataset to an open file as ``save_as`` would, byte for byte.

    When every element is as read (or replaced by the engine in plain ASCII) the file is
    encoded here, with far less per-element work than pydicom's writer, and written piece by
    piece (pixel data is never copied); anything else (a value pydicom converted to
    something other than text, a sequence of pydicom items, deflate or an unusual transfer
    syntax) is left to pydicom.
    """
    chunks = _fast_file_chunks(ds)
    if chunks is None:
        ds.save_as(handle, enforce_file_format=True)
    else:
        handle.writelines(chunks)


def _fast_file_bytes(ds: Dataset) -> bytes | None:
    chunks = _fast_file_chunks(ds)
    return None if chunks is None else b"".join(chunks)


def _fast_file_chunks(ds: Dataset) -> list[bytes] | None:
    meta = getattr(ds, "file_meta", None)
    if meta is None or ds.original_character_set != ds._character_set:
        return None
    syntax = meta.get("TransferSyntaxUID")
    if syntax is None or not syntax.is_transfer_syntax or syntax.is_private or syntax.is_deflated:
        return None
    implicit, little = syntax.is_implicit_VR, syntax.is_little_endian
    compressed = syntax.is_compressed
    # pydicom would bring the file meta in line with the dataset; here it must already be.
    for meta_tag, tag in ((0x00020002, 0x00080016), (0x00020003, 0x00080018)):
        in_meta, in_ds = _read(meta, meta_tag, "UI"), _read(ds, tag, "UI")
        if not in_meta or (in_ds and in_ds != in_meta):
            return None  # (pydicom refuses a file meta without them)
    if any(tag >> 16 in (0, 2) for tag in ds._dict):
        return None
    meta_bytes = _file_meta_bytes(meta)
    if meta_bytes is None:
        return None
    body = _encode_elements(ds._dict, implicit, little, compressed=compressed)
    if body is None:
        return None
    preamble = getattr(ds, "preamble", None) or b"\x00" * 128
    if len(preamble) != 128:
        return None
    return [preamble, b"DICM", meta_bytes, *body]
