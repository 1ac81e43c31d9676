"""Retrieving a study from the PACS over DICOMweb, de-identified on arrival.

One call, `pacs_retrieve_deidentified`, finds the study by accession number (QIDO-RS),
lists its series and instances, streams every instance (WADO-RS, in the transfer syntax the
PACS stored it in) into a private temporary folder, de-identifies and verifies them with
`anonymize_directory`, deletes the originals, and moves the verified files into place in
one rename. The originals live only as long as the de-identification takes; they are
deleted whatever happens.

Failures become a `PacsError` whose text is fit to show a champion (no stack trace, no
value from the PACS). The accession number never reaches a log: records name a retrieval
by `accession_reference` (a keyed hash), and `RedactRequests` takes query strings and UIDs
out of what the HTTP libraries log.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import hmac
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from retrying import RetryError

from .engine.pipeline import anonymize_directory
from .engine.profile import Options
from .services import anonymizer_secret

log = logging.getLogger(__name__)

# Whatever the PACS stored, as stored: without it a PACS transcodes compressed images to
# Explicit VR Little Endian (Orthanc even drops those it cannot transcode).
ANY_TRANSFER_SYNTAX = (("application/dicom", "*"),)
RESULT_FILE = "pacs-retrieval.json"
REPORT_FILE = "deidentification-report.json"
RESULT_FORMAT = "peerlearning-pacs-retrieval/1"
MAX_ACCESSION_LENGTH = 16  # VR SH
RAW_PREFIX = "pl-pacs-originals-"
# Longer than any task may run (CELERY_TASK_TIME_LIMIT): older folders are orphans.
STALE_AFTER_SECONDS = 6 * 3600
RETRY_WAIT_MS = 500
PAGE = 1000  # QIDO-RS results asked for at once
# QIDO-RS reads these as wildcards or value lists: "*" would match every study.
_NOT_IN_ACCESSION = re.compile(r"[*?\\,\x00-\x1f\x7f]")

# DICOM JSON tags.
STUDY_UID, SERIES_UID, SOP_UID = "0020000D", "0020000E", "00080018"
ACCESSION, MODALITY, SERIES_NUMBER = "00080050", "00080060", "00200011"


class RedactRequests(logging.Filter):
    """Keep accession numbers and study UIDs out of the HTTP libraries' log records.

    dicomweb-client logs each request URL at DEBUG ("GET: …/studies?AccessionNumber=…") and
    the study UID at INFO, urllib3 the request line at DEBUG, and `retrying` the failed
    attempt, whose exception text quotes the URL. Query strings and UIDs are replaced in
    the rendered message before any handler sees it.
    """

    _query = re.compile(r"\?[^\s\"'>)]*")
    _uid = re.compile(r"(?<![\w.])(?:\d+\.){4,}\d+(?![\w.])")  # 5+ parts: not an IP address

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record: keep only its template
            text = str(record.msg)
        record.msg = self._uid.sub("[uid]", self._query.sub("?[query]", text))
        record.args = None
        return True


def install_log_redaction() -> None:
    """Put `RedactRequests` on the loggers that see request URLs (once; run at import)."""
    for name in ("dicomweb_client.web", "urllib3.connectionpool", "retrying"):
        logger = logging.getLogger(name)
        logger.filters = [f for f in logger.filters if not isinstance(f, RedactRequests)]
        logger.addFilter(RedactRequests())


install_log_redaction()


class PacsError(Exception):
    """A retrieval that did not happen; ``str(error)`` is a sentence to show a champion.

    ``code`` names the cause for callers (off, invalid, config, unreachable, timeout, tls,
    unauthorized, forbidden, not-found, several-studies, empty, http, protocol,
    destination); ``temporary`` says whether trying again later may help.
    """

    def __init__(self, message: str, *, code: str, temporary: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.temporary = temporary


def accession_reference(accession_number: str) -> str:
    """An opaque name for a retrieval in logs and results: a keyed hash, not reversible."""
    key = anonymizer_secret()
    key = key.encode("utf-8") if isinstance(key, str) else key
    message = b"pacs-accession:" + _normalized(accession_number).upper().encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:16]


def _normalized(accession_number: str) -> str:
    return (accession_number or "").strip()


def check_accession_number(accession_number: str) -> str:
    """The accession number, stripped; `PacsError` (invalid) if the PACS would misread it."""
    value = _normalized(accession_number)
    if not value:
        raise PacsError("Enter the study's accession number.", code="invalid")
    if len(value) > MAX_ACCESSION_LENGTH:
        raise PacsError(
            f"An accession number has at most {MAX_ACCESSION_LENGTH} characters.", code="invalid"
        )
    if _NOT_IN_ACCESSION.search(value):
        raise PacsError(
            "An accession number cannot contain *, ?, \\, commas or control characters "
            "(the PACS would read them as a search pattern).",
            code="invalid",
        )
    return value


# Configuration ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PacsConfig:
    """Where the PACS is and how to talk to it (settings `PACS_*`)."""

    url: str
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 30.0
    verify_tls: bool = True
    ca_bundle: str = ""
    work_dir: str = ""

    @classmethod
    def from_settings(cls) -> PacsConfig:
        """The site's PACS; `PacsError` (off) when `PACS_DICOMWEB_URL` is empty."""
        from django.conf import settings

        url = (getattr(settings, "PACS_DICOMWEB_URL", "") or "").strip()
        if not url:
            raise PacsError(
                "PACS retrieval is off: no PACS is configured (PACS_DICOMWEB_URL is empty). "
                "Upload the images instead, or ask an administrator to connect the PACS.",
                code="off",
            )
        return cls(
            url=url,
            username=getattr(settings, "PACS_USERNAME", "") or "",
            password=getattr(settings, "PACS_PASSWORD", "") or "",
            timeout=float(getattr(settings, "PACS_TIMEOUT", 30) or 30),
            verify_tls=bool(getattr(settings, "PACS_VERIFY_TLS", True)),
            ca_bundle=getattr(settings, "PACS_CA_BUNDLE", "") or "",
            work_dir=getattr(settings, "PACS_WORK_DIR", "") or "",
        )

    @property
    def where(self) -> str:
        """The PACS's address for messages: scheme, host and port, never credentials."""
        parts = urlsplit(self.url)
        host = parts.netloc.rpartition("@")[2]  # never the user name or password
        return f"{parts.scheme}://{host}"

    def session(self) -> requests.Session:
        session = requests.Session()
        # Proxy variables and ~/.netrc of the worker's environment are not followed: the
        # images go straight to the PACS named in the settings, with its credentials.
        session.trust_env = False
        if self.username or self.password:
            session.auth = (self.username, self.password)
        if self.ca_bundle:
            if not Path(self.ca_bundle).is_file():
                raise PacsError(
                    "PACS_CA_BUNDLE names a file that does not exist; the PACS's certificate "
                    "cannot be checked.",
                    code="config",
                )
            session.verify = self.ca_bundle
        else:
            session.verify = self.verify_tls
        return session

    def client(self):
        from dicomweb_client import DICOMwebClient

        session = self.session()
        try:
            client = DICOMwebClient(self.url, session=session, timeout=self.timeout)
        except ValueError:
            failure = PacsError(
                "PACS_DICOMWEB_URL is not a usable http(s) address of a DICOMweb service.",
                code="config",
            )
        else:
            # One retry (of a failed connection, or a 429/503/504) about a second later;
            # after that the caller, or the task's own retries, decide.
            client.set_http_retry_params(max_attempts=2, wait_exponential_multiplier=RETRY_WAIT_MS)
            return client
        raise failure


# Talking to the PACS --------------------------------------------------------------------


def _translate(exc: BaseException, config: PacsConfig, *, stage: str) -> PacsError:
    """A sentence for a failed request. Never the exception's text: it quotes the URL."""
    where = config.where
    if isinstance(exc, requests.exceptions.SSLError):
        return PacsError(
            f"The PACS at {where} did not present a certificate we trust. Check "
            "PACS_CA_BUNDLE (the hospital's CA certificate).",
            code="tls",
        )
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return PacsError(
            f"The PACS at {where} could not be reached within {config.timeout:g} s. "
            "Try again later; if it keeps failing, check PACS_DICOMWEB_URL.",
            code="unreachable",
            temporary=True,
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return PacsError(
            f"The PACS at {where} did not answer within {config.timeout:g} s. Try again later.",
            code="timeout",
            temporary=True,
        )
    if isinstance(exc, requests.exceptions.ConnectionError):
        return PacsError(
            f"The PACS at {where} cannot be reached (the connection failed). Try again "
            "later; if it keeps failing, check PACS_DICOMWEB_URL and the network.",
            code="unreachable",
            temporary=True,
        )
    status = None
    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        status = exc.response.status_code
    elif isinstance(exc, RetryError):
        # dicomweb-client's retries on 429/503/504 ran out: the last answer is the error.
        last = getattr(exc.last_attempt, "value", None)
        status = getattr(last, "status_code", None)
    if status is not None:
        if status == 401:
            return PacsError(
                f"The PACS at {where} refused our credentials (HTTP 401). Check "
                "PACS_USERNAME and PACS_PASSWORD.",
                code="unauthorized",
            )
        if status == 403:
            return PacsError(
                f"The PACS at {where} does not allow our account to {stage} (HTTP 403).",
                code="forbidden",
            )
        if status == 404 and stage == "search":
            return PacsError(
                f"There is no DICOMweb service at the configured address on {where} "
                "(HTTP 404). Check the path in PACS_DICOMWEB_URL.",
                code="config",
            )
        if status == 404:
            return PacsError(
                "The study disappeared from the PACS while it was being retrieved (HTTP 404).",
                code="not-found",
            )
        temporary = status in (408, 429) or status >= 500
        return PacsError(
            f"The PACS at {where} answered with an error (HTTP {status})"
            + (". Try again later." if temporary else "."),
            code="http",
            temporary=temporary,
        )
    if isinstance(exc, requests.exceptions.RequestException) and not isinstance(
        exc, requests.exceptions.InvalidJSONError
    ):
        return PacsError(
            f"The request to the PACS at {where} failed ({type(exc).__name__}).",
            code="unreachable",
            temporary=True,
        )
    return PacsError(
        f"The PACS at {where} sent an answer that is not valid DICOMweb ({type(exc).__name__}).",
        code="protocol",
    )


_EXPECTED = (requests.exceptions.RequestException, ValueError, KeyError, TypeError, IndexError)


def _call(config: PacsConfig, stage: str, function: Callable, *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except (*_EXPECTED, InvalidDicomError, RetryError) as exc:
        failure = _translate(exc, config, stage=stage)
    # Raised outside the handler, so the error carries no chained exception whose text
    # (a URL with the accession number) a traceback would print.
    raise failure


def _first(item: dict, tag: str) -> Any:
    values = (item.get(tag) or {}).get("Value") or []
    return values[0] if values else None


@dataclass(frozen=True)
class SeriesListing:
    series_instance_uid: str
    modality: str
    series_number: int | None
    instance_uids: frozenset[str]


@dataclass(frozen=True)
class StudyListing:
    """What the PACS holds for one accession number. Original UIDs: never log or show them."""

    study_instance_uid: str
    series: tuple[SeriesListing, ...]

    @property
    def instances(self) -> int:
        return sum(len(s.instance_uids) for s in self.series)


def _find(client, config: PacsConfig, accession_number: str) -> StudyListing:
    studies = _call(
        config,
        "search",
        client.search_for_studies,
        search_filters={"AccessionNumber": accession_number},
        fields=["StudyInstanceUID", "AccessionNumber"],
    )
    wanted = accession_number.upper()
    # A PACS may match loosely (fuzzy or case-insensitive matching): keep exact matches,
    # ignoring case as the PACS itself does.
    uids = {
        str(_first(item, STUDY_UID))
        for item in studies
        if _first(item, STUDY_UID)
        and str(_first(item, ACCESSION) or wanted).strip().upper() == wanted
    }
    if not uids:
        raise PacsError(
            "No study with this accession number was found in the PACS. Check the number "
            "(it is the study's accession number, not the patient's ID).",
            code="not-found",
        )
    if len(uids) > 1:
        raise PacsError(
            f"{len(uids)} studies in the PACS carry this accession number, so it does not "
            "say which one is meant. Ask the PACS team to correct it, or export the study "
            "and upload it.",
            code="several-studies",
        )
    (study_uid,) = uids
    described = _search_all(
        config,
        client.search_for_series,
        study_uid,
        key=SERIES_UID,
        fields=["SeriesInstanceUID", "Modality", "SeriesNumber"],
    )
    by_series = _instances(client, config, study_uid, None)
    if not by_series:
        # Some archives answer instance searches only below a series.
        for series_uid in described:
            by_series.update(_instances(client, config, study_uid, series_uid))
    listing = []
    for series_uid in set(described) | set(by_series):
        item = described.get(series_uid, {})
        number = _first(item, SERIES_NUMBER)
        listing.append(
            SeriesListing(
                series_instance_uid=series_uid,
                modality=str(_first(item, MODALITY) or ""),
                series_number=int(number) if number is not None else None,
                instance_uids=frozenset(by_series.get(series_uid, ())),
            )
        )
    listing.sort(
        key=lambda s: (s.series_number is None, s.series_number or 0, s.series_instance_uid)
    )
    study = StudyListing(study_uid, tuple(listing))
    if study.instances == 0:
        raise PacsError(
            "The PACS lists this study but no images in it, so there is nothing to retrieve.",
            code="empty",
        )
    return study


def _instances(
    client, config: PacsConfig, study_uid: str, series_uid: str | None
) -> dict[str, set[str]]:
    instances = _search_all(
        config,
        client.search_for_instances,
        study_uid,
        series_uid,
        key=SOP_UID,
        fields=["SeriesInstanceUID", "SOPInstanceUID"],
    )
    by_series: dict[str, set[str]] = {}
    for sop_uid, item in instances.items():
        found_series = _first(item, SERIES_UID) or series_uid
        if found_series:
            by_series.setdefault(str(found_series), set()).add(sop_uid)
    return by_series


def _search_all(
    config: PacsConfig, function: Callable, *args: Any, key: str, **kwargs: Any
) -> dict[str, dict]:
    """Every result of a QIDO-RS search by its UID, page after page.

    Paging stops at the first page that brings nothing new, not at an empty one: a PACS
    that ignores `offset` would otherwise be asked forever (dicomweb-client's
    `get_remaining` would), and one that caps `limit` below ours still gives everything.
    """
    found: dict[str, dict] = {}
    offset = 0
    while True:
        page = _call(config, "search", function, *args, limit=PAGE, offset=offset, **kwargs)
        new = {}
        for item in page:
            uid = _first(item, key)
            if uid and str(uid) not in found:
                new[str(uid)] = item
        if not new:
            return found
        found.update(new)
        offset += len(page)


def pacs_study_find(*, accession_number: str, config: PacsConfig | None = None) -> StudyListing:
    """The one study the PACS holds for an accession number, with its series and instances."""
    config = config or PacsConfig.from_settings()
    accession_number = check_accession_number(accession_number)
    return _find(config.client(), config, accession_number)


# Retrieving and de-identifying ---------------------------------------------------------------


@dataclass
class RetrievalResult:
    """What a retrieval produced. No PHI: safe to store, log, return from a task."""

    reference: str
    destination: str
    files: list[str]  # de-identified files, relative to `destination`
    series: int
    instances_expected: int
    instances_retrieved: int
    deidentification: dict  # `DirectorySummary.as_dict()`
    rejected: list[dict]  # {"index", "findings": [{"kind", "where"}]} for files not written
    needs_pixel_review: list[str]  # relative paths of written files a person must look at
    transfer_syntaxes: dict[str, int]  # transfer syntax UID -> instances, as retrieved
    retrieve_seconds: float
    deidentify_seconds: float
    finished_at: str
    format: str = RESULT_FORMAT

    @property
    def complete(self) -> bool:
        return self.instances_retrieved >= self.instances_expected

    @property
    def verifier_passed(self) -> bool:
        return self.deidentification.get("verifier_findings", 0) == 0

    @property
    def ok(self) -> bool:
        return self.complete and bool(self.deidentification.get("ok"))

    def as_dict(self) -> dict:
        return {**asdict(self), "complete": self.complete, "ok": self.ok}

    @classmethod
    def load(cls, destination: str | os.PathLike[str]) -> RetrievalResult | None:
        """The result a finished retrieval left in `destination`, or None."""
        path = Path(destination) / RESULT_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("format") != RESULT_FORMAT:
            return None
        data.pop("complete", None)
        data.pop("ok", None)
        try:
            return cls(**data)
        except TypeError:
            return None

    def summary(self) -> str:
        """One sentence for a person."""
        d = self.deidentification
        text = (
            f"Retrieved {self.instances_retrieved} of {self.instances_expected} images "
            f"({self.series} series) in {self.retrieve_seconds:.1f} s; de-identified in "
            f"{self.deidentify_seconds:.1f} s: {d.get('written', 0)} kept"
        )
        if d.get("rejected"):
            text += f", {d['rejected']} not kept because the verifier found identifiers"
        if d.get("failed"):
            text += f", {d['failed']} could not be de-identified"
        if d.get("skipped"):
            text += f", {d['skipped']} skipped"
        if self.needs_pixel_review:
            text += f"; {len(self.needs_pixel_review)} need a look at their pixels"
        return text + "."


def _check_destination(destination: Path) -> None:
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise PacsError(
            "The destination folder is not empty; retrieval writes only into a new folder.",
            code="destination",
        )
    destination.parent.mkdir(parents=True, exist_ok=True)


def _download(
    client, config: PacsConfig, study: StudyListing, raw: Path, on_original
) -> tuple[int, dict[str, int]]:
    """Stream every instance of the study into `raw`; returns (instances, transfer syntaxes)."""
    expected = {uid for s in study.series for uid in s.instance_uids}
    seen: set[str] = set()
    syntaxes: dict[str, int] = {}
    for series in study.series:
        instances: Iterator[Dataset] = _call(
            config,
            "retrieve",
            client.iter_series,
            study.study_instance_uid,
            series.series_instance_uid,
            media_types=ANY_TRANSFER_SYNTAX,
        )
        while True:
            ds = _call(config, "retrieve", next, instances, None)
            if ds is None:
                break
            sop_uid = str(ds.get("SOPInstanceUID", ""))
            if sop_uid in seen:
                continue
            seen.add(sop_uid)
            syntax = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "")
            syntaxes[syntax] = syntaxes.get(syntax, 0) + 1
            if on_original is not None:
                on_original(ds)
            _save(ds, raw / f"{len(seen):06d}.dcm")  # a counter, never a header value
    return len(seen & expected), syntaxes


def _folder(*, prefix: str, parent: Path) -> Path:
    """A new private folder (mode 0700)."""
    try:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    except OSError:
        failure = PacsError(
            f"A working folder could not be made in {parent} (check PACS_WORK_DIR and the "
            "destination's folder).",
            code="storage",
        )
    raise failure


def _save(ds: Dataset, path: Path) -> None:
    try:
        ds.save_as(path, enforce_file_format=True)
    except OSError:
        failure = PacsError(
            "The retrieved images could not be written to the work folder (is the disk "
            "full? see PACS_WORK_DIR). Nothing was kept.",
            code="storage",
        )
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        # The type only: pydicom's messages can quote a header value.
        failure = PacsError(
            f"An image the PACS sent could not be stored as DICOM ({type(exc).__name__}). "
            "Nothing was kept.",
            code="protocol",
        )
    else:
        return
    raise failure


def _sweep_stale_originals(work_dir: Path) -> None:
    """Delete originals left behind by a worker that was killed mid-retrieval."""
    cutoff = time.time() - STALE_AFTER_SECONDS
    for folder in work_dir.glob(f"{RAW_PREFIX}*"):
        with contextlib.suppress(OSError):  # another worker may be sweeping it right now
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)


def _rejected_files(report_path: Path) -> tuple[list[dict], list[str]]:
    report = json.loads(report_path.read_text(encoding="utf-8"))
    rejected, review = [], []
    for entry in report.get("files", []):
        if entry.get("status") in ("rejected", "failed"):
            findings = (entry.get("verifier") or {}).get("findings", [])
            rejected.append(
                {"index": entry["index"], "status": entry["status"], "findings": findings}
            )
        elif entry.get("status") == "written" and entry.get("needs_pixel_review"):
            review.append(entry["output"])
    return rejected, review


def pacs_retrieve_deidentified(
    *,
    accession_number: str,
    case_key: str,
    destination: str | os.PathLike[str],
    options: Options | None = None,
    secret: str | bytes | None = None,
    on_original: Callable[[Dataset], None] | None = None,
    config: PacsConfig | None = None,
) -> RetrievalResult:
    """Retrieve the study with this accession number, de-identified and verified, into
    `destination` (a new or empty folder). Raises `PacsError` with a message to show.

    `on_original`, if given, is called with each original dataset before it is
    de-identified (to keep the identifiers a later text sweep needs); the originals
    themselves are deleted as soon as the de-identification is done.
    """
    config = config or PacsConfig.from_settings()
    accession_number = check_accession_number(accession_number)
    reference = accession_reference(accession_number)
    destination = Path(destination)
    _check_destination(destination)
    client = config.client()
    started = time.monotonic()
    work_dir = Path(config.work_dir or tempfile.gettempdir())
    _sweep_stale_originals(work_dir)
    raw = staging = None
    try:
        raw = _folder(prefix=RAW_PREFIX, parent=work_dir)
        staging = _folder(prefix=f".{destination.name}.partial-", parent=destination.parent)
        study = _find(client, config, accession_number)
        retrieved, syntaxes = _download(client, config, study, raw, on_original)
        fetched = time.monotonic()
        summary = anonymize_directory(
            raw,
            staging,
            case_key=case_key,
            report_path=staging / REPORT_FILE,
            secret=secret if secret is not None else anonymizer_secret(),
            options=options,
        )
        shutil.rmtree(raw, ignore_errors=True)
        done = time.monotonic()
        rejected, review = _rejected_files(staging / REPORT_FILE)
        result = RetrievalResult(
            reference=reference,
            destination=str(destination.absolute()),
            files=sorted(
                p.relative_to(staging).as_posix() for p in staging.glob("*/*.dcm") if p.is_file()
            ),
            series=len(study.series),
            instances_expected=study.instances,
            instances_retrieved=retrieved,
            deidentification=summary.as_dict(),
            rejected=rejected,
            needs_pixel_review=review,
            transfer_syntaxes=syntaxes,
            retrieve_seconds=round(fetched - started, 3),
            deidentify_seconds=round(done - fetched, 3),
            finished_at=datetime.datetime.now(tz=datetime.UTC).isoformat(timespec="seconds"),
        )
        # Written last: a folder with this file holds a finished retrieval.
        (staging / RESULT_FILE).write_text(json.dumps(result.as_dict(), indent=1), "utf-8")
        _move_into_place(staging, destination)
    except PacsError as error:
        log.warning("PACS retrieval %s failed: %s", reference, error.code)
        raise
    finally:
        for folder in (raw, staging):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
    log.info(
        "PACS retrieval %s: %d/%d instances in %d series, %.1f s retrieving, "
        "%.1f s de-identifying; %d written, %d rejected, %d failed",
        reference,
        result.instances_retrieved,
        result.instances_expected,
        result.series,
        result.retrieve_seconds,
        result.deidentify_seconds,
        summary.written,
        summary.rejected,
        summary.failed,
    )
    return result


def _move_into_place(staging: Path, destination: Path) -> None:
    try:
        if destination.is_dir():
            destination.rmdir()  # empty (checked before); rename will not replace it otherwise
        staging.rename(destination)
    except OSError:
        failure = PacsError(
            "Another retrieval filled the destination folder at the same time; this one "
            "was discarded.",
            code="destination",
        )
    else:
        return
    raise failure
