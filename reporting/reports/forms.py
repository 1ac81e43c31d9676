"""Forms of the reports pages: what to generate, for which sections and period."""

import datetime

from django import forms
from django.utils import timezone

from peerlearning.lib.months import default_report_year, month_of, next_month, parse_month
from peerlearning.models import Section
from reporting.oppe.models import OppePolicy
from reporting.reports.models import GeneratedReport

YEARS_BACK = 8
MAX_MONTHS = 24
ALL = "all"


def _scope_choices(sections: list[Section], everything: bool) -> list[tuple[str, str]]:
    choices = []
    if len(sections) > 1:
        label = "The whole department" if everything else "All my sections"
        choices.append((ALL, f"{label} ({len(sections)} sections)"))
    choices += [(str(s.pk), s.name) for s in sections]
    return choices


class ScopeMixin:
    def _init_scope(self, sections, everything: bool):
        self.sections = list(sections)
        self.everything = everything
        self.fields["scope"].choices = _scope_choices(self.sections, everything)

    def scope_sections(self, value: str) -> tuple[list[Section], bool]:
        if value == ALL:
            return self.sections, self.everything
        chosen = [s for s in self.sections if str(s.pk) == value]
        if not chosen:
            raise forms.ValidationError("Choose one of your sections.")
        return chosen, False


class AcrReportForm(ScopeMixin, forms.Form):
    scope = forms.ChoiceField(label="Sections")
    year = forms.TypedChoiceField(label="Year", coerce=int)
    start_month = forms.CharField(
        label="Or from month",
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-01"}),
        help_text="Optional: a period of whole months instead of a calendar year.",
    )
    end_month = forms.CharField(
        label="to month",
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-12"}),
    )
    file_format = forms.ChoiceField(
        label="Format",
        choices=[
            (GeneratedReport.Format.PDF, "PDF, with charts and the attestation page"),
            (GeneratedReport.Format.XLSX, "Excel workbook, one sheet per table"),
            (GeneratedReport.Format.CSV, "CSV files in a zip, one per table"),
        ],
        initial=GeneratedReport.Format.PDF,
    )

    def __init__(self, *args, sections, everything: bool, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()
        self._init_scope(sections, everything)
        years = range(self.today.year, self.today.year - YEARS_BACK, -1)
        self.fields["year"].choices = [
            (y, f"{y} (so far)" if y == self.today.year else str(y)) for y in years
        ]
        self.fields["year"].initial = default_report_year(self.today)
        if len(self.fields["scope"].choices) > 1:
            self.fields["scope"].initial = ALL

    def clean(self):
        data = super().clean()
        if "scope" in data:
            try:
                data["sections"], data["department"] = self.scope_sections(data["scope"])
            except forms.ValidationError as error:
                self.add_error("scope", error)
        first, last = data.get("start_month"), data.get("end_month")
        if first or last:
            start, end = parse_month(first), parse_month(last)
            if start is None or end is None:
                raise forms.ValidationError(
                    "Give both months as YYYY-MM, or leave both empty to report on the year."
                )
            if end < start:
                raise forms.ValidationError("The last month comes before the first.")
            if end > month_of(self.today):
                raise forms.ValidationError("The period cannot end after this month.")
            months = (end.year - start.year) * 12 + end.month - start.month + 1
            if months > MAX_MONTHS:
                raise forms.ValidationError(f"A report covers at most {MAX_MONTHS} months.")
            data["start"], data["end"] = start, next_month(end) - datetime.timedelta(days=1)
        elif data.get("year"):
            data["start"] = datetime.date(data["year"], 1, 1)
            data["end"] = datetime.date(data["year"], 12, 31)
        return data


def oppe_period_choices(
    policy: OppePolicy, today: datetime.date, count: int = 6
) -> list[tuple[str, str]]:
    """The current OPPE period and the ones before it, as "start:end" choices."""
    choices = []
    day = today
    for index in range(count):
        start, end = policy.period_containing(day)
        label = f"{start:%b %Y} – {end:%b %Y}" + (" (current)" if index == 0 else "")
        choices.append((f"{start.isoformat()}:{end.isoformat()}", label))
        day = start - datetime.timedelta(days=1)
    return choices


class OppeBatchForm(ScopeMixin, forms.Form):
    scope = forms.ChoiceField(label="Radiologists of")
    period = forms.ChoiceField(label="OPPE period")

    def __init__(self, *args, sections, everything: bool, policy: OppePolicy, today=None, **kw):
        super().__init__(*args, **kw)
        today = today or timezone.localdate()
        self._init_scope(sections, everything)
        self.fields["period"].choices = oppe_period_choices(policy, today)
        # The period just ended is the one usually reviewed.
        self.fields["period"].initial = self.fields["period"].choices[1][0]
        if len(self.fields["scope"].choices) > 1:
            self.fields["scope"].initial = ALL

    def clean(self):
        data = super().clean()
        if "scope" in data:
            try:
                data["sections"], _ = self.scope_sections(data["scope"])
            except forms.ValidationError as error:
                self.add_error("scope", error)
        if data.get("period"):
            first, last = data["period"].split(":")
            data["start"] = datetime.date.fromisoformat(first)
            data["end"] = datetime.date.fromisoformat(last)
        return data


class OppeReferralForm(forms.Form):
    start = forms.DateField(widget=forms.HiddenInput)
    end = forms.DateField(widget=forms.HiddenInput)
    referred = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError("The period must end after it starts.")
        return data


class MocYearForm(forms.Form):
    year = forms.IntegerField(min_value=2000, max_value=2100)

    @classmethod
    def year_from(cls, params, today=None) -> int:
        """The year asked for, or the default one when none (or a future one) is given."""
        today = today or timezone.localdate()
        form = cls(params)
        if form.is_valid() and form.cleaned_data["year"] <= today.year:
            return form.cleaned_data["year"]
        return default_report_year(today)
