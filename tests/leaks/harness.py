"""The leak harness: everything a persona can reach, as text, and what changed between two
snapshots.

`snapshot(client, user)` follows every same-site link from the home page and the API roots
(pages, htmx fragments named by `hx-get`, GET forms with their default values, exports,
PDFs, calendar files, JSON) and adds the e-mails owed to the person with their
attachments. Each document becomes a set of lines: a table row, a list item, a paragraph,
a CSV or XLSX row, a PDF line (pdftotext -layout), a JSON object. Then "what does this
persona see about person X" is the lines that name X, plus every line of a document about
X (a page whose URL names X's id as a person), and two snapshots can be compared on that.
"""

import csv
import io
import json
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from django.urls import Resolver404, resolve

from peerlearning.models import OutboundEmail, User

# Never followed: leaving the session, changing state through GET-looking links, static
# files, the admin (site administrators only; tested in submissions/tests/test_disclosure.py)
# and the API's schema pages (no data).
SKIPPED = re.compile(
    r"^/(static|media|admin|accounts|api/schema|api/docs)/|logout|sign-out|/delete/|/retry/"
)
# URL names whose `pk` is a person: the document is about that person.
PERSON_VIEWS = {
    "reporting:monitoring-person",
    "reporting:oppe-radiologist",
    "reporting:oppe-pdf",
    "reporting:oppe-referral",
    "reporting:moc-letter",
}
# Query parameters that pick a person (not `user`: the reminder preview shows one e-mail
# whose section totals are everyone's; its lines naming the person are still compared).
PERSON_PARAMS = ("person", "radiologist", "user_id")
PER_SHAPE = 4  # documents of one URL shape (ids replaced): enough to see each kind of row
LIMIT = 400

BLOCK_TAGS = {
    "tr", "li", "p", "div", "section", "h1", "h2", "h3", "h4", "h5", "h6", "dt", "dd",
    "br", "table", "thead", "tbody", "option", "caption", "figcaption", "header", "footer",
    "title", "td-break", "ul", "ol", "form", "label", "legend", "summary", "article", "nav",
}  # fmt: skip
CELL_TAGS = {"td", "th"}

# What differs between two requests of the same page without anything having happened.
VOLATILE = [
    (re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"'), "csrf"),
    (re.compile(r'nonce="[^"]*"'), "nonce"),
    (re.compile(r"\b\d{1,2}:\d{2}(:\d{2})?\b"), "HH:MM"),
    (re.compile(r"\b\d+\s+(second|minute)s?\b"), "N minutes"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}T[\d:.+\-Z]+"), "ISO"),
]


@dataclass
class Document:
    url: str
    kind: str
    lines: list[str]
    name: str = ""  # the URL name, when it resolves
    about: int | None = None  # the person the document is about, if any

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class Snapshot:
    user: User
    documents: dict[str, Document] = field(default_factory=dict)

    def lines_about(self, person: User, *, ignore=()) -> dict[str, set[str]]:
        """{document key: the lines that speak of `person`} (see the module docstring)."""
        names = _names(person)
        found = {}
        for key, doc in self.documents.items():
            if any(rule(doc) for rule in ignore):
                continue
            if doc.about == person.pk:
                found[key] = set(doc.lines)
                continue
            hits = {line for line in doc.lines if any(n in line.lower() for n in names)}
            if hits:
                found[key] = hits
        return found

    def mentions(self, text: str) -> list[str]:
        text = text.lower()
        return [key for key, doc in self.documents.items() if text in doc.text.lower()]


def _names(person: User) -> list[str]:
    # The canary last name catches "Quaxmire, Zelda" and "Z. Quaxmire" alike.
    return [n.lower() for n in (person.last_name, person.email) if n]


class _Text(HTMLParser):
    """HTML as lines: one per block (a table row stays one line, cells joined by " | ")."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.links: list[str] = []
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._skip = 0
        self._select: str | None = None

    def _flush(self):
        line = " ".join(" ".join(self.current).split())
        if line.strip(" |"):
            self.lines.append(line)
        self.current = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style", "template"):
            self._skip += 1
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        for attr in ("hx-get", "data-href"):
            if attrs.get(attr):
                self.links.append(attrs[attr])
        if tag == "form":
            method = (attrs.get("method") or "get").lower()
            self._form = {"action": attrs.get("action") or "", "method": method, "fields": []}
        if self._form is not None:
            if tag == "input" and attrs.get("name"):
                kind = (attrs.get("type") or "text").lower()
                if kind in ("checkbox", "radio") and "checked" not in attrs:
                    pass
                elif kind not in ("submit", "button", "file", "password"):
                    self._form["fields"].append((attrs["name"], attrs.get("value") or ""))
            if tag == "select" and attrs.get("name"):
                self._select = attrs["name"]
                self._form["fields"].append((self._select, None))
            if tag == "option" and self._select is not None:
                fields = self._form["fields"]
                name, value = fields[-1]
                if value is None or "selected" in attrs:
                    fields[-1] = (name, attrs.get("value", ""))
        if tag in BLOCK_TAGS:
            self._flush()
        if tag in CELL_TAGS and self.current:
            self.current.append("|")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template"):
            self._skip = max(self._skip - 1, 0)
        if tag == "select":
            self._select = None
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        if tag in BLOCK_TAGS:
            self._flush()

    def handle_data(self, data):
        if not self._skip:
            self.current.append(data)

    def close(self):
        super().close()
        self._flush()


def _normalise(line: str) -> str:
    for pattern, replacement in VOLATILE:
        line = pattern.sub(replacement, line)
    return line


def pdf_lines(content: bytes) -> list[str]:
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", "-q", "-", "-"],
            input=content,
            capture_output=True,
            check=True,
        ).stdout.decode("utf-8", "replace")
        return [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    from submissions.tests.pdftext import pdf_text

    return [pdf_text(content)]


def xlsx_lines(content: bytes) -> list[str]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    lines = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            cells = ["" if v is None else str(v) for v in row]
            if any(cells):
                lines.append(f"{sheet.title}: " + " | ".join(cells))
    return lines


def csv_lines(content: bytes) -> list[str]:
    text = content.decode("utf-8-sig", "replace")
    return [" | ".join(row) for row in csv.reader(io.StringIO(text)) if any(row)]


def json_lines(payload) -> list[str]:
    """One line per object (a submission, a person), so a changed field shows in its row."""
    lines = []

    def walk(value, path):
        if isinstance(value, dict):
            scalars = {k: v for k, v in value.items() if not isinstance(v, dict | list)}
            if scalars:
                lines.append(f"{path}: " + json.dumps(scalars, sort_keys=True, default=str))
            for key, child in value.items():
                if isinstance(child, dict | list):
                    walk(child, f"{path}.{key}")
        elif isinstance(value, list):
            for child in value:
                walk(child, f"{path}[]")
        else:
            lines.append(f"{path}: {value}")

    walk(payload, "$")
    return lines


def _body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def document_lines(content: bytes, content_type: str, filename: str = "") -> tuple[str, list]:
    """(kind, lines) of one file; a zip becomes the lines of its members, prefixed."""
    content_type = content_type.split(";")[0].strip().lower()
    if content_type == "application/pdf" or filename.endswith(".pdf"):
        return "pdf", pdf_lines(content)
    if "spreadsheetml" in content_type or filename.endswith(".xlsx"):
        return "xlsx", xlsx_lines(content)
    if content_type == "text/csv" or filename.endswith(".csv"):
        return "csv", csv_lines(content)
    if content_type == "text/calendar" or filename.endswith(".ics"):
        text = content.decode("utf-8", "replace").replace("\r\n ", "")
        return "ics", [line for line in text.splitlines() if not line.startswith(("DTSTAMP",))]
    if content_type == "application/json":
        return "json", json_lines(json.loads(content or b"null"))
    if content_type in ("application/zip", "application/x-zip-compressed") or filename.endswith(
        ".zip"
    ):
        lines = []
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            for member in archive.namelist():
                _, inner = document_lines(archive.read(member), "", member)
                lines += [f"{member}: {line}" for line in inner]
        return "zip", lines
    if content_type == "text/html":
        parser = _Text()
        parser.feed(content.decode("utf-8", "replace"))
        parser.close()
        return "html", parser.lines
    return "text", content.decode("utf-8", "replace").splitlines()


def _html_links(content: bytes) -> tuple[list[str], list[dict]]:
    parser = _Text()
    parser.feed(content.decode("utf-8", "replace"))
    parser.close()
    return parser.links, parser.forms


def _json_links(payload) -> list[str]:
    found = []
    if isinstance(payload, dict):
        for value in payload.values():
            found += _json_links(value)
    elif isinstance(payload, list):
        for value in payload:
            found += _json_links(value)
    elif isinstance(payload, str) and payload.startswith(("http://testserver/", "/api/")):
        found.append(payload)
    return found


def _shape(url: str) -> str:
    parts = urlsplit(url)
    keys = sorted(k for k, _ in parse_qsl(parts.query))
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(keys)


def _about(path: str, query: str, name: str, kwargs: dict) -> int | None:
    if name in PERSON_VIEWS:
        for key in ("pk", "user_id", "person"):
            if key in kwargs:
                return int(kwargs[key])
    for key, value in parse_qsl(query):
        if key in PERSON_PARAMS and value.isdigit():
            return int(value)
    return None


def crawl(client, start=("/", "/api/v1/submissions/", "/api/v1/conferences/")) -> dict:
    """Every document reachable from `start` by GET, as {url: Document}."""
    queue = list(start)
    seen: set[str] = set()
    shapes: dict[str, int] = {}
    documents: dict[str, Document] = {}
    while queue and len(documents) < LIMIT:
        url = queue.pop(0)
        parts = urlsplit(urljoin("http://testserver/", url))
        if parts.netloc not in ("", "testserver"):
            continue
        url = parts.path + (f"?{parts.query}" if parts.query else "")
        if url in seen or SKIPPED.search(parts.path):
            continue
        seen.add(url)
        try:
            match = resolve(parts.path)
            name = ":".join([*match.namespaces, match.url_name or ""])
            about = _about(parts.path, parts.query, name, match.kwargs)
        except Resolver404:
            name, about = "", None
        # Every person's own pages are reached; other kinds are sampled by shape.
        shape = _shape(url) + (f"#{about}" if about is not None else "")
        if shapes.get(shape, 0) >= PER_SHAPE:
            continue
        shapes[shape] = shapes.get(shape, 0) + 1
        response = client.get(url)
        if response.status_code in (301, 302, 303):
            queue.append(response["Location"])
            continue
        if response.status_code != 200:
            continue
        content = _body(response)
        content_type = response.get("Content-Type", "text/html")
        disposition = response.get("Content-Disposition", "")
        filename = disposition.rsplit("filename=", 1)[-1].strip('"') if disposition else ""
        kind, lines = document_lines(content, content_type, filename)
        documents[url] = Document(
            url=url,
            kind=kind,
            lines=sorted({_normalise(line) for line in lines}),
            name=name,
            about=about,
        )
        if kind == "html":
            links, forms = _html_links(content)
            queue += [urljoin(url, link) for link in links if not link.startswith("#")]
            for form in forms:
                if form["method"] != "get":
                    continue
                query = urlencode([(k, v) for k, v in form["fields"] if v is not None])
                queue.append(urljoin(url, form["action"] or parts.path) + f"?{query}")
        elif kind == "json":
            payload = json.loads(content or b"null")
            queue += _json_links(payload)
            # A list answers ids, not links: each item's own answer is a document too.
            if isinstance(payload, dict) and isinstance(payload.get("results"), list):
                queue += [
                    f"{parts.path}{item['id']}/"
                    for item in payload["results"]
                    if isinstance(item, dict) and "id" in item
                ]
    return documents


def emails_to(user: User) -> dict[str, Document]:
    """The e-mails owed to the person, with their attachments, as documents."""
    from django.core.files.storage import default_storage

    found = {}
    for email in OutboundEmail.objects.filter(to=user.email).order_by("pk"):
        lines = [email.subject, *email.body_text.splitlines()]
        for attachment in email.attachments:
            with default_storage.open(attachment["path"], "rb") as handle:
                _, inner = document_lines(
                    handle.read(), attachment["mimetype"], attachment["filename"]
                )
            lines += [f"{attachment['filename']}: {line}" for line in inner]
        found[f"email:{email.key}"] = Document(
            url=f"email:{email.key}",
            kind="email",
            lines=sorted({_normalise(line) for line in lines if line.strip()}),
        )
    return found


def snapshot(client, user: User) -> Snapshot:
    client.force_login(user)
    documents = crawl(client)
    documents.update(emails_to(user))
    client.logout()
    return Snapshot(user=user, documents=documents)


def changed_about(before: Snapshot, after: Snapshot, person: User, *, ignore=()) -> dict:
    """{document: (lines only before, lines only after)} among the lines about `person`."""
    old = before.lines_about(person, ignore=ignore)
    new = after.lines_about(person, ignore=ignore)
    changes = {}
    for key in set(old) | set(new):
        gone, came = (
            old.get(key, set()) - new.get(key, set()),
            new.get(key, set()) - old.get(key, set()),
        )
        if gone or came:
            changes[key] = (sorted(gone), sorted(came))
    return changes
