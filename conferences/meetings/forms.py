import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from conferences.meetings.models import Conference, ConferenceSettings, ImprovementAction
from peerlearning.models import Membership, Section, User

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class PersonChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.last_name}, {obj.first_name}" if obj.last_name else obj.email


class PersonField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.last_name}, {obj.first_name}" if obj.last_name else obj.email


def members_of(sections) -> "forms.QuerySet[User]":
    ids = Membership.objects.current().filter(section__in=sections).values("user_id")
    return User.objects.filter(pk__in=ids, is_active=True).order_by("last_name", "first_name")


class ConferenceForm(forms.ModelForm):
    """Scheduling and editing; `sections` are the ones this person runs."""

    virtual_url = forms.URLField(
        label="Virtual meeting link",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Zoom or Teams link, if it is online.",
    )
    recording_url = forms.URLField(
        label="Recording link",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Where the recording can be watched afterwards.",
    )
    presenters = PersonChoiceField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="Hold Ctrl (or ⌘) to pick more than one.",
    )

    class Meta:
        model = Conference
        fields = [
            "section",
            "title",
            "starts_at",
            "ends_at",
            "location",
            "virtual_url",
            "cme_hours",
            "presenters",
            "recording_url",
            "status",
            "learning_points",
        ]
        labels = {"starts_at": "Starts", "ends_at": "Ends"}
        help_texts = {
            "starts_at": "Site time.",
            "location": "A room, if people meet in person.",
        }
        widgets = {
            "starts_at": DATETIME_WIDGET,
            "ends_at": DATETIME_WIDGET,
            "learning_points": forms.Textarea(attrs={"rows": 6}),
        }

    def __init__(self, *args, sections, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["section"].queryset = sections
        self.fields["section"].empty_label = None
        self.fields["presenters"].queryset = members_of(sections)
        if self.instance.pk:
            # A conference stays in its section; its agenda and attendance belong there.
            del self.fields["section"]
            self.fields["presenters"].initial = list(self.instance.presenters.all())
        else:
            del self.fields["status"]
            del self.fields["learning_points"]
            del self.fields["recording_url"]

    def clean(self):
        data = super().clean()
        if not data.get("location") and not data.get("virtual_url"):
            raise ValidationError("Give a place, a virtual meeting link, or both.")
        section = data.get("section") or getattr(self.instance, "section", None)
        presenters = data.get("presenters") or []
        if section is not None and presenters:
            members = set(members_of([section]).values_list("pk", flat=True))
            outside = [p for p in presenters if p.pk not in members]
            if outside:
                names = ", ".join(p.display_name for p in outside)
                self.add_error("presenters", f"Not a member of {section}: {names}.")
        return data


class ConferenceSettingsForm(forms.ModelForm):
    class Meta:
        model = ConferenceSettings
        fields = [
            "credit_minimum_minutes",
            "credit_minimum_percent",
            "recording_credit_allowed",
            "recording_window_days",
        ]
        labels = {
            "credit_minimum_minutes": "Minutes for credit",
            "credit_minimum_percent": "Share of a shorter conference (%)",
            "recording_credit_allowed": "Credit for watching the recording",
            "recording_window_days": "Days to attest a recording",
        }


class ImprovementActionForm(forms.ModelForm):
    owner = PersonField(queryset=User.objects.none(), required=False)

    class Meta:
        model = ImprovementAction
        fields = [
            "section",
            "title",
            "category",
            "description",
            "conference",
            "origin_text",
            "owner",
            "due_on",
            "status",
            "escalated",
            "outcome",
        ]
        widgets = {
            "due_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "description": forms.Textarea(attrs={"rows": 4}),
            "outcome": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, sections, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["section"]
            sections = Section.objects.filter(pk=self.instance.section_id)
        else:
            self.fields["section"].queryset = sections
            self.fields["section"].empty_label = None
        self.fields["owner"].queryset = members_of(sections)
        # The last two years' conferences: the choice list stays short in a long history.
        since = timezone.now() - datetime.timedelta(days=730)
        self.fields["conference"].queryset = (
            Conference.objects.filter(section__in=sections)
            .filter(Q(starts_at__gte=since) | Q(pk=self.instance.conference_id or 0))
            .select_related("section")
            .order_by("-starts_at")
        )
        self.fields["conference"].required = False

    def clean(self):
        data = super().clean()
        section = data.get("section") or getattr(self.instance, "section", None)
        conference = data.get("conference")
        if conference is not None and section is not None and conference.section_id != section.pk:
            self.add_error("conference", f"That conference belongs to {conference.section}.")
        return data


class QualityUpdateForm(forms.ModelForm):
    """The quality team reports progress and the outcome of an escalated action."""

    class Meta:
        model = ImprovementAction
        fields = ["status", "outcome"]
        widgets = {"outcome": forms.Textarea(attrs={"rows": 4})}
