"""HL7 v2 ORU^R01 results: parsing with python-hl7, field mapping from settings, and ACKs."""

import datetime

import hl7
from django.conf import settings
from django.utils import timezone

from submissions.feeds.report import MessageRefused, ResultReport, Signer

SUPPORTED_VERSIONS = {"2.3", "2.3.1", "2.4", "2.5", "2.5.1"}
STATUSES = {"P": "P", "F": "F", "C": "C"}
# LOINC 19005-8 is "Impression" (OBX-3).
IMPRESSION_CODES = {"19005-8"}


def wire_text(raw: bytes | str) -> str:
    """A message as text with carriage-return segment ends, as HL7 wants them."""
    text = raw.decode(settings.HL7_ENCODING, errors="replace") if isinstance(raw, bytes) else raw
    return text.replace("\r\n", "\r").replace("\n", "\r").strip("\r\x0b\x1c ") + "\r"


def oru_parse(raw: str) -> ResultReport:
    """The result an ORU^R01 carries, or MessageRefused (AR: not an ORU we read; AE: no use)."""
    try:
        message = hl7.parse(raw)
        msh = message.segment("MSH")
    except Exception as error:
        raise MessageRefused("AR", f"Not an HL7 v2 message ({error}).") from error
    control_id = _value(msh, 10)
    message_type = _component(msh, 9, 0) + "^" + _component(msh, 9, 1)
    version = _component(msh, 12, 0)
    if not control_id:
        raise MessageRefused("AR", "MSH-10 (message control id) is empty.")
    if message_type != "ORU^R01":
        raise MessageRefused("AR", f"Message type {message_type} is not read here (ORU^R01 only).")
    if version not in SUPPORTED_VERSIONS:
        shown = version or "(none)"
        raise MessageRefused("AR", f"HL7 version {shown} is not supported (2.3 to 2.5.1).")
    try:
        obr = message.segment("OBR")
    except KeyError:
        raise MessageRefused("AE", "The message has no OBR segment.") from None

    accession = ""
    for spec in settings.HL7_ACCESSION_FIELDS:
        accession = _field_by_spec(message, spec)
        if accession:
            break
    if not accession:
        fields = ", ".join(settings.HL7_ACCESSION_FIELDS)
        raise MessageRefused("AE", f"No accession number in {fields}.")
    if len(accession) > 32:
        raise MessageRefused("AE", "The accession number is longer than 32 characters.")

    status = STATUSES.get(_field_by_spec(message, settings.HL7_STATUS_FIELD).upper())
    if status is None:
        raise MessageRefused(
            "AE", f"{settings.HL7_STATUS_FIELD} (result status) must be P, F or C for this feed."
        )
    return ResultReport(
        source="hl7",
        sender="^".join(filter(None, (_value(msh, 3), _value(msh, 4)))),
        control_id=control_id[:200],
        accession_number=accession.upper(),
        status=status,
        signer=_signer(obr, settings.HL7_SIGNER_FIELD),
        impression=_impression(message),
        message_time=_timestamp(_component(msh, 7, 0)),
    )


def ack(raw: str, code: str, text: str = "") -> str:
    """The acknowledgment of `raw` (AA, AE or AR), with the reason in MSA-3."""
    try:
        msh = hl7.parse(raw).segment("MSH")
        control_id, version = _value(msh, 10), _component(msh, 12, 0) or "2.5.1"
        to_app, to_facility = _value(msh, 3), _value(msh, 4)
    except Exception:
        control_id, version, to_app, to_facility = "", "2.5.1", "", ""
    now = timezone.localtime().strftime("%Y%m%d%H%M%S")
    header = [
        "MSH",
        "^~\\&",
        settings.HL7_APPLICATION,
        settings.HL7_FACILITY,
        _escape(to_app),
        _escape(to_facility),
        now,
        "",
        "ACK^R01^ACK",
        f"ACK{now}{_escape(control_id)}"[:199],
        "P",
        version,
    ]
    msa = ["MSA", code, _escape(control_id), _escape(text)[:80]]
    return "|".join(header) + "\r" + "|".join(msa) + "\r"


# Reading fields -----------------------------------------------------------------------------


def _value(segment, index: int) -> str:
    try:
        return str(segment[index]).strip()
    except IndexError:
        return ""


def _component(segment, index: int, component: int) -> str:
    """One component of a field's first repetition (python-hl7 gives a plain str when the
    field has no components)."""
    try:
        field = segment[index]
    except IndexError:
        return ""
    if isinstance(field, str):
        return field.strip() if component == 0 else ""
    try:
        value = field[0]
        if isinstance(value, str):
            return value.strip() if component == 0 else ""
        return str(value[component]).strip()
    except (IndexError, TypeError):
        return ""


def _field_by_spec(message, spec: str) -> str:
    """`OBR-3` (the field's first component) or `OBR-3.2` from the first such segment."""
    name, _, position = spec.partition("-")
    number, _, component = position.partition(".")
    try:
        segment = message.segment(name)
    except KeyError:
        return ""
    return _component(segment, int(number), int(component or 1) - 1)


def _signer(obr, spec: str) -> Signer:
    """OBR-32 (an NDL whose first component is a CNN: id ^ family ^ given ^ … ^ authority).

    Senders put the CNN's parts as components (`id^family^given`) or, as the standard has it,
    as subcomponents of the first component (`id&family&given`): both are read.
    """
    _, _, position = spec.partition("-")
    try:
        field = obr[int(position.split(".")[0])]
    except (IndexError, ValueError):
        return Signer()
    if isinstance(field, str):
        parts = [field.strip()]
    else:
        first = field[0] if len(field) else ""
        parts = [first.strip()] if isinstance(first, str) else [str(p).strip() for p in first]
    if len(parts) == 1 and "&" in parts[0]:
        parts = [part.strip() for part in parts[0].split("&")]
    parts += [""] * 9
    identifier, family, given, authority = parts[0], parts[1], parts[2], parts[8]
    is_npi = authority.upper() == "NPI" or (not authority and _looks_like_npi(identifier))
    return Signer(
        npi=identifier if is_npi else "",
        ris_id="" if is_npi else identifier,
        family_name=family.title(),
        given_name=given.title(),
    )


def _looks_like_npi(value: str) -> bool:
    return len(value) == 10 and value.isdigit()


def _impression(message) -> str:
    """The OBX text whose code is an impression (LOINC 19005-8), else every text OBX."""
    impression, everything = [], []
    try:
        observations = message.segments("OBX")
    except KeyError:
        return ""
    for obx in observations:
        text = _unescaped(message, _value(obx, 5))
        if not text:
            continue
        everything.append(text)
        if _component(obx, 3, 0) in IMPRESSION_CODES or text.upper().startswith("IMPRESSION"):
            impression.append(text)
    return "\n".join(impression or everything)


def _unescaped(message, text: str) -> str:
    """HL7 escapes as text: the delimiters back, and a formatted line break as a new line."""
    try:
        return message.unescape(text).replace("\r", "\n")
    except Exception:
        return text


def _timestamp(value: str) -> datetime.datetime | None:
    """An HL7 TS (YYYYMMDDHHMM[SS][+ZZZZ]) in the site's time zone when it has no offset."""
    digits, offset = value[:14], value[14:].lstrip(".0123456789")
    for pattern in ("%Y%m%d%H%M%S", "%Y%m%d%H%M", "%Y%m%d"):
        try:
            moment = datetime.datetime.strptime(digits, pattern)  # noqa: DTZ007
            break
        except ValueError:
            continue
    else:
        return None
    if offset:
        try:
            return datetime.datetime.strptime(
                moment.strftime("%Y%m%d%H%M%S") + offset, "%Y%m%d%H%M%S%z"
            )
        except ValueError:
            pass
    return timezone.make_aware(moment)


def _escape(text: str) -> str:
    """HL7 escapes for the delimiters, so a reason can never break the ACK's structure."""
    return (
        text.replace("\\", "\\E\\")
        .replace("|", "\\F\\")
        .replace("^", "\\S\\")
        .replace("&", "\\T\\")
        .replace("~", "\\R\\")
        .replace("\r", " ")
        .replace("\n", " ")
    )
