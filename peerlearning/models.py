"""People, sections and roles; API tokens; the e-mail outbox; the audit trail."""

import datetime
import hashlib

from django.conf import settings
from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from peerlearning.lib.text import validate_single_line


class Role(models.TextChoices):
    RADIOLOGIST = "radiologist", "Radiologist"
    TRAINEE = "trainee", "Trainee"
    CHAMPION = "champion", "PL champion"
    ADMIN_ASSISTANT = "admin_assistant", "Admin assistant"
    LEADER = "leader", "Department leader"
    QUALITY = "quality", "Quality team"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractUser):
    """A person who signs in with their e-mail address.

    Site administrators are `is_staff`; every other permission comes from memberships.
    """

    username = None
    email = models.EmailField("e-mail address", unique=True)
    npi = models.CharField(
        "NPI",
        max_length=10,
        blank=True,
        validators=[RegexValidator(r"^\d{10}$", "An NPI is ten digits.")],
    )
    ris_id = models.CharField(
        "RIS/PACS id",
        max_length=64,
        blank=True,
        help_text="How the reporting system and PACS name this person (results feed, PACS launch).",
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    objects = UserManager()

    class Meta:
        ordering = ["last_name", "first_name", "email"]

    def __str__(self):
        return self.get_full_name() or self.email

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email


class Section(models.Model):
    """A subspecialty group (neuroradiology, body, ...) that runs its own program."""

    # One line: section names go into e-mail subjects.
    name = models.CharField(max_length=100, unique=True, validators=[validate_single_line])
    slug = models.SlugField(max_length=60, unique=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class MembershipQuerySet(models.QuerySet):
    def current(self, on: datetime.date | None = None):
        """Memberships in force on a day (today by default)."""
        on = on or timezone.localdate()
        return self.filter(Q(started_on__lte=on), Q(ended_on__isnull=True) | Q(ended_on__gt=on))

    def participating_radiologists(self, on: datetime.date | None = None):
        return self.current(on).filter(role=Role.RADIOLOGIST, participating=True)


class Membership(models.Model):
    """One role a person holds in one section, from a start date."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    started_on = models.DateField(default=timezone.localdate)
    ended_on = models.DateField(null=True, blank=True)
    participating = models.BooleanField(
        default=True, help_text="Counts toward the program's targets (radiologists)."
    )

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["section__name", "user__last_name", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "section", "role"], name="membership_unique_role"
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gt=models.F("started_on")),
                name="membership_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["section", "role"])]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()} · {self.section}"


class SitePolicy(models.Model):
    """Site-wide security choices an administrator makes in the admin (a single row).

    A new site requires a second factor of everyone who sees names or accession numbers
    beyond their own cases: site administrators, leaders, champions, admin assistants and
    quality leads. Any role can be added; `make run`'s demo turns it off and says so.
    """

    mfa_required_for_administrators = models.BooleanField(
        "MFA required for site administrators", default=True
    )
    mfa_required_for_leaders = models.BooleanField("MFA required for leaders", default=True)
    mfa_required_for_champions = models.BooleanField("MFA required for champions", default=True)
    mfa_required_for_admin_assistants = models.BooleanField(
        "MFA required for admin assistants", default=True
    )
    mfa_required_for_quality = models.BooleanField(
        "MFA required for the quality team", default=True
    )
    mfa_required_for_radiologists = models.BooleanField(
        "MFA required for radiologists", default=False
    )
    mfa_required_for_trainees = models.BooleanField("MFA required for trainees", default=False)

    # Role -> the field that requires MFA of it: every role has one.
    MFA_FIELD_FOR_ROLE = {
        Role.LEADER: "mfa_required_for_leaders",
        Role.CHAMPION: "mfa_required_for_champions",
        Role.ADMIN_ASSISTANT: "mfa_required_for_admin_assistants",
        Role.QUALITY: "mfa_required_for_quality",
        Role.RADIOLOGIST: "mfa_required_for_radiologists",
        Role.TRAINEE: "mfa_required_for_trainees",
    }
    MFA_FIELDS = ("mfa_required_for_administrators", *MFA_FIELD_FOR_ROLE.values())

    class Meta:
        verbose_name = "site policy"
        verbose_name_plural = "site policy"

    def __str__(self):
        return "Site policy"

    # Every signed-in request reads the policy (peerlearning/mfa.py): it is kept as cached
    # figures (peerlearning/lib/figures.py) that saving bumps, keyed by the field names so a
    # new field is never read from an old entry.
    CACHE_TOPIC = "site-policy"
    CACHE_SECONDS = 300

    def save(self, *args, **kwargs):
        from peerlearning.lib.figures import figures_changed

        self.pk = 1
        changed = not self._state.adding  # `load` creates the row: nothing cached before it
        super().save(*args, **kwargs)
        if changed:
            figures_changed(self.CACHE_TOPIC)

    @classmethod
    def load(cls) -> "SitePolicy":
        from peerlearning.lib.figures import figures_cached

        names = ",".join(field.attname for field in cls._meta.concrete_fields)
        fields = hashlib.sha256(names.encode()).hexdigest()[:16]  # short enough for any cache
        return figures_cached(
            cls.CACHE_TOPIC,
            fields,
            compute=lambda: cls.objects.get_or_create(pk=1)[0],
            ttl=cls.CACHE_SECONDS,
        )

    def roles_requiring_mfa(self) -> set[str]:
        return {role for role, name in self.MFA_FIELD_FOR_ROLE.items() if getattr(self, name)}

    def mfa_below_defaults(self) -> list[str]:
        """Labels of the people a new site requires MFA of, but this policy does not."""
        return [
            str(field.verbose_name).removeprefix("MFA required for ")
            for field in self._meta.concrete_fields
            if field.name in self.MFA_FIELDS and field.default and not getattr(self, field.name)
        ]


class ApiTokenQuerySet(models.QuerySet):
    def usable(self):
        """Neither revoked nor expired (the owner's password and account are checked apart)."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class ApiToken(models.Model):
    """A person's credential for the API, shown once when made and stored only as a hash.

    It works until `expires_at`, until revoked, and only while its owner's password is the
    one it was made under (`password_fingerprint`, Django's session hash of the password)
    and the account is active: peerlearning/tokens.py checks all four on every call.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True, help_text="What it is for, e.g. PACS.")
    # The first characters of the key, so a person can tell their tokens apart.
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    password_fingerprint = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self):
        return f"{self.prefix}… ({self.name or 'API token'})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and not self.is_expired


class OutboundEmail(models.Model):
    """An e-mail the product owes someone, written in the transaction that causes it.

    `key` names the purpose ("feedback:42:reader"), so the same message can never be owed
    twice. A sender claims a row before talking to SMTP; see docs/architecture.md.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    key = models.CharField(max_length=200, unique=True)
    to = models.EmailField()
    subject = models.CharField(max_length=200)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    attachments = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self):
        return f"{self.subject} → {self.to}"


class AuditEvent(models.Model):
    """Who read or changed what, when and from where. Rows are never updated or deleted.

    The actor is a plain id plus the e-mail at the time, not a foreign key, so deleting a
    person cannot rewrite the trail. The database stamps `at` (an insert that names a time is
    refused on PostgreSQL, as are UPDATE, DELETE and an e-mail that is not the actor's).
    """

    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        CREATE = "create", "Created"
        UPDATE = "update", "Changed"
        DELETE = "delete", "Deleted"
        DOWNLOAD = "download", "Downloaded"
        EXPORT = "export", "Exported"
        IMPORT = "import", "Imported"
        LOGIN = "login", "Signed in"
        LOGOUT = "logout", "Signed out"
        LOGIN_FAILED = "login_failed", "Failed sign-in"

    at = models.DateTimeField(db_default=Now(), db_index=True, editable=False)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    path = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        actor = self.actor_email or "system"
        return f"{self.at:%Y-%m-%d %H:%M} {actor} {self.action} {self.object_type}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Audit events are append-only.")
