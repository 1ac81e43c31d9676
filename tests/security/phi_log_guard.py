"""A pytest plugin: the whole run's log output must hold no accession number.

Every record any logger emits during the session (the root logger at DEBUG, and the loggers
that do not propagate to it, such as Django's `django.server` and Celery's) is kept in memory.
Every accession number the tests create is registered as its model instance is built
(`post_init`, so rows written with `bulk_create` and rows read back count too). When the
session ends, the log is scanned for each of them; a hit fails the run and names the
loggers that wrote it — never the accession number or the line itself, so the report does
not repeat the leak.

Registered from the root conftest.py (`pytest_plugins`). Accession numbers shorter than
MIN_LENGTH are not scanned for: "A123" would match unrelated text. Rows written with raw SQL
(the TAT import's staging table) build no model instance and are not registered; a test of
such code can call `GUARD.registry.add(value)` for the numbers in its input.
"""

import logging
import re
import threading

MIN_LENGTH = 6
# Loggers of the test harness, not of the product: aiosmtpd ("mail.log") is the SMTP server
# the `smtp_sink` fixture runs, and logs the messages it receives, as a hospital relay's own
# log would. Whether an e-mail may carry an accession number is a section setting.
HARNESS_LOGGERS = frozenset({"mail.log"})
# Fields that hold accession numbers (PHI); models that have one are found at session start.
FIELDS = ("accession_number", "accession")


class SessionLogBuffer(logging.Handler):
    """Keeps (logger name, rendered message) for every record of the session."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[tuple[str, str]] = []
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a record with bad arguments still counts, as its raw parts
            text = f"{record.msg!r} {record.args!r}"
        if record.exc_info:
            # What the site's handlers print: their filters may have redacted `exc_text`.
            text += "\n" + (record.exc_text or self._formatter.formatException(record.exc_info))
        if record.stack_info:
            text += "\n" + record.stack_info
        self.lines.append((record.name, text))


class AccessionRegistry:
    def __init__(self):
        self.values: set[str] = set()
        self._lock = threading.Lock()

    def add(self, value) -> None:
        if isinstance(value, str) and len(value.strip()) >= MIN_LENGTH:
            with self._lock:
                self.values.add(value.strip())

    def on_init(self, sender, instance, **kwargs) -> None:
        for name in FIELDS:
            self.add(instance.__dict__.get(name))


def leaking_loggers(lines: list[tuple[str, str]], accessions: set[str]) -> dict[str, int]:
    """{logger name: number of records} holding any of the accession numbers."""
    if not accessions or not lines:
        return {}
    # Longest first, so a number that contains another is matched whole; case-insensitive,
    # because forms upper-case what people type.
    pattern = re.compile(
        r"(?<![A-Za-z0-9])(?:"
        + "|".join(re.escape(a) for a in sorted(accessions, key=len, reverse=True))
        + r")(?![A-Za-z0-9])",
        re.IGNORECASE,
    )
    found: dict[str, int] = {}
    for name, text in lines:
        if name in HARNESS_LOGGERS:
            continue
        if pattern.search(text):
            found[name] = found.get(name, 0) + 1
    return found


class PhiLogGuard:
    def __init__(self):
        self.buffer = SessionLogBuffer()
        self.registry = AccessionRegistry()
        self._levels: dict[str, int] = {}
        self._attached: list[logging.Logger] = []
        self._handler_levels: list[tuple[logging.Handler, int]] = []

    # Attaching ------------------------------------------------------------------------

    def attach(self, config=None) -> None:
        """Catch DEBUG records, while every other handler keeps showing what it showed."""
        root = logging.getLogger()
        self._levels[""] = level = root.level
        handlers = list(root.handlers)
        plugin = config.pluginmanager.get_plugin("logging-plugin") if config else None
        for name in ("caplog_handler", "report_handler"):
            if plugin is not None and hasattr(plugin, name):
                handlers.append(getattr(plugin, name))
        for handler in handlers:
            if handler.level < level:
                self._handler_levels.append((handler, handler.level))
                handler.setLevel(level)
        root.setLevel(logging.DEBUG)
        self._attach_to(root)
        for name in ("django.request", "django.server", "django.security", "celery", "gunicorn"):
            logging.getLogger(name)  # make sure it exists, then catch it if it stops propagation
        self.reattach()

    def reattach(self) -> None:
        """Catch loggers that keep their records to themselves (propagate=False)."""
        root = logging.getLogger()
        if self.buffer not in root.handlers:
            self._attach_to(root)  # a test reconfigured logging
        for logger in list(logging.root.manager.loggerDict.values()):
            if isinstance(logger, logging.Logger) and not logger.propagate:
                self._attach_to(logger)

    def _attach_to(self, logger: logging.Logger) -> None:
        if self.buffer not in logger.handlers:
            logger.addHandler(self.buffer)
            self._attached.append(logger)

    def detach(self) -> None:
        for logger in self._attached:
            logger.removeHandler(self.buffer)
        logging.getLogger().setLevel(self._levels.get("", logging.WARNING))
        for handler, level in self._handler_levels:
            handler.setLevel(level)

    def connect_models(self) -> None:
        from django.apps import apps
        from django.db.models.signals import post_init

        for model in apps.get_models():
            if any(field.name in FIELDS for field in model._meta.get_fields()):
                post_init.connect(
                    self.registry.on_init, sender=model, weak=False, dispatch_uid=f"phi-{model}"
                )


GUARD = PhiLogGuard()


def pytest_sessionstart(session):
    GUARD.connect_models()
    GUARD.attach(session.config)


def pytest_runtest_setup(item):
    GUARD.reattach()


def pytest_sessionfinish(session, exitstatus):
    GUARD.detach()
    found = leaking_loggers(GUARD.buffer.lines, GUARD.registry.values)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if found:
        session.exitstatus = 1
        message = (
            "PHI in logs: an accession number used by the tests appears in log output of "
            + ", ".join(f"{name} ({count} records)" for name, count in sorted(found.items()))
            + ". Log ids, never accession numbers."
        )
        if reporter is not None:
            reporter.write_line(message, red=True, bold=True)
        else:  # pragma: no cover - no terminal (e.g. -p no:terminal)
            print(message)
    elif reporter is not None and session.config.getoption("verbose") > 0:
        reporter.write_line(
            f"PHI log guard: {len(GUARD.buffer.lines)} log records, "
            f"{len(GUARD.registry.values)} accession numbers, none leaked."
        )
