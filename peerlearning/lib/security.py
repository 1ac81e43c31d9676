"""Response headers that Django's SecurityMiddleware does not set, and log filters.

Imported by the LOGGING configuration, before the app registry is ready: nothing here may
import models or DRF at module level.
"""

import logging
import re
import time

from django.conf import settings

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


class SecurityHeadersMiddleware:
    """A strict Content-Security-Policy and a permissions policy on every response.

    Every response to a signed-in person is `Cache-Control: no-store`, because any page,
    PDF or export may show a patient's accession number. A view's own Cache-Control (a
    download helper's `max-age`, say) does not loosen that: it is replaced. Static files
    are served by WhiteNoise before sign-in is looked at, so they keep their long cache.
    API calls signed with a token count too: DRF sets `request.user` during the view.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = getattr(settings, "CONTENT_SECURITY_POLICY", CONTENT_SECURITY_POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
        return response


# Written in the session by IdleSessionMiddleware: when the idle deadline was last pushed.
SESSION_REFRESHED_AT = "_pl_refreshed_at"
# Sent by requests a page makes on its own, not a person (htmx polls: every element with
# `hx-trigger="every …"` carries `hx-headers='{"X-Poll": "1"}'`).
POLL_HEADER = "X-Poll"


def is_poll(request) -> bool:
    return request.headers.get(POLL_HEADER) == "1"


class IdleSessionMiddleware:
    """Push a session's idle deadline forward, writing the session at most once a minute.

    The session store ends a session SESSION_COOKIE_AGE after its last save. Saving it on
    every request (SESSION_SAVE_EVERY_REQUEST) cost a database write per page; instead a
    request marks the session modified, so SessionMiddleware saves it and the deadline
    moves, only when the last refresh is SESSION_REFRESH_SECONDS old or more (or when the
    session is being saved anyway). A session therefore ends between SESSION_COOKIE_AGE
    minus SESSION_REFRESH_SECONDS and SESSION_COOKIE_AGE after the last request.
    A poll (`is_poll`) is not a person's action and never pushes the deadline: a page left
    open on a 2-second poll still signs out when its person walks away. (A poll view that
    wrote the session would be saved, and move it; none does.)
    Sits after SessionMiddleware, so its response half runs before the session is saved.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        # Never so rarely that an active session could lapse between two refreshes.
        self.every = min(settings.SESSION_REFRESH_SECONDS, settings.SESSION_COOKIE_AGE // 10)

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or session.is_empty() or is_poll(request):
            return response  # no session cookie, signed out during the request, or a poll
        refreshed_at = session.get(SESSION_REFRESHED_AT, 0)  # loads the session if needed
        if session.is_empty():
            return response  # the cookie named a session that has ended: do not revive it
        now = int(time.time())
        if session.modified or now - refreshed_at >= self.every:
            session[SESSION_REFRESHED_AT] = now
        return response


# Logging --------------------------------------------------------------------------------

# "?" up to the end of the URL: a space, a quote, or the end of the text.
_QUERY = re.compile(r"\?[^\s\"']*")


class StripQueryStrings(logging.Filter):
    """Drop query strings from URLs in request log records.

    A PACS launch URL carries the accession number in its query string
    (`/submissions/submit/?accession=…`). Django's own `django.request` messages use the
    path alone, but the development server (`django.server`) logs the whole request line.
    The record is rewritten in place, so every handler after this filter sees the stripped
    text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "?" in record.msg and not record.args:
            record.msg = _QUERY.sub("", record.msg)
        if record.args:
            if isinstance(record.args, tuple):
                record.args = tuple(
                    _QUERY.sub("", arg) if isinstance(arg, str) else arg for arg in record.args
                )
            elif isinstance(record.args, dict):
                record.args = {
                    key: _QUERY.sub("", value) if isinstance(value, str) else value
                    for key, value in record.args.items()
                }
        return True


# PostgreSQL puts the offending values in an error's DETAIL line ("Key (submitter_id,
# accession_number)=(7, A123) already exists."), and a traceback prints it.
_DETAIL = re.compile(r"^(\s*DETAIL:).*$", re.MULTILINE)


class RedactDatabaseDetails(logging.Filter):
    """Keep the values of a database error's DETAIL line out of logged tracebacks.

    Attached to the handlers: the traceback is rendered once here, redacted, and stored as
    `record.exc_text`, which `logging.Formatter` prints instead of rendering it again.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            text = record.exc_text or self._formatter.formatException(record.exc_info)
            record.exc_text = _DETAIL.sub(r"\1 (values not logged)", text)
        if isinstance(record.msg, str) and "DETAIL:" in record.msg:
            record.msg = _DETAIL.sub(r"\1 (values not logged)", record.msg)
        return True
