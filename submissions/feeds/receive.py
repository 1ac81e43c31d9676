"""One entry for every result, whatever carried it: refuse, or store, acknowledge, apply."""

import logging

from submissions.feeds import hl7
from submissions.feeds.report import MessageRefused, ResultReport
from submissions.feeds.services import result_apply, result_store

logger = logging.getLogger(__name__)


def report_receive(*, report: ResultReport, raw: str) -> tuple[bool, str]:
    """Store and apply one parsed result; (created, outcome). A resend is stored once and
    applied once. A failure while applying leaves the message stored for the beat sweep."""
    message, created = result_store(report=report, raw=raw)
    if message.processed_at:
        return created, message.outcome
    try:
        return created, result_apply(message_id=message.pk)
    except Exception:
        logger.exception("Result message %s stored but not applied yet", message.pk)
        return created, "stored; applying it failed and will be retried"


def hl7_receive(raw: bytes | str) -> str:
    """The ACK for one MLLP block: AA once the message is stored, AE/AR with the reason when
    it cannot be used (then nothing is written)."""
    text = hl7.wire_text(raw)
    try:
        report = hl7.oru_parse(text)
    except MessageRefused as refused:
        return hl7.ack(text, refused.code, refused.reason)
    try:
        created, outcome = report_receive(report=report, raw=text)
    except Exception:
        logger.exception("Could not store an HL7 result")
        # AE asks the sender to send it again later; nothing was kept.
        return hl7.ack(text, "AE", "Could not store the message; send it again.")
    return hl7.ack(text, "AA", outcome if created else "already received")
