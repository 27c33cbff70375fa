"""Forms of runbooks and practices (opsknowledge.forms has what every kind shares)."""

from django import forms

from opsknowledge.forms import DocumentForm
from opsknowledge.models import Release

from .models import Practice, Runbook, Severity


class PracticeForm(DocumentForm):
    model = Practice


class RunbookForm(DocumentForm):
    model = Runbook
    EXTRA_LIST_FIELDS = ("alerts",)

    alerts = forms.CharField(
        label="Alerts",
        required=False,
        help_text="The alertname labels this runbook answers, separated by commas, e.g. "
        "KubePodCrashLooping.",
    )
    severity = forms.ChoiceField(
        label="Severity", required=False, choices=[("", "—")] + Severity.choices
    )
    upgrade_from = forms.ChoiceField(label="Upgrade from release", required=False)
    upgrade_to = forms.ChoiceField(label="Upgrade to release", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        releases = [("", "—")] + [
            (release.slug, release.name) for release in Release.objects.in_upgrade_order()
        ]
        for name in ("upgrade_from", "upgrade_to"):
            self.fields[name].choices = releases
            # Unknown releases are the services' to refuse, with the API's did-you-mean.
            self.fields[name].valid_value = lambda value: True

    def document_data(self) -> dict:
        data = super().document_data()
        for name in ("upgrade_from", "upgrade_to"):
            data[name] = data.get(name) or None
        return data
