"""Forms for the OPPE data pages: credentials, FPPE events, policy, peer evaluations."""

import datetime

from django import forms
from django.utils import timezone

from reporting.oppe.models import (
    COMPETENCY_DESCRIPTIONS,
    Competency,
    Credential,
    FppeEvent,
    OppePolicy,
    PeerEvaluation,
    Rating,
)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.display_name} ({obj.email})"


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.display_name


class PeriodForm(forms.Form):
    """The OPPE period a page shows (GET); defaults to the policy's current period."""

    start = forms.DateField(label="From", widget=DateInput())
    end = forms.DateField(label="To", widget=DateInput())

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError("The period must end after it starts.")
        return data

    @classmethod
    def period(
        cls, params, policy: OppePolicy
    ) -> tuple["PeriodForm", datetime.date, datetime.date]:
        default_start, default_end = policy.period_containing(timezone.localdate())
        if "start" in params or "end" in params:
            form = cls(params)
            if form.is_valid():
                return form, form.cleaned_data["start"], form.cleaned_data["end"]
            return form, default_start, default_end
        return cls(initial={"start": default_start, "end": default_end}), default_start, default_end


class CredentialForm(forms.ModelForm):
    radiologist = PersonChoiceField(queryset=None)

    class Meta:
        model = Credential
        fields = ["radiologist", "kind", "issuer", "number", "issued_on", "expires_on"]
        widgets = {"issued_on": DateInput(), "expires_on": DateInput()}
        help_texts = {"number": "The licence or certificate number (not patient information)."}

    def __init__(self, *args, radiologists, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["radiologist"].queryset = radiologists.order_by("last_name", "first_name")


class FppeEventForm(forms.ModelForm):
    radiologist = PersonChoiceField(queryset=None)

    class Meta:
        model = FppeEvent
        fields = [
            "radiologist",
            "referred_on",
            "behaviour_concern",
            "reviewed_at_committee",
            "other_measure",
            "from_oppe",
            "disposition",
            "reference",
        ]
        widgets = {"referred_on": DateInput()}

    def __init__(self, *args, radiologists, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["radiologist"].queryset = radiologists.order_by("last_name", "first_name")


class OppePolicyForm(forms.ModelForm):
    class Meta:
        model = OppePolicy
        fields = [
            "period_months",
            "tat_threshold_hours",
            "tat_within_threshold_percent",
            "followup_confirmed_percent",
            "credential_warning_days",
        ]


class CycleForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="For example “Neuroradiology OPPE 2026 H1”.")
    sections = forms.ModelMultipleChoiceField(
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        help_text="Whose radiologists are evaluated.",
    )
    period_start = forms.DateField(label="Period evaluated, from", widget=DateInput())
    period_end = forms.DateField(label="Period evaluated, to", widget=DateInput())
    due_on = forms.DateField(label="Due date", widget=DateInput())

    def __init__(self, *args, sections, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sections"].queryset = sections

    def clean(self):
        data = super().clean()
        start, end, due = data.get("period_start"), data.get("period_end"), data.get("due_on")
        if start and end and end < start:
            self.add_error("period_end", "The period must end after it starts.")
        if due and due < timezone.localdate():
            self.add_error("due_on", "The due date has passed already.")
        return data


class EvaluatorsForm(forms.Form):
    evaluators = PeopleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple, label="Evaluators"
    )

    def __init__(self, *args, peers, answered: set[int], limit: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.answered = answered
        self.limit = limit
        self.fields["evaluators"].queryset = peers

    def clean_evaluators(self):
        chosen = self.cleaned_data["evaluators"]
        chosen_ids = {user.pk for user in chosen}
        if self.answered - chosen_ids:
            raise forms.ValidationError("Colleagues who have answered already stay on the list.")
        if len(chosen_ids) > self.limit:
            raise forms.ValidationError(f"Choose at most {self.limit} evaluators.")
        return chosen


class RandomAssignForm(forms.Form):
    per_radiologist = forms.IntegerField(
        label="Evaluators per radiologist", min_value=1, max_value=10, initial=3
    )


class PeerEvaluationForm(forms.ModelForm):
    """Figure 2: the six competencies rated 1 to 5, a conclusion, comments, a plan of action."""

    conclusion = forms.ChoiceField(
        choices=PeerEvaluation.Conclusion.choices, widget=forms.RadioSelect, label="Conclusion"
    )

    class Meta:
        model = PeerEvaluation
        fields = [
            *Competency.values,
            "conclusion",
            "improvement_area",
            "comments",
            "plan_of_action",
        ]
        labels = {"improvement_area": "Area for improvement or focused review"}
        help_texts = {
            "comments": "What your colleague does well and could do better. They will read "
            "this without your name.",
            "plan_of_action": "Required for any rating below 2.",
        }
        widgets = {
            "comments": forms.Textarea(attrs={"rows": 5}),
            "plan_of_action": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for competency in Competency:
            self.fields[competency.value] = forms.TypedChoiceField(
                label=competency.label,
                help_text=COMPETENCY_DESCRIPTIONS[competency],
                choices=Rating.choices,
                coerce=int,
                widget=forms.RadioSelect,
                initial=getattr(self.instance, competency.value),
            )

    def competency_fields(self):
        return [self[c.value] for c in Competency]

    def answers(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
