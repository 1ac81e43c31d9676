"""FHIR R4 DiagnosticReport results, validated with fhir.resources (R4B models, the same
DiagnosticReport as R4), read into the same ResultReport as an HL7 ORU."""

import json
import re

from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from pydantic import ValidationError

from submissions.feeds.report import MessageRefused, ResultReport, Signer

STATUSES = {
    "preliminary": "P",
    "final": "F",
    "amended": "C",
    "corrected": "C",
    "appended": "C",
}
ACCESSION_TYPE = "ACSN"  # HL7 v2 table 0203, the identifier type of an accession number
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
_NPI_REFERENCE = re.compile(r"(?:^|/)(?:npi-)?(\d{10})$")


def diagnostic_report_parse(data: dict) -> ResultReport:
    """The result a DiagnosticReport carries, or MessageRefused with what is wrong."""
    if not isinstance(data, dict) or data.get("resourceType") != "DiagnosticReport":
        raise MessageRefused("AR", "resourceType: expected a DiagnosticReport.")
    try:
        report = DiagnosticReport.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in error.errors()[:5]
        )
        raise MessageRefused("AE", f"Not a valid FHIR R4 DiagnosticReport ({problems}).") from None
    status = STATUSES.get(report.status)
    if status is None:
        raise MessageRefused(
            "AE", f"status: {report.status} is not read here ({', '.join(STATUSES)})."
        )
    accession = _accession(report)
    if not accession:
        raise MessageRefused("AE", "identifier: no accession number (an identifier of type ACSN).")
    if len(accession) > 32:
        raise MessageRefused("AE", "identifier: the accession number is longer than 32 characters.")
    version = report.meta.versionId if report.meta and report.meta.versionId else ""
    issued = report.issued.isoformat() if report.issued else ""
    return ResultReport(
        source="fhir",
        sender="",
        control_id=f"DiagnosticReport/{report.id or accession}/{version or issued or status}",
        accession_number=accession.upper(),
        status=status,
        signer=_signer(report),
        impression=report.conclusion or "",
        message_time=report.issued,
    )


def raw_text(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def _accession(report: DiagnosticReport) -> str:
    for identifier in report.identifier or []:
        codings = (identifier.type.coding or []) if identifier.type else []
        codes = [coding.code for coding in codings]
        if ACCESSION_TYPE in codes and identifier.value:
            return identifier.value.strip()
    return ""


def _signer(report: DiagnosticReport) -> Signer:
    """The first resultsInterpreter: an NPI identifier, else the reference's id, else the name."""
    for reference in report.resultsInterpreter or []:
        if reference.identifier and reference.identifier.value:
            value = reference.identifier.value.strip()
            if reference.identifier.system == NPI_SYSTEM:
                return Signer(npi=value)
            return Signer(ris_id=value)
        if reference.reference:
            npi = _NPI_REFERENCE.search(reference.reference)
            if npi:
                return Signer(npi=npi.group(1))
            return Signer(ris_id=reference.reference.rsplit("/", 1)[-1])
        if reference.display:
            given, _, family = reference.display.strip().rpartition(" ")
            return Signer(given_name=given, family_name=family)
    return Signer()
