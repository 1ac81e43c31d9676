"""Forms for the monitoring dashboard, the target policy, exemptions and the reminder."""

import datetime

from django import forms
from django.utils import timezone

from peerlearning.lib.months import month_of, parse_month
from reporting.targets.models import ReminderSettings, TargetExemption, TargetPolicy
from reporting.targets.monitoring import MONTH_SORTS, STATUS_FILTERS
from submissions.models import Reason


class MonthField(forms.CharField):
    """A month as YYYY-MM (an <input type="month">), cleaned to its first day."""

    widget = forms.TextInput(attrs={"type": "month", "class": "input-short"})

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        month = parse_month(value)
        if month is None or not 2000 <= month.year <= 2100:
            raise forms.ValidationError("Enter a month as YYYY-MM, e.g. 2026-03.")
        return month

    def prepare_value(self, value):
        if isinstance(value, datetime.date):
            return f"{value:%Y-%m}"
        return value


class MonitoringFilters(forms.Form):
    """The dashboard's filters. Anything unreadable falls back to its default."""

    section = forms.IntegerField(required=False)
    month = MonthField(required=False)
    year = forms.IntegerField(required=False, min_value=2000, max_value=2100)
    status = forms.ChoiceField(choices=list(STATUS_FILTERS.items()), required=False)
    q = forms.CharField(required=False, max_length=100)
    sort = forms.ChoiceField(choices=list(MONTH_SORTS.items()), required=False)

    def values(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        today = timezone.localdate()
        month = data.get("month") or month_of(today)
        return {
            "section": data.get("section"),
            "month": month,
            "year": data.get("year") or (data.get("month") or today).year,
            "status": data.get("status") or "",
            "q": (data.get("q") or "").strip(),
            "sort": data.get("sort") or "name",
        }


class TargetPolicyForm(forms.ModelForm):
    effective_from = MonthField(
        label="Applies from (month)",
        help_text="Months before keep the policy they had.",
    )
    counted_reasons = forms.MultipleChoiceField(
        label="Reasons that count toward the target",
        choices=Reason.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = TargetPolicy
        fields = [
            "effective_from",
            "submissions_per_month",
            "attendance_rule",
            "attendance_percent",
            "attendance_per_year",
            "counted_reasons",
            "include_trainees",
            "note",
        ]
        widgets = {
            "submissions_per_month": forms.NumberInput(attrs={"min": 0, "class": "input-short"}),
            "attendance_percent": forms.NumberInput(
                attrs={"min": 0, "max": 100, "class": "input-short"}
            ),
            "attendance_per_year": forms.NumberInput(attrs={"min": 0, "class": "input-short"}),
            "attendance_rule": forms.RadioSelect,
        }

    def clean(self):
        data = super().clean()
        if not data.get("counted_reasons"):
            self.add_error("counted_reasons", "Tick at least one reason, or nothing would count.")
        return data


class ExemptionForm(forms.ModelForm):
    class Meta:
        model = TargetExemption
        fields = ["user", "kind", "starts_on", "ends_on", "fte", "reason"]
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}),
            "ends_on": forms.DateInput(attrs={"type": "date"}),
            "fte": forms.NumberInput(attrs={"step": "0.05", "class": "input-short"}),
            "kind": forms.RadioSelect,
        }

    def __init__(self, *args, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        if people is not None:
            self.fields["user"].queryset = people
        self.fields["kind"].choices = TargetExemption.Kind.choices
        self.fields["user"].label_from_instance = lambda u: f"{u.display_name} ({u.email})"

    def clean(self):
        data = super().clean()
        if data.get("kind") == TargetExemption.Kind.LEAVE:
            data["fte"] = None
        elif data.get("kind") == TargetExemption.Kind.PART_TIME and data.get("fte") is None:
            self.add_error("fte", "Give the FTE for part-time work (e.g. 0.5).")
        return data


class ReminderSettingsForm(forms.ModelForm):
    class Meta:
        model = ReminderSettings
        fields = ["enabled", "day_of_month", "hour", "when_met", "month_summary"]
        widgets = {
            "day_of_month": forms.NumberInput(attrs={"min": 1, "max": 28, "class": "input-short"}),
            "hour": forms.NumberInput(attrs={"min": 0, "max": 23, "class": "input-short"}),
            "when_met": forms.RadioSelect,
        }
        help_texts = {
            "day_of_month": "1 to 28, so every month has it.",
            "hour": "0 to 23, in the site's time zone.",
        }


class ReminderActionForm(forms.Form):
    """Which section and month "send now" or "send a test" is about."""

    section = forms.IntegerField()
    month = MonthField()
    user = forms.IntegerField(required=False)
