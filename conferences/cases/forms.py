"""Forms for teaching cases, their images, the agenda and the library's filters."""

from django import forms
from django.core.exceptions import ValidationError

from anonymizer.forms import MultipleFileField
from conferences.anonymize import PRESETS, Rect
from conferences.cases.models import TeachingCase
from submissions.models import Reason

MAX_OPTIONS = 8
MAX_RECTANGLES = 50
TEXTAREA = {"rows": 4}


class SourceChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        used = f" · in {obj.case_count} case{'s' if obj.case_count != 1 else ''}"
        return (
            f"#{obj.pk} · {obj.reason_label} · {obj.created_at:%d %b %Y} · {obj.section.name}"
            + (used if obj.case_count else "")
        )


class CaseCreateForm(forms.Form):
    title = forms.CharField(
        max_length=200,
        help_text="A neutral title, without the diagnosis if you will ask the audience for it.",
    )
    section = forms.ModelChoiceField(queryset=None, empty_label=None)
    sources = SourceChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="From these conference candidates",
        help_text="Their description and learning point are brought in, with identifiers "
        "replaced by markers such as [NAME].",
    )

    def __init__(self, *args, sections, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["section"].queryset = sections
        self.fields["sources"].queryset = candidates
        if len(sections) == 1:
            self.fields["section"].widget = forms.HiddenInput()
            self.fields["section"].initial = sections.first().pk

    def clean(self):
        data = super().clean()
        section, sources = data.get("section"), data.get("sources") or []
        if section and any(s.section_id != section.pk for s in sources):
            self.add_error("sources", "Pick submissions of the case's section only.")
        return data


class CaseForm(forms.ModelForm):
    options_text = forms.CharField(
        label="Answer options",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One option a line; put * before the correct one (for example “* Subdural "
        "hematoma”). Leave the * out if no single answer is right.",
    )
    tags_text = forms.CharField(
        label="Tags", required=False, max_length=300, help_text="Separated by commas."
    )

    class Meta:
        model = TeachingCase
        fields = [
            "title",
            "history",
            "question_kind",
            "question",
            "answer",
            "findings",
            "teaching_points",
            "references",
            "modality",
            "body_part",
            "reason",
        ]
        widgets = {
            "question_kind": forms.RadioSelect,
            "history": forms.Textarea(attrs=TEXTAREA),
            "question": forms.Textarea(attrs={"rows": 2}),
            "answer": forms.Textarea(attrs=TEXTAREA),
            "findings": forms.Textarea(attrs=TEXTAREA),
            "teaching_points": forms.Textarea(attrs=TEXTAREA),
            "references": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "history": "Shown with the question. Only what the audience needs; no identifiers.",
            "answer": "Shown when you reveal the answer.",
            "findings": "Shown with the answer.",
            "reason": "Great catches and interesting cases may name the people who agreed.",
        }

    def __init__(self, *args, instance, **kwargs):
        initial = kwargs.setdefault("initial", {})
        lines = []
        for n, option in enumerate(instance.options or []):
            lines.append(("* " if instance.correct_option == n else "") + option)
        initial.setdefault("options_text", "\n".join(lines))
        initial.setdefault("tags_text", ", ".join(instance.tag_list))
        super().__init__(*args, instance=instance, **kwargs)
        self.fields["reason"].choices = [("", "—"), *Reason.choices]

    def clean(self):
        data = super().clean()
        options, correct = [], None
        for line in (data.get("options_text") or "").splitlines():
            line = line.strip()
            if not line:
                continue
            if line.startswith("*"):
                if correct is not None:
                    self.add_error("options_text", "Mark one correct option only.")
                correct = len(options)
                line = line.lstrip("* ").strip()
            options.append(line[:300])
        kind = data.get("question_kind")
        if kind == TeachingCase.QuestionKind.CHOICE:
            if len(options) < 2:
                self.add_error("options_text", "Give at least two options, one a line.")
            elif len(options) > MAX_OPTIONS:
                self.add_error("options_text", f"At most {MAX_OPTIONS} options.")
        else:
            correct = None
        data["options"] = options if kind == TeachingCase.QuestionKind.CHOICE else []
        data["correct_option"] = correct
        data["tags"] = data.get("tags_text", "")
        return data

    def changes(self) -> dict:
        """The values for `teaching_case_update`."""
        data = self.cleaned_data
        values = {name: data[name] for name in self.Meta.fields}
        values.update(options=data["options"], correct_option=data["correct_option"])
        values["tags"] = data["tags"]
        return values


class UploadForm(forms.Form):
    files = MultipleFileField(
        label="DICOM files or a zip",
        help_text="Several files, or one zip of an export. They are de-identified on the "
        "server; the originals are deleted as soon as they are processed.",
    )


class KeyImageForm(forms.Form):
    frame = forms.IntegerField(min_value=1, initial=1, label="Frame")
    preset = forms.ChoiceField(choices=list(PRESETS.items()), label="Window")
    caption = forms.CharField(max_length=200, required=False)


class KeyImageEditForm(forms.Form):
    caption = forms.CharField(max_length=200, required=False)
    move = forms.ChoiceField(choices=[("", ""), ("up", "up"), ("down", "down")], required=False)


class BlackoutForm(forms.Form):
    rectangles = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono", "spellcheck": "false"}),
        label="Rectangles to black out",
        help_text="Drag on the image, or type one rectangle a line in image pixels: "
        "x, y, width, height (from the top left corner). Leave empty if there is nothing "
        "to hide.",
    )

    def clean_rectangles(self) -> list[Rect]:
        found = []
        for number, line in enumerate(self.cleaned_data["rectangles"].splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            parts = [p for p in line.replace(";", ",").replace(" ", ",").split(",") if p]
            try:
                x, y, width, height = (round(float(p)) for p in parts)
                found.append(Rect(x, y, width, height))
            except (ValueError, TypeError):
                raise ValidationError(
                    f"Line {number}: write four numbers, x, y, width, height (for example "
                    "“10, 20, 200, 40”)."
                ) from None
        if len(found) > MAX_RECTANGLES:
            raise ValidationError(f"At most {MAX_RECTANGLES} rectangles at once.")
        return found


class LibraryFilterForm(forms.Form):
    text = forms.CharField(required=False, label="Search")
    section = forms.ModelChoiceField(queryset=None, required=False, empty_label="All sections")
    modality = forms.ChoiceField(required=False)
    body_part = forms.ChoiceField(required=False, label="Body part")
    reason = forms.ChoiceField(required=False)
    tag = forms.CharField(required=False, max_length=40)
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any"), ("ready", "Ready"), ("blocked", "Blocked by the check")],
        label="Check",
    )

    def __init__(self, *args, sections, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["section"].queryset = sections
        self.fields["modality"].choices = [("", "Any"), *TeachingCase.Modality.choices]
        self.fields["body_part"].choices = [("", "Any"), *TeachingCase.BodyPart.choices]
        self.fields["reason"].choices = [("", "Any"), *Reason.choices]
