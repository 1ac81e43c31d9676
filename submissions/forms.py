"""Forms: the submission (shared by the page and the API), responses, triage and settings."""

import re
from dataclasses import dataclass
from email.utils import parseaddr

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.urls import reverse
from django.utils import timezone

from peerlearning.models import Section, User
from submissions import selectors
from submissions.models import (
    ActionKind,
    DiscrepancyType,
    NotCountedReason,
    ReaderResponse,
    Reason,
    SectionSubmissionSettings,
    Significance,
    Urgency,
)
from submissions.services import ActionRequest

ACCESSION_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{3,31}$")
ACCESSION_HELP = "4 to 32 letters, digits, dots or dashes, as PACS shows it."


def normalize_accession(value: str) -> str:
    """Trimmed and upper-cased; refused unless it looks like an accession number."""
    value = (value or "").strip().upper()
    if not ACCESSION_PATTERN.match(value):
        raise ValidationError(
            "This does not look like an accession number: "
            + ACCESSION_HELP[0].lower()
            + ACCESSION_HELP[1:],
            code="accession",
        )
    return value


class ReaderKind:
    ROSTER = "roster"
    OUTSIDE = "outside"
    UNKNOWN = "unknown"
    CHOICES = [
        (ROSTER, "From the section's roster"),
        (OUTSIDE, "Someone outside the roster (by e-mail)"),
        (UNKNOWN, "Unknown"),
    ]


NO_ACTION = "none"
DICOM_UID = re.compile(r"[0-9]+(\.[0-9]+)*")


def reader_label(user: User) -> str:
    """How a roster person appears in the reader field: "Quinn Reader <quinn@…>"."""
    name = user.get_full_name()
    return f"{name} <{user.email}>" if name else user.email


@dataclass(frozen=True)
class ReaderChoice:
    user: User | None = None
    email: str = ""  # an address with no account yet: the service makes and invites one
    outside: bool = False
    error: str = ""


def resolve_reader(
    *, kind: str | None, text: str, section: Section, submitter: User
) -> ReaderChoice:
    """Who the original reader is: someone on the section's roster, an e-mail, or unknown."""
    text = text.strip()
    if kind not in (ReaderKind.ROSTER, ReaderKind.OUTSIDE):
        return ReaderChoice()
    if not text:
        return ReaderChoice(
            error="Name the original reader, or choose Unknown."
            if kind == ReaderKind.ROSTER
            else "Give the reader's e-mail address."
        )
    email = parseaddr(text)[1] if "@" in text else ""
    if kind == ReaderKind.OUTSIDE:
        return _outside_reader(email or text, submitter, section)
    user = _roster_match(section, text, email)
    if user is None:
        return ReaderChoice(
            error=f"{text} is not on the {section.name} roster. Pick a name from the list, or "
            f"choose “Someone outside the roster” and give their e-mail address."
        )
    if user.pk == submitter.pk:
        return ReaderChoice(error="You cannot send feedback to yourself.")
    return ReaderChoice(user=user)


def _roster_match(section: Section, text: str, email: str) -> User | None:
    if email:
        # The active account with this address, if it is on the roster: one query.
        return (
            selectors.section_readers(section=section)
            .filter(email__iexact=email)
            .order_by()
            .first()
        )
    # A name typed without picking from the list: accept it when exactly one person matches.
    matches = [
        u
        for u in selectors.section_roster(section=section, query=text, limit=3)
        if u.get_full_name().lower() == text.lower()
    ]
    return matches[0] if len(matches) == 1 else None


def outside_domain_allowed(email: str) -> bool:
    """Whether a new account may be made for this address (OUTSIDE_READER_EMAIL_DOMAINS;
    an empty list allows any domain)."""
    domains = [d.lower().lstrip("@") for d in settings.OUTSIDE_READER_EMAIL_DOMAINS]
    return not domains or email.rsplit("@", 1)[-1].lower() in domains


def _outside_reader(email: str, submitter: User, section: Section) -> ReaderChoice:
    try:
        validate_email(email)
    except ValidationError:
        return ReaderChoice(error="Enter a valid e-mail address, e.g. name@hospital.org.")
    email = email.lower()
    if email == submitter.email.lower():
        return ReaderChoice(error="You cannot send feedback to yourself.")
    existing = User.objects.filter(email__iexact=email).first()
    if existing is None and not outside_domain_allowed(email):
        allowed = ", ".join(f"@{d}" for d in settings.OUTSIDE_READER_EMAIL_DOMAINS)
        return ReaderChoice(
            error=f"Feedback outside the roster can go only to addresses ending in {allowed}. "
            "Ask your PL champion to add this reader to the roster."
        )
    if existing is not None and not existing.is_active:
        return ReaderChoice(error="This person's account is deactivated.")
    if existing is not None and selectors.is_on_roster(user=existing, section=section):
        return ReaderChoice(user=existing)  # on the roster after all
    return ReaderChoice(user=existing, email="" if existing else email, outside=True)


class SectionChoiceField(forms.ModelChoiceField):
    """A section picked from those the form was given (`known`), without a second query."""

    known: list[Section] = []

    def to_python(self, value):
        if value in self.empty_values:
            return None
        self.validate_no_null_characters(value)
        key = str(getattr(value, "pk", value)).strip()
        for section in self.known:
            if str(section.pk) == key:
                return section
        raise ValidationError(
            self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
        )


class SubmissionForm(forms.Form):
    """A case submission. Also validates the API's JSON, so both refuse the same input."""

    section = SectionChoiceField(queryset=Section.objects.none(), empty_label=None)
    # Carried from the PACS launch URL; nobody types it, so a value that is not a DICOM UID
    # is dropped rather than refused.
    study_instance_uid = forms.CharField(max_length=200, required=False, widget=forms.HiddenInput)
    accession_number = forms.CharField(
        label="Accession number",
        max_length=64,
        help_text=ACCESSION_HELP,
        widget=forms.TextInput(
            attrs={
                "class": "input-short input-code",
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
            }
        ),
    )
    reason = forms.ChoiceField(label="Reason", choices=Reason.choices, widget=forms.RadioSelect)
    reason_detail = forms.ChoiceField(
        label="Type of discrepancy",
        choices=DiscrepancyType.choices,
        required=False,
        widget=forms.RadioSelect,
        help_text="For discrepancies.",
    )
    description = forms.CharField(
        label="What happened",
        max_length=5000,
        error_messages={"required": "Describe what happened."},
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Describe the finding. The original reader reads this; write it as you "
        "would want to read it.",
    )
    learning_point = forms.CharField(
        label="Learning point",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    reader_kind = forms.ChoiceField(
        label="Original reader",
        choices=ReaderKind.CHOICES,
        initial=ReaderKind.ROSTER,
        widget=forms.RadioSelect,
    )
    reader = forms.CharField(
        label="Name or e-mail",
        max_length=254,
        required=False,
        help_text="Type a name and pick from the list, or an e-mail address for someone "
        "outside the roster.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "list": "reader-options"}),
    )
    required_actions = forms.MultipleChoiceField(
        label="Required actions for the patient",
        choices=[(NO_ACTION, "None"), *ActionKind.choices],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Several may apply. Each is tracked until it is done.",
    )
    action_other = forms.CharField(
        label="Other action", max_length=200, required=False, help_text="Say what is needed."
    )
    urgency = forms.ChoiceField(
        choices=Urgency.choices,
        initial=Urgency.ROUTINE,
        widget=forms.RadioSelect,
        help_text="Urgent actions are escalated sooner if not done.",
    )
    attestation = forms.BooleanField(
        label="I am responsible for ensuring optimal patient care for this case",
        required=False,
        help_text="Required for discrepancies.",
    )
    signed = forms.BooleanField(
        label="Show my name to the original reader",
        required=False,
        help_text="Off by default: feedback is anonymous unless you choose to sign it.",
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.accession_note = ""
        sections = selectors.submitter_sections(user=user)
        self.fields["section"].queryset = selectors.sections_for_submitter(user=user)
        self.fields["section"].known = sections
        if len(sections) == 1:
            self.fields["section"].initial = sections[0].pk
            self.fields["section"].widget = forms.HiddenInput()
        self.single_section = sections[0] if len(sections) == 1 else None
        # Type-ahead: the roster of the chosen section fills the <datalist> as one types.
        self.fields["reader"].widget.attrs.update(
            {
                "hx-get": reverse("submissions:reader-search"),
                "hx-trigger": "input changed delay:250ms, focus once",
                "hx-target": "#reader-options",
                "hx-swap": "innerHTML",
                "hx-include": "[name=section]",
                "hx-sync": "this:replace",
            }
        )

    # Fields ----------------------------------------------------------------------------

    def clean_accession_number(self) -> str:
        value = normalize_accession(self.cleaned_data["accession_number"])
        mine, others = selectors.accession_seen(user=self.user, accession_number=value)
        if mine is not None:
            when = timezone.localtime(mine.created_at).strftime("%-d %b %Y")
            raise ValidationError(
                f"You already submitted this case on {when}; it is in My submissions.",
                code="duplicate",
            )
        if others:
            self.accession_note = (
                "A colleague has submitted this case too. Yours is still welcome: "
                "the champion sees both."
            )
        return value

    def clean_study_instance_uid(self) -> str:
        value = self.cleaned_data["study_instance_uid"].strip()
        return value if DICOM_UID.fullmatch(value) and len(value) <= 64 else ""

    def clean_description(self) -> str:
        value = self.cleaned_data["description"].strip()
        if not value:
            raise ValidationError("Describe what happened.")
        return value

    def clean_learning_point(self) -> str:
        return self.cleaned_data["learning_point"].strip()

    def clean_action_other(self) -> str:
        return self.cleaned_data["action_other"].strip()

    # Across fields -----------------------------------------------------------------------

    def clean(self):
        data = super().clean()
        reason = data.get("reason")
        if reason == Reason.DISCREPANCY:
            if not data.get("reason_detail"):
                self.add_error(
                    "reason_detail",
                    ValidationError("Choose the type of discrepancy.", code="detail_missing"),
                )
            if not data.get("attestation"):
                self.add_error(
                    "attestation",
                    ValidationError(
                        "A discrepancy needs this attestation: you remain responsible for the "
                        "patient's care.",
                        code="attestation_missing",
                    ),
                )
        else:
            data["reason_detail"] = ""
        self._clean_actions(data, reason)
        section = data.get("section")
        if section is not None:
            self._clean_reader(data, section)
        return data

    def _clean_actions(self, data, reason) -> None:
        chosen = data.get("required_actions") or []
        if NO_ACTION in chosen and len(chosen) > 1:
            self.add_error(
                "required_actions",
                ValidationError("Choose None, or the actions: not both.", code="none_and_actions"),
            )
        if reason == Reason.DISCREPANCY and not chosen:
            self.add_error(
                "required_actions",
                ValidationError(
                    "For a discrepancy, say which actions are needed (or None).",
                    code="actions_missing",
                ),
            )
        if ActionKind.OTHER in chosen and not data.get("action_other"):
            self.add_error(
                "action_other",
                ValidationError("Say which other action is needed.", code="other_missing"),
            )
        data["actions"] = [
            ActionRequest(kind, data.get("action_other", "") if kind == ActionKind.OTHER else "")
            for kind in chosen
            if kind != NO_ACTION
        ]

    def _clean_reader(self, data, section: Section) -> None:
        choice = resolve_reader(
            kind=data.get("reader_kind"),
            text=data.get("reader") or "",
            section=section,
            submitter=self.user,
        )
        if choice.error:
            self.add_error("reader", choice.error)
        data.update(
            reader_user=choice.user, reader_email=choice.email, reader_outside=choice.outside
        )

    def service_kwargs(self) -> dict:
        """The cleaned data in the shape `submission_create` takes."""
        d = self.cleaned_data
        return {
            "section": d["section"],
            "accession_number": d["accession_number"],
            "reason": d["reason"],
            "reason_detail": d["reason_detail"],
            "description": d["description"],
            "learning_point": d["learning_point"],
            "reader": d["reader_user"],
            "reader_email": d["reader_email"],
            "reader_outside": d["reader_outside"],
            "actions": d["actions"],
            "urgency": d.get("urgency") or Urgency.ROUTINE,
            "attested": bool(d.get("attestation")),
            "signed": bool(d.get("signed")),
            "study_instance_uid": d.get("study_instance_uid") or "",
        }


# The reader's side -------------------------------------------------------------------------


class ResponseForm(forms.Form):
    response = forms.ChoiceField(choices=ReaderResponse.choices, widget=forms.RadioSelect)


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Message",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ActionDoneForm(forms.Form):
    done_on = forms.DateField(
        label="Done on",
        widget=forms.DateInput(attrs={"type": "date"}),
        initial=timezone.localdate,
    )
    note = forms.CharField(label="Note", max_length=200, required=False)


# Champions -----------------------------------------------------------------------------------


class TriageForm(forms.Form):
    reason = forms.ChoiceField(choices=Reason.choices)
    reason_detail = forms.ChoiceField(
        label="Discrepancy type", choices=[("", "—"), *DiscrepancyType.choices], required=False
    )
    significance = forms.ChoiceField(
        label="Clinical significance",
        choices=[("", "Not graded"), *Significance.choices],
        required=False,
    )
    conference_candidate = forms.BooleanField(label="Conference candidate", required=False)
    counted = forms.BooleanField(label="Counts toward the target", required=False)
    not_counted_reason = forms.ChoiceField(
        label="If not counted, why",
        choices=[("", "—"), *NotCountedReason.choices],
        required=False,
    )

    def clean(self):
        data = super().clean()
        if data.get("reason") == Reason.DISCREPANCY and not data.get("reason_detail"):
            self.add_error("reason_detail", "Choose the type of discrepancy.")
        if not data.get("counted") and not data.get("not_counted_reason"):
            self.add_error("not_counted_reason", "Say why it does not count.")
        return data


class FeedbackEditForm(forms.Form):
    description = forms.CharField(
        label="What happened (as the reader will read it)",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    learning_point = forms.CharField(
        label="Learning point",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class NoteForm(forms.Form):
    text = forms.CharField(label="Private note", widget=forms.Textarea(attrs={"rows": 2}))


class AssignReaderForm(forms.Form):
    reader_kind = forms.ChoiceField(
        label="Original reader",
        choices=ReaderKind.CHOICES[:2],
        initial=ReaderKind.ROSTER,
        widget=forms.RadioSelect,
    )
    reader = forms.CharField(
        label="Reader",
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off", "list": "reader-options"}),
    )

    def __init__(self, *args, section: Section, submitter: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.section = section
        self.submitter = submitter

    def clean(self):
        data = super().clean()
        if data.get("reader"):
            choice = resolve_reader(
                kind=data.get("reader_kind"),
                text=data["reader"],
                section=self.section,
                submitter=self.submitter,
            )
            if choice.error:
                self.add_error("reader", choice.error)
            data.update(reader_user=choice.user, reader_email=choice.email)
        return data


class SettingsForm(forms.ModelForm):
    class Meta:
        model = SectionSubmissionSettings
        fields = [
            "review_before_sending",
            "feedback_batching",
            "accession_in_email",
            "attach_pdf",
            "urgent_window_hours",
            "routine_window_hours",
            "suggestions_enabled",
        ]
        widgets = {
            "urgent_window_hours": forms.NumberInput(attrs={"min": 1, "class": "input-short"}),
            "routine_window_hours": forms.NumberInput(attrs={"min": 1, "class": "input-short"}),
        }


class ActionsChangeForm(forms.Form):
    """A champion corrects the clinical actions: adds some, removes pending ones, says why."""

    add = forms.MultipleChoiceField(
        label="Add", choices=ActionKind.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    add_other = forms.CharField(label="The other action", max_length=200, required=False)
    remove = forms.MultipleChoiceField(
        label="Remove (pending only)",
        choices=(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    reason = forms.CharField(
        label="Why",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept in the case's history.",
        error_messages={"required": "Say why the actions change: the history keeps it."},
    )

    def __init__(self, *args, actions=(), **kwargs):
        super().__init__(*args, **kwargs)
        pending = [action for action in actions if not action.is_done]
        self.fields["remove"].choices = [(action.kind, action.label) for action in pending]
        listed = {action.kind for action in actions}
        self.fields["add"].choices = [
            (kind, label) for kind, label in ActionKind.choices if kind not in listed
        ]
