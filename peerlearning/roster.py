"""The roster: who takes part in the program, in which section and with which roles.

`roster_parse()` reads and checks a CSV file without touching the database;
`roster_import()` applies checked rows in one transaction. The `import_roster` command and
the admin's "Import roster" page both call these two, so they accept and refuse exactly the
same files. Choices (duplicates merge, sections are created, nothing is removed unless
asked) are explained in docs/roster.md.
"""

import csv
import datetime
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from peerlearning.lib.audit import audit_record
from peerlearning.lib.emails import email_enqueue
from peerlearning.lib.spreadsheets import cell_unescaped
from peerlearning.lib.tables import TableError, header_key, table_read, text_decode
from peerlearning.lib.uploads import SNIFF_BYTES, sniff
from peerlearning.models import AuditEvent, Membership, OutboundEmail, Role, Section, User

COLUMNS = ("email", "first_name", "last_name", "roles", "section", "participating")

# Headers people actually type, after lower-casing and turning spaces and dashes into "_".
COLUMN_ALIASES = {
    "e_mail": "email",
    "email_address": "email",
    "e_mail_address": "email",
    "first": "first_name",
    "firstname": "first_name",
    "given_name": "first_name",
    "last": "last_name",
    "lastname": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "role": "roles",
    "section_slug": "section",
    "participates": "participating",
}

YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}
ROLE_SEPARATORS = re.compile(r"[;,]")
MAX_ERRORS = 50
MAX_HEADER_COLUMNS = 50


# Role values ("admin_assistant") and their labels ("Admin assistant", "PL champion").
ROLE_LOOKUP = {
    **{header_key(label): value for value, label in Role.choices},
    **{v: v for v in Role.values},
}


def _squash(value: str) -> str:
    return " ".join(value.split())


def section_slug(value: str) -> str:
    """The slug a section cell stands for ("Body imaging" and "body-imaging" are one)."""
    return slugify(value)


@dataclass(frozen=True)
class RosterRow:
    """One checked line of the file: a person, their roles in one section."""

    line: int
    email: str
    first_name: str
    last_name: str
    roles: tuple[str, ...]
    section: str
    participating: bool


@dataclass(frozen=True)
class RosterError:
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}" if self.line else self.message


@dataclass
class RosterParseResult:
    rows: list[RosterRow] = field(default_factory=list)
    errors: list[RosterError] = field(default_factory=list)
    # The decoded file, for a preview to hand on to its confirmation.
    text: str = ""
    warnings: list[str] = field(default_factory=list)
    # Problems past MAX_ERRORS are counted, not listed.
    more_errors: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_messages(self) -> list[str]:
        messages = [str(error) for error in self.errors]
        if self.more_errors:
            messages.append(f"… and {self.more_errors} more problems.")
        return messages

    def _error(self, line: int | None, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RosterError(line, message))
        else:
            self.more_errors += 1


def roster_parse(source: bytes | str | IO) -> RosterParseResult:
    """Read and check a roster (CSV or an Excel workbook); every problem comes back with its
    line number."""
    result = RosterParseResult()
    data = source.read() if hasattr(source, "read") else source
    workbook = isinstance(data, bytes) and sniff(data[:SNIFF_BYTES]).kind == "zip"
    try:
        if not workbook:
            data = result.text = text_decode(data)
        table = table_read(
            data,
            columns=COLUMNS,
            aliases=COLUMN_ALIASES,
            noun="people",
            what="a roster",
            max_columns=MAX_HEADER_COLUMNS,
        )
        result.warnings.extend(table.warnings)
        # A roster is small: read it all before checking rows. Our own export wrote text that
        # looks like a formula with a leading apostrophe; it comes back as typed.
        records = [(line, [cell_unescaped(cell) for cell in record]) for line, record in table.rows]
    except TableError as error:
        result._error(error.line, error.message)
        return result
    if workbook:
        result.text = _as_csv([table.header, *(record for _, record in records)])

    width = len(table.header)
    for line, record in records:
        if any(cell.strip() for cell in record[width:]):
            result._error(line, f"has {len(record)} values but the header names {width}.")
            continue
        row = _row(line, table.values(record), result)
        if row is not None:
            result.rows.append(row)

    if not result.rows and result.ok:
        result._error(None, "The file has a header line but no people.")
    _check_across_rows(result)
    return result


def _as_csv(records: list[list[str]]) -> str:
    """A workbook's rows as CSV text, for the preview to hand on to its confirmation."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(records)
    return buffer.getvalue()


def _row(line: int, values: dict[str, str], result: RosterParseResult) -> RosterRow | None:
    problems: list[str] = []

    email = values["email"].strip().lower()
    if not email:
        problems.append("the e-mail address is empty")
    else:
        try:
            validate_email(email)
        except ValidationError:
            problems.append(f"“{email}” is not a valid e-mail address")

    names = {}
    for column, label in (("first_name", "first name"), ("last_name", "last name")):
        names[column] = _squash(values[column])
        if not names[column]:
            problems.append(f"the {label} is empty")
        elif len(names[column]) > 150:
            problems.append(f"the {label} is longer than 150 characters")

    roles: list[str] = []
    cells = [cell for cell in ROLE_SEPARATORS.split(values["roles"]) if cell.strip()]
    if not cells:
        problems.append("no role is given")
    for cell in cells:
        role = ROLE_LOOKUP.get(header_key(cell))
        if role is None:
            problems.append(
                f"“{cell.strip()}” is not a role (use one of: {', '.join(Role.values)})"
            )
        elif role not in roles:
            roles.append(role)

    section = _squash(values["section"])
    if not section:
        problems.append("the section is empty")
    elif not section_slug(section) or len(section_slug(section)) > 60 or len(section) > 100:
        problems.append(f"“{section}” cannot be a section name or slug")

    answer = values["participating"].strip().lower()
    participating = answer in YES
    if answer not in YES | NO:
        shown = values["participating"].strip()
        problems.append(
            f"participating is “{shown}”; write yes or no" if shown else "participating is empty"
        )

    if problems:
        result._error(line, "; ".join(problems) + ".")
        return None
    return RosterRow(
        line=line,
        email=email,
        first_name=names["first_name"],
        last_name=names["last_name"],
        roles=tuple(roles),
        section=section,
        participating=participating,
    )


def _check_across_rows(result: RosterParseResult) -> None:
    """A person listed twice must agree with themselves; their roles are then merged."""
    first_seen: dict[str, RosterRow] = {}
    role_seen: dict[tuple[str, str, str], RosterRow] = {}
    for row in result.rows:
        earlier = first_seen.setdefault(row.email, row)
        if (earlier.first_name, earlier.last_name) != (row.first_name, row.last_name):
            result._error(
                row.line,
                f"{row.email} is on line {earlier.line} as “{earlier.first_name} "
                f"{earlier.last_name}” and here as “{row.first_name} {row.last_name}”; "
                "use one name.",
            )
        for role in row.roles:
            key = (row.email, section_slug(row.section), role)
            before = role_seen.setdefault(key, row)
            if before.participating != row.participating:
                result._error(
                    row.line,
                    f"{row.email} is a {role} in {row.section} on line {before.line} too, "
                    "with a different participating value.",
                )


@dataclass(frozen=True)
class RosterChange:
    line: int | None
    email: str
    description: str


@dataclass
class RosterImportSummary:
    users_created: int = 0
    users_updated: int = 0
    users_unchanged: int = 0
    sections_created: int = 0
    memberships_created: int = 0
    memberships_updated: int = 0
    memberships_unchanged: int = 0
    memberships_ended: int = 0
    changes: list[RosterChange] = field(default_factory=list)
    section_ids: list[int] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "users_created": self.users_created,
            "users_updated": self.users_updated,
            "users_unchanged": self.users_unchanged,
            "sections_created": self.sections_created,
            "memberships_created": self.memberships_created,
            "memberships_updated": self.memberships_updated,
            "memberships_unchanged": self.memberships_unchanged,
            "memberships_ended": self.memberships_ended,
        }

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def describe(self) -> str:
        text = (
            f"People: {self.users_created} new, {self.users_updated} updated, "
            f"{self.users_unchanged} unchanged. "
            f"Memberships: {self.memberships_created} new, {self.memberships_updated} updated, "
            f"{self.memberships_unchanged} unchanged"
        )
        if self.memberships_ended:
            text += f", {self.memberships_ended} ended"
        text += "."
        if self.sections_created:
            text += f" Sections: {self.sections_created} new."
        return text

    def _note(self, line: int | None, email: str, description: str) -> None:
        self.changes.append(RosterChange(line, email, description))


@transaction.atomic
def roster_import(
    *,
    rows: Sequence[RosterRow],
    actor: User | None,
    sync: bool = False,
    dry_run: bool = False,
    request: HttpRequest | None = None,
    source: str = "",
) -> RosterImportSummary:
    """Add the people and roles of checked roster rows; `dry_run` reports and rolls back."""
    if not rows:
        raise ValueError("A roster import needs at least one row.")
    today = timezone.localdate()
    summary = RosterImportSummary()
    sections = _sections_resolve(rows, summary)
    users = _users_apply(rows, summary)
    wanted = _memberships_apply(rows, users, sections, summary, today)
    if sync:
        _memberships_end_missing(wanted, sections, summary, today)
    summary.section_ids = sorted({section.pk for section in sections.values()})

    if dry_run:
        transaction.set_rollback(True)
    elif summary.changed:
        # Counts and ids only: the trail never holds names.
        audit_record(
            action=AuditEvent.Action.IMPORT,
            actor=actor,
            request=request,
            object_type="peerlearning.membership",
            detail={
                "what": "roster",
                "source": source,
                "rows": len(rows),
                "sync": sync,
                "sections": summary.section_ids,
                **summary.counts(),
            },
        )
    return summary


def _sections_resolve(
    rows: Sequence[RosterRow], summary: RosterImportSummary
) -> dict[str, Section]:
    """Section by cell text: an existing slug or name, else a new section."""
    existing = list(Section.objects.all())
    by_slug = {section.slug.lower(): section for section in existing}
    by_name = {section.name.casefold(): section for section in existing}
    resolved: dict[str, Section] = {}
    for row in rows:
        if row.section in resolved:
            continue
        slug = section_slug(row.section)
        # A cell written as a slug gets a readable name; a cell written as a name keeps it.
        name = slug.replace("-", " ").title() if row.section.lower() == slug else row.section
        section = (
            by_slug.get(row.section.lower())
            or by_slug.get(slug)
            or by_name.get(row.section.casefold())
            or by_name.get(name.casefold())
        )
        if section is None:
            section = Section.objects.create(name=name, slug=slug)
            by_slug[slug] = by_name[name.casefold()] = section
            summary.sections_created += 1
            summary._note(row.line, "", f"new section “{name}” ({slug})")
        resolved[row.section] = section
    return resolved


def _users_apply(rows: Sequence[RosterRow], summary: RosterImportSummary) -> dict[str, User]:
    first_rows: dict[str, RosterRow] = {}
    for row in rows:
        first_rows.setdefault(row.email, row)
    users = {
        user.email.lower(): user
        for user in User.objects.annotate(email_lower=Lower("email")).filter(
            email_lower__in=list(first_rows)
        )
    }
    new_users, renamed = [], []
    for email, row in first_rows.items():
        user = users.get(email)
        if user is None:
            user = User(email=email, first_name=row.first_name, last_name=row.last_name)
            # They sign in through an invitation, a password reset or hospital SSO.
            user.set_unusable_password()
            new_users.append(user)
            users[email] = user
            summary._note(row.line, email, f"new person {row.first_name} {row.last_name}")
        elif (user.first_name, user.last_name) != (row.first_name, row.last_name):
            summary._note(
                row.line,
                email,
                f"name “{user.first_name} {user.last_name}” becomes "
                f"“{row.first_name} {row.last_name}”",
            )
            user.first_name, user.last_name = row.first_name, row.last_name
            renamed.append(user)
        else:
            summary.users_unchanged += 1
    User.objects.bulk_create(new_users)
    User.objects.bulk_update(renamed, ["first_name", "last_name"])
    summary.users_created, summary.users_updated = len(new_users), len(renamed)
    return users


def _memberships_apply(
    rows: Sequence[RosterRow],
    users: dict[str, User],
    sections: dict[str, Section],
    summary: RosterImportSummary,
    today: datetime.date,
) -> set[tuple[int, int, str]]:
    existing = {
        (m.user_id, m.section_id, m.role): m
        for m in Membership.objects.filter(
            user__in=[user.pk for user in users.values()],
            section__in=[section.pk for section in sections.values()],
        )
    }
    wanted: set[tuple[int, int, str]] = set()
    new, changed = [], []
    for row in rows:
        user, section = users[row.email], sections[row.section]
        for role in row.roles:
            key = (user.pk, section.pk, role)
            if key in wanted:
                continue  # the same role on two agreeing lines
            wanted.add(key)
            where = f"{Role(role).label} in {section.name}"
            membership = existing.get(key)
            if membership is None:
                new.append(
                    Membership(
                        user=user,
                        section=section,
                        role=role,
                        participating=row.participating,
                        started_on=today,
                    )
                )
                summary._note(
                    row.line,
                    row.email,
                    f"joins as {where}" + ("" if row.participating else " (not participating)"),
                )
                continue
            notes = []
            if membership.ended_on is not None and membership.ended_on <= today:
                # One row per role: rejoining reopens it (see docs/roster.md).
                membership.ended_on = None
                notes.append(f"rejoins as {where}")
            if membership.participating != row.participating:
                membership.participating = row.participating
                notes.append(f"participating {'yes' if row.participating else 'no'} as {where}")
            if notes:
                changed.append(membership)
                summary._note(row.line, row.email, "; ".join(notes))
            else:
                summary.memberships_unchanged += 1
    Membership.objects.bulk_create(new)
    Membership.objects.bulk_update(changed, ["ended_on", "participating"])
    summary.memberships_created, summary.memberships_updated = len(new), len(changed)
    return wanted


def _memberships_end_missing(
    wanted: set[tuple[int, int, str]],
    sections: dict[str, Section],
    summary: RosterImportSummary,
    today: datetime.date,
) -> None:
    """--sync: end the roles the file no longer lists, in the sections it speaks of."""
    in_force = (
        Membership.objects.filter(section__in=[section.pk for section in sections.values()])
        .exclude(ended_on__lte=today)
        .select_related("user", "section")
    )
    to_end, to_delete = [], []
    for membership in in_force:
        if (membership.user_id, membership.section_id, membership.role) in wanted:
            continue
        # A membership that has not started yet was never in force: it goes away, because
        # ended_on must come after started_on.
        if membership.started_on >= today:
            to_delete.append(membership.pk)
        else:
            membership.ended_on = today
            to_end.append(membership)
        summary._note(
            None,
            membership.user.email,
            f"leaves {Role(membership.role).label} in {membership.section.name}",
        )
    Membership.objects.bulk_update(to_end, ["ended_on"])
    Membership.objects.filter(pk__in=to_delete).delete()
    summary.memberships_ended = len(to_end) + len(to_delete)


def invitation_link(user: User) -> str:
    """An absolute link where the person sets their password (allauth's reset-from-key)."""
    path = reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(user),
            "key": default_token_generator.make_token(user),
        },
    )
    return f"{settings.SITE_URL}{path}"


@transaction.atomic
def invitation_send(
    *, user: User, actor: User | None, request: HttpRequest | None = None
) -> tuple[OutboundEmail, bool]:
    """Owe the person an invitation e-mail (at most one a day); (email, created)."""
    if not user.is_active:
        raise ValueError(f"{user.email} is deactivated; activate the account before inviting.")
    today = timezone.localdate()
    email, created = email_enqueue(
        key=f"invitation:{user.pk}:{today:%Y%m%d}",
        to=user.email,
        subject=f"Your {settings.SITE_NAME} account",
        template="invitation",
        context={
            "user": user,
            "link": invitation_link(user),
            "valid_days": max(settings.PASSWORD_RESET_TIMEOUT // 86400, 1),
            "sign_in_url": f"{settings.SITE_URL}{reverse('account_login')}",
        },
    )
    if created:
        audit_record(
            action=AuditEvent.Action.CREATE,
            actor=actor,
            request=request,
            object_type="peerlearning.user",
            object_id=user.pk,
            detail={"what": "invitation sent"},
        )
    return email, created


def roster_names(*, also: Q | None = None) -> list[str]:
    """The names of everyone who holds or held a role (and of the people `also` selects),
    sorted: the roster the anonymizer removes wherever it finds it."""
    who = Q(pk__in=Membership.objects.values("user_id"))
    if also is not None:
        who |= also
    people = User.objects.filter(who).distinct().values_list("first_name", "last_name")
    return sorted({f"{first} {last}".strip() for first, last in people} - {""})
