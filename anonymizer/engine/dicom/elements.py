"""Reading and writing element values: as read where possible, plain ASCII stored encoded."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement, empty_value_for_VR
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag
from pydicom.valuerep import MAX_VALUE_LEN

DUMMY_TEXT = "ANONYMIZED"
_DUMMY_BY_VR: dict[str, object] = {
    "AE": DUMMY_TEXT,
    "AS": "000D",
    "CS": DUMMY_TEXT,
    "DA": "19000101",
    "DT": "19000101000000",
    "TM": "000000",
    "DS": "0",
    "IS": "0",
    "LO": DUMMY_TEXT,
    "LT": DUMMY_TEXT,
    "PN": DUMMY_TEXT,
    "SH": DUMMY_TEXT,
    "ST": DUMMY_TEXT,
    "UC": DUMMY_TEXT,
    "UT": DUMMY_TEXT,
    "UR": "",
}
_NUMERIC_VRS = frozenset({"FL", "FD", "SL", "SS", "UL", "US", "SV", "UV", "AT"})
_FREE_TEXT_VRS = frozenset({"ST", "LT", "UT"})
_SHORT_TEXT_VRS = frozenset({"AE", "CS", "LO", "SH", "UC", "UR"})
_UNSPLIT_VRS = frozenset({"ST", "LT", "UT", "UR"})
# Coded values: a code is compared whole with the case's identifiers, never text-scrubbed
# (a name token such as "CT" must not turn Modality CT into a mark). UI, DA/DT/TM and IS/DS
# have rules of their own and are never scrubbed either.
_CODED_VRS = frozenset({"CS"})
CODE_KEYWORDS = frozenset(
    {
        "CodeValue",
        "LongCodeValue",
        "URNCodeValue",
        "CodingSchemeDesignator",
        "CodingSchemeVersion",
        "CodingSchemeName",
        "ContextIdentifier",
        "ContextGroupVersion",
        "MappingResource",
        "MappingResourceName",
    }
)


# VRs whose values are text: a new value in plain ASCII is written as raw bytes.
_TEXT_VRS = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI"}
    | {"UR", "UT"}
)
_DEFAULT_ENCODING = (False, True)  # explicit VR little endian, for datasets built in memory


def _values(elem: DataElement) -> list[str]:
    value = elem.value
    if value is None or value == "":
        return []
    if isinstance(value, (list, MultiValue)):
        return [str(v) for v in value if v is not None and str(v) != ""]
    return [str(value)]


def _read(
    ds: Dataset, tag: int, vr: str, raw: DataElement | RawDataElement | None = None
) -> list[str]:
    """The string values of an element, decoding plain ASCII itself.

    Elements left as pydicom read them are written back byte for byte, which is much
    cheaper than converting and re-encoding every value the engine only looks at.
    """
    if raw is None:
        raw = ds.get_item(tag)
        if raw is None:
            return []
    if type(raw) is RawDataElement:
        data = raw.value
        if type(data) is bytes and data.isascii() and b"\x1b" not in data:
            text = data.decode("ascii").rstrip(" \x00")
            if not text:
                return []
            if vr in _UNSPLIT_VRS:
                return [text]
            if "\\" not in text:
                text = text.strip(" \x00")
                return [text] if text else []
            return [v.strip(" \x00") for v in text.split("\\") if v.strip(" \x00")]
    return _values(ds[tag])


def _encoding(raw: object, ds: Dataset) -> tuple[bool, bool]:
    if type(raw) is RawDataElement and raw.is_implicit_VR is not None:
        return raw.is_implicit_VR, raw.is_little_endian
    implicit, little = ds.original_encoding
    return _DEFAULT_ENCODING if implicit is None else (implicit, little)


def _write(ds: Dataset, tag: int, vr: str, values: list[str], raw: object = None) -> None:
    """Store new text values; plain ASCII is stored encoded, as if it had been read.

    A raw element is written as it stands, which saves pydicom's conversion and
    re-encoding on writing; anything else becomes an ordinary element.
    """
    text = "\\".join(values)
    if text.isascii():
        data = text.encode("ascii")
        if len(data) & 1:
            data += b"\x00" if vr == "UI" else b" "
        implicit, little = _encoding(raw, ds)
        ds._dict[BaseTag(tag)] = RawDataElement(
            BaseTag(tag), vr, len(data), data, 0, implicit, little
        )
        return
    value: object = values[0] if len(values) == 1 else values
    ds[tag] = DataElement(tag, vr, value if values else empty_value_for_VR(vr))


def _parse_da(value: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(value.strip()[:8], "%Y%m%d").date()  # noqa: DTZ007
    except ValueError:
        return None


@lru_cache(maxsize=8192)
def _dictionary(tag: int) -> tuple[str, str | None]:
    """(keyword, VR) from the data dictionary; ("", None) for tags it does not know."""
    try:
        return keyword_for_tag(tag), dictionary_VR(tag)
    except KeyError:
        return "", None


def _vr_of(tag: BaseTag, raw_vr: str | None) -> str:
    if raw_vr and raw_vr != "UN":
        return raw_vr
    return _dictionary(tag)[1] or raw_vr or "UN"


def _name(tag: BaseTag) -> str:
    return _dictionary(tag)[0] or f"({tag.group:04X},{tag.element:04X})"


def _fit(text: str, vr: str) -> str:
    limit = MAX_VALUE_LEN.get(vr)
    return text[:limit] if limit else text
