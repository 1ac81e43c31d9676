"""Forms of the anonymizer's upload page, and the multiple-file field other uploads share."""

import re

from django import forms


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


CASE_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class DeidentifyForm(forms.Form):
    files = MultipleFileField(
        label="DICOM files or a zip",
        help_text="Several files, or one zip of an export. The originals are deleted as soon "
        "as they are processed.",
    )
    case_key = forms.CharField(
        label="Case key",
        max_length=64,
        help_text="Uploads with the same key get the same new UIDs and the same date shift, "
        "so a study uploaded in parts stays one study. Keep the random one unless you add to "
        "an earlier upload. Never a patient's name, ID or accession number.",
    )

    clean_descriptors = forms.BooleanField(
        label="Keep descriptions and comments, cleaned",
        required=False,
        help_text="Off: study and series descriptions, comments and histories are removed. "
        "On: they are kept with names, IDs and dates replaced, and checked.",
    )
    clean_structured_content = forms.BooleanField(
        label="Keep the text of structured reports, cleaned",
        required=False,
        help_text="Off: the free text of SR documents is replaced by ANONYMIZED. On: it is "
        "kept with names, IDs and dates replaced, and checked.",
    )

    def clean_case_key(self) -> str:
        key = self.cleaned_data["case_key"].strip()
        if not CASE_KEY.fullmatch(key):
            raise forms.ValidationError(
                "Use letters, digits, dots, dashes or underscores (at most 64), starting with "
                "a letter or a digit."
            )
        return key
