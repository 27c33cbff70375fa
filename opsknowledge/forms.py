"""The web UI's document forms: what an editor types, turned into the write services' data.

The forms check only what a browser sends (a title, a date, a choice); every rule about
content — references and their did-you-mean texts, lists, licences, publishing — is the
write services' (opsknowledge.services), whose ValidationError the forms show beside the
fields. So the UI cannot store what the API refuses, and says why in the API's words.
"""

from __future__ import annotations

import datetime
import zoneinfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import slugify

from .models import Component, License, Release, Visibility
from .models.documents import Language

UTC = "UTC"


def split_list(value: str) -> list[str]:
    """ "ceph, rook ,," -> ["ceph", "rook"]: lists are typed separated by commas."""
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def join_list(values) -> str:
    return ", ".join(values or [])


def time_zone(name: str | None):
    """The zone named `name` (the browser's, sent by the form), or ValidationError."""
    try:
        return zoneinfo.ZoneInfo((name or UTC).strip() or UTC)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"unknown time zone '{name}'; give an IANA name such as 'Europe/Berlin' or 'UTC'."
        ) from None


def aware_time(naive: datetime.datetime, zone) -> datetime.datetime:
    """`naive`, a wall-clock time in `zone`, as UTC. A time the clocks skip (the start of
    daylight saving time) or show twice (its end) names no one instant: refused."""
    earlier, later = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if earlier.utcoffset() != later.utcoffset():
        shown = naive.strftime("%Y-%m-%d %H:%M")
        if earlier.astimezone(datetime.UTC).astimezone(zone).replace(tzinfo=None) != naive:
            raise ValidationError(
                f"{shown} does not exist in {zone.key}: the clocks skip it when daylight "
                "saving time begins. Give a time before or after the change."
            )
        raise ValidationError(
            f"{shown} happens twice in {zone.key}: the clocks go back then. Give the time "
            "in UTC (time zone 'UTC') to say which."
        )
    return earlier.astimezone(datetime.UTC)


def local_input(value, zone) -> str:
    """A stored UTC time as a `datetime-local` input shows it, in `zone`."""
    if not value:
        return ""
    local = value.astimezone(zone)
    # Seconds only where the stored time has them: shown to the minute, a time imported
    # with seconds would change on every save of the form.
    return local.strftime("%Y-%m-%dT%H:%M:%S" if local.second else "%Y-%m-%dT%H:%M")


class LocalTimeField(forms.CharField):
    """A time typed in the form's time zone (`datetime-local`); cleaned to a naive time,
    made aware by the form, which knows the zone."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"})
    FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        for pattern in self.FORMATS:
            try:
                return datetime.datetime.strptime(value, pattern)
            except ValueError:
                continue
        raise ValidationError("Give a date and time as YYYY-MM-DD HH:MM.")


def markdown_field(label: str, rows: int = 12) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=False,  # Markdown is stored exactly as written
        widget=forms.Textarea(
            attrs={"rows": rows, "class": "markdown-input", "spellcheck": "true"}
        ),
    )


class ServiceErrorsMixin:
    """Errors of the write services, shown where they belong: "components" beside the
    components field, "timeline.2.at" beside the third timeline row's time."""

    def formsets(self) -> dict:
        """Related content edited as rows: name -> formset (failure reports)."""
        return {}

    def add_service_errors(self, error: ValidationError):
        messages = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
        for key, texts in messages.items():
            name, _, rest = (key or "").partition(".")
            formset = self.formsets().get(name)
            if formset is not None and rest:
                index, _, field = rest.partition(".")
                row = formset.row_for_index(index)
                if row is not None:
                    for text in texts:
                        row.add_error(field if field in row.fields else None, text)
                    continue
            target = name if name in self.fields else None
            for text in texts:
                if target is None and key:
                    text = f"{key.replace('_', ' ')}: {text}"
                self.add_error(target, text)

    def error_summary(self) -> list[dict]:
        """Every error of the form and its rows: {"text", "anchor"} for the summary at the
        top (each links to its field)."""
        found = [{"text": text, "anchor": "#form-errors"} for text in self.non_field_errors()]
        for name, errors in self.errors.items():
            if name == "__all__":
                continue
            label = self.SUMMARY_LABELS.get(name) or self.fields[name].label or name
            for text in errors:
                found.append({"text": f"{label}: {text}", "anchor": f"#{self[name].id_for_label}"})
        for name, formset in self.formsets().items():
            for number, row in enumerate(formset.forms, start=1):
                for field, errors in row.errors.items():
                    anchor = (
                        f"#{row[field].id_for_label}" if field in row.fields else f"#{name}-rows"
                    )
                    for text in errors:
                        found.append(
                            {"text": f"{formset.row_label} {number}: {text}", "anchor": anchor}
                        )
        return found


class DocumentForm(ServiceErrorsMixin, forms.Form):
    """The fields every document kind has. `document` is the one being edited (None when
    creating); `organisations` those the editor may create documents in."""

    model = None  # set by the kinds' forms
    # How the error summary names a field whose label is no name (a checkbox's sentence).
    SUMMARY_LABELS = {"acknowledge_warnings": "Warnings"}
    # Form field -> the content field it edits, when they differ.
    LIST_FIELDS = ("components", "releases", "tags")

    organisation = forms.ChoiceField(label="Organisation")
    title = forms.CharField(label="Title", max_length=300)
    slug = forms.CharField(
        label="Slug",
        max_length=100,
        required=False,
        help_text="The last part of its address; suggested from the title. It cannot be "
        "changed later.",
    )
    summary = forms.CharField(
        label="Summary", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    body = markdown_field("Body (Markdown)", rows=16)
    components = forms.CharField(
        label="Components",
        required=False,
        help_text="Slugs or aliases, separated by commas, e.g. ceph, rook.",
        widget=forms.TextInput(attrs={"list": "component-choices", "autocomplete": "off"}),
    )
    releases = forms.CharField(
        label="Releases",
        required=False,
        help_text="Release slugs, separated by commas.",
        widget=forms.TextInput(attrs={"list": "release-choices", "autocomplete": "off"}),
    )
    tags = forms.CharField(
        label="Tags",
        required=False,
        help_text="Lower-case words, separated by commas.",
        widget=forms.TextInput(attrs={"list": "tag-choices", "autocomplete": "off"}),
    )
    visibility = forms.ChoiceField(label="Visible to", choices=Visibility.choices)
    status = forms.ChoiceField(label="Status")
    license = forms.ChoiceField(
        label="Licence",
        choices=License.choices,
        error_messages={"invalid_choice": License.refusal("%(value)s")},
    )
    language = forms.ChoiceField(label="Language", choices=Language.choices)
    last_reviewed = forms.DateField(
        label="Last reviewed",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    message = forms.CharField(
        label="What did you change? (optional)",
        max_length=500,
        required=False,
        help_text="Shown in the revision history.",
    )
    acknowledge_warnings = forms.BooleanField(
        label="I have read the warnings and publish anyway",
        required=False,
    )
    # The revision the form was opened at: the write's If-Match.
    base_revision = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, document=None, organisations=(), zone=None, **kwargs):
        self.document = document
        self.zone = zone or zoneinfo.ZoneInfo(UTC)
        if document is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(document)
        super().__init__(*args, **kwargs)
        self.warnings = {}  # field -> findings of the publishing checks
        self.fields["status"].choices = self.model.STATUS_CHOICES
        self.fields["status"].error_messages["invalid_choice"] = self.model.status_refusal(
            "%(value)s"
        )
        if document is not None:
            # The address of an existing document is fixed (adopt to copy it elsewhere).
            del self.fields["organisation"]
            del self.fields["slug"]
        else:
            self.fields["organisation"].choices = [(o.slug, o.name) for o in organisations]
            # Any slug: one the editor may not write in is a 403 from the services, as
            # in the API, not a "not a valid choice" that hides why.
            self.fields["organisation"].valid_value = lambda value: True
            del self.fields["base_revision"]

    def initial_from(self, document) -> dict:
        content = document.content_data()
        initial = {}
        for name, value in content.items():
            if name in self.LIST_FIELDS or name == "alerts":
                initial[name] = join_list(v if isinstance(v, str) else v.slug for v in value)
            elif hasattr(value, "slug"):
                initial[name] = value.slug
            else:
                initial[name] = value
        initial["base_revision"] = document.revision
        return initial

    def clean_slug(self):
        return self.cleaned_data.get("slug", "").strip()

    def clean(self):
        cleaned = super().clean()
        if self.document is None and not cleaned.get("slug") and cleaned.get("title"):
            cleaned["slug"] = slugify(cleaned["title"])[:100].strip("-")
        return cleaned

    def field_names(self):
        """The form fields that are content (written by the services)."""
        skip = {"organisation", "slug", "message", "acknowledge_warnings", "base_revision"}
        return [name for name in self.fields if name not in skip]

    def document_data(self) -> dict:
        """The content as the write services take it (the API's vocabulary: slugs, lists)."""
        data = {}
        for name in self.field_names():
            value = self.cleaned_data.get(name)
            if name in self.LIST_FIELDS or name in getattr(self, "EXTRA_LIST_FIELDS", ()):
                value = split_list(value)
            elif isinstance(self.fields[name], forms.ChoiceField) and value == "":
                value = ""
            data[name] = value
        return data

    def show_warnings(self, warnings: list[dict]):
        """Findings of the publishing checks, beside the field each is in, the phrase
        highlighted with the text around it."""
        for finding in warnings:
            field = finding["field"]
            text = self.submitted_text(field)
            phrase = finding["phrase"]
            at = text.lower().find(phrase.lower()) if text else -1
            finding = dict(finding)
            # "timeline.2.text" -> "timeline row 3" (as the form numbers rows)
            parts = field.split(".")
            finding["where"] = parts[0].replace("_", " ")
            if len(parts) > 1 and parts[1].isdigit():
                finding["where"] += f" row {int(parts[1]) + 1}"
            if at >= 0:
                finding["before"] = text[max(0, at - 50) : at]
                finding["phrase"] = text[at : at + len(phrase)]
                finding["after"] = text[at + len(phrase) : at + len(phrase) + 50]
            self.warnings.setdefault(field.split(".")[0], []).append(finding)

    def submitted_text(self, field: str) -> str:
        name, _, rest = field.partition(".")
        formset = self.formsets().get(name)
        if formset is not None and rest:
            index, _, column = rest.partition(".")
            row = formset.row_for_index(index)
            return str(row.cleaned_data.get(column) or "") if row is not None else ""
        return str(self.cleaned_data.get(name) or "") if hasattr(self, "cleaned_data") else ""

    def all_warnings(self) -> list[dict]:
        return [finding for findings in self.warnings.values() for finding in findings]

    @staticmethod
    def choices_context(readable_tags) -> dict:
        """The <datalist> suggestions: the catalogue's slugs and the readable tags."""
        return {
            "component_choices": Component.objects.values_list("slug", "name"),
            "release_choices": Release.objects.values_list("slug", "name"),
            "tag_choices": readable_tags,
        }


class RowFormSet(forms.BaseFormSet):
    """Rows of related content (timeline entries, action items): blank rows to fill in,
    an order (moved by up/down buttons, or typed without JavaScript) and removal."""

    row_label = "Row"
    EXTRA = 2  # blank rows to fill in (more: save, and two new ones appear)

    def ordered_rows(self) -> list:
        """The forms holding a row to store, in the order asked for; blank and removed rows
        left out. Remembers which form is which stored index (for errors)."""
        kept = []
        for position, form in enumerate(self.forms):
            if not form.has_changed() and not form.initial:
                continue
            data = getattr(form, "cleaned_data", {}) or {}
            if data.get("DELETE") or not any(data.get(name) for name in form.SUBSTANCE):
                continue
            order = data.get("ORDER")
            kept.append((order if order is not None else 10_000 + position, position, form))
        kept.sort(key=lambda item: (item[0], item[1]))
        self._by_index = [form for _order, _position, form in kept]
        return self._by_index

    def row_for_index(self, index: str):
        rows = getattr(self, "_by_index", None) or []
        if index.isdigit() and int(index) < len(rows):
            return rows[int(index)]
        return None
