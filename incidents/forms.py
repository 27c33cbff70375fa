"""The failure report form: times in the editor's zone, sections, and the timeline and
action items as rows (opsknowledge.forms has what every kind shares)."""

from django import forms

from opsknowledge.forms import (
    UTC,
    DocumentForm,
    LocalTimeField,
    RowFormSet,
    aware_time,
    join_list,
    local_input,
    markdown_field,
    split_list,
    time_zone,
)

from .models import ActionItem, FailureReport, Severity

TIME_FIELDS = ("started_at", "detected_at", "resolved_at")


def unix_newlines(value: str) -> str:
    # Browsers send a text area's lines with CRLF; stored text has LF (an unchanged row
    # must compare equal, or a resubmit would make a revision).
    return (value or "").replace("\r\n", "\n")


class ZonedRowForm(forms.Form):
    """A row whose times are typed in the report form's zone."""

    def __init__(self, *args, zone=None, **kwargs):
        self.zone = zone
        super().__init__(*args, **kwargs)


class TimelineRowForm(ZonedRowForm):
    SUBSTANCE = ("at", "text")  # a row with neither is a blank row
    at = LocalTimeField(label="Time")
    # A time as the source wrote it when it was no time ("--:--"): kept as it is.
    at_text = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
    text = forms.CharField(label="What happened", widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["text"].required = False  # a blank row is no row

    def clean_at(self):
        value = self.cleaned_data.get("at")
        return aware_time(value, self.zone) if value else None

    def clean_text(self):
        return unix_newlines(self.cleaned_data.get("text")).strip()

    def row(self) -> dict:
        data = self.cleaned_data
        return {"at": data.get("at"), "at_text": data.get("at_text") or "", "text": data["text"]}


class ActionItemRowForm(ZonedRowForm):
    SUBSTANCE = ("title", "owner", "due", "url")  # the status alone is a blank row
    title = forms.CharField(label="Action", max_length=500, required=False)
    status = forms.ChoiceField(label="Status", choices=ActionItem.Status.choices, required=False)
    owner = forms.CharField(label="Owner", max_length=200, required=False)
    due = forms.DateField(
        label="Due", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    url = forms.CharField(label="Link (URL)", max_length=500, required=False)

    def row(self) -> dict:
        data = self.cleaned_data
        return {
            "title": data.get("title") or "",
            "status": data.get("status") or ActionItem.Status.OPEN,
            "owner": data.get("owner") or "",
            "due": data.get("due"),
            "url": data.get("url") or "",
        }


class TimelineFormSet(RowFormSet):
    row_label = "Timeline row"


class ActionItemFormSet(RowFormSet):
    row_label = "Action item"


def row_formset(form, formset):
    return forms.formset_factory(
        form, formset=formset, extra=RowFormSet.EXTRA, can_order=True, can_delete=True
    )


class FailureReportForm(DocumentForm):
    model = FailureReport

    severity = forms.ChoiceField(
        label="Severity", required=False, choices=[("", "—")] + Severity.choices
    )
    time_zone = forms.CharField(
        label="Time zone of the times below",
        initial=UTC,
        max_length=64,
        help_text="Filled in from your browser; times are stored in UTC.",
    )
    started_at = LocalTimeField(label="Started")
    detected_at = LocalTimeField(label="Detected")
    resolved_at = LocalTimeField(label="Resolved")
    attendees = forms.CharField(
        label="Attendees", required=False, help_text="Names, separated by commas."
    )
    impact = markdown_field("Impact (Markdown)", rows=5)
    trigger = markdown_field("Trigger (Markdown)", rows=4)
    root_cause = markdown_field("Root cause (Markdown)", rows=6)
    resolution = markdown_field("Resolution (Markdown)", rows=5)
    contributing_factors = markdown_field("Contributing factors (Markdown)", rows=4)
    lessons_learned = markdown_field("Lessons learned (Markdown)", rows=4)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        data = args[0] if args else kwargs.get("data")
        document = self.document
        zone = self.zone
        rows = {"timeline": [], "action_items": []}
        if document is not None and not self.is_bound:
            for name in TIME_FIELDS:
                self.initial[name] = local_input(getattr(document, name), zone)
            self.initial["attendees"] = join_list(document.attendees)
            rows["timeline"] = [
                {"at": local_input(e.at, zone), "at_text": e.at_text, "text": e.text, "ORDER": n}
                for n, e in enumerate(document.timeline.all(), start=1)
            ]
            rows["action_items"] = [
                {
                    "title": i.title,
                    "status": i.status,
                    "owner": i.owner,
                    "due": i.due,
                    "url": i.url,
                    "ORDER": n,
                }
                for n, i in enumerate(document.action_items.all(), start=1)
            ]
        self.initial["time_zone"] = zone.key
        self.timeline = row_formset(TimelineRowForm, TimelineFormSet)(
            data, initial=rows["timeline"] or None, prefix="timeline", form_kwargs={"zone": zone}
        )
        self.action_items = row_formset(ActionItemRowForm, ActionItemFormSet)(
            data,
            initial=rows["action_items"] or None,
            prefix="action_items",
            form_kwargs={"zone": zone},
        )

    def formsets(self) -> dict:
        return {"timeline": self.timeline, "action_items": self.action_items}

    def field_names(self):
        return [name for name in super().field_names() if name != "time_zone"]

    def clean_time_zone(self):
        return time_zone(self.cleaned_data.get("time_zone")).key

    def clean(self):
        cleaned = super().clean()
        for name in TIME_FIELDS:
            value = cleaned.get(name)
            if value is not None:
                try:
                    cleaned[name] = aware_time(value, self.zone)
                except forms.ValidationError as error:
                    self.add_error(name, error)
        return cleaned

    def is_valid(self):
        valid = super().is_valid()
        return all([valid] + [formset.is_valid() for formset in self.formsets().values()])

    def document_data(self) -> dict:
        data = super().document_data()
        data["attendees"] = split_list(data.get("attendees"))
        data["timeline"] = [row.row() for row in self.timeline.ordered_rows()]
        data["action_items"] = [row.row() for row in self.action_items.ordered_rows()]
        return data
