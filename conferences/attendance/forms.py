"""Forms of attendance: a report file to import, a check-in code, who an unmatched name was."""

from django import forms
from django.core.exceptions import ValidationError

from conferences.attendance.files import MAX_BYTES
from peerlearning.models import User


class AttendanceImportForm(forms.Form):
    file = forms.FileField(
        label="Attendance report",
        help_text=(
            "The participant report from Zoom (CSV) or the attendance report from Teams "
            "(CSV, as downloaded). At most 10 MB."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise ValidationError("The file is larger than 10 MB; is this the right file?")
        return upload


class CheckInForm(forms.Form):
    code = forms.CharField(
        label="Check-in code",
        max_length=12,
        help_text="The six characters shown on the screen.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "class": "input-code input-short",
            }
        ),
    )


class ResolveRowForm(forms.Form):
    """Who an unmatched name was: a person of the section, or a guest."""

    person = forms.ChoiceField(label="Who is this?")

    def __init__(self, *args, people, suggest_guest=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.people = {str(p.pk): p for p in people}
        choices = [("", "Choose…"), ("guest", "A guest (no account)")]
        choices += [
            (str(p.pk), f"{p.last_name}, {p.first_name} · {p.email}" if p.last_name else p.email)
            for p in people
        ]
        self.fields["person"].choices = choices
        if suggest_guest:
            self.fields["person"].initial = "guest"

    def clean_person(self):
        value = self.cleaned_data["person"]
        if not value:
            raise ValidationError("Choose a person, or mark the name as a guest.")
        return value

    @property
    def chosen_user(self) -> User | None:
        return self.people.get(self.cleaned_data["person"])
