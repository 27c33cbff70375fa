from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef
from django.db.models.functions import Upper

from opsknowledge import references
from opsknowledge.models import Organisation, Release
from opsknowledge.models.documents import AdoptableDocument

from .body import body_facts


class Severity(models.TextChoices):
    """The alert severity a runbook answers, as Prometheus rules label it."""

    CRITICAL = "critical", "Critical"
    WARNING = "warning", "Warning"
    INFO = "info", "Info"


class Runbook(AdoptableDocument):
    kind = "runbook"
    SERIALIZER = "runbooks.api.serializers.RunbookSerializer"
    CONTENT_FIELDS = AdoptableDocument.CONTENT_FIELDS + (
        "alerts",
        "severity",
        "upgrade_from",
        "upgrade_to",
    )
    RELATED_CONTENT = ("alerts",)
    DERIVED_FROM_COLUMNS = True  # lint facts: from the body only
    # The response's lint reads the organisation's policy.
    WRITE_SELECT_RELATED = ("organisation", "organisation__runbook_policy")
    LIST_LIMITS = {**AdoptableDocument.LIST_LIMITS, "alerts": 100}

    severity = models.CharField(max_length=16, choices=Severity.choices, blank=True)
    # What lint reads of the body, computed on every write (runbooks.lint.body_facts):
    # a runbook's detail must not parse its body on every GET.
    lint_facts = models.JSONField(default=dict, blank=True, editable=False)
    upgrade_from = models.ForeignKey(
        Release, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    upgrade_to = models.ForeignKey(
        Release, null=True, blank=True, on_delete=models.PROTECT, related_name="upgrade_runbooks"
    )

    class Meta(AdoptableDocument.Meta):
        indexes = [
            *AdoptableDocument.Meta.indexes,
            # The upgrade briefing ranks each step's upgrade runbooks from these columns
            # alone (an index-only scan), then reads the ten it shows (releases.briefing).
            models.Index(
                fields=["upgrade_to", "status", "visibility", "upgrade_from", "organisation"]
                + ["severity", "updated", "id"],
                condition=models.Q(upgrade_to__isnull=False),
                name="runbooks_runbook_briefing",
            ),
        ]

    def briefing_steps(self, release_ids) -> set[tuple[int, int, str]]:
        # An upgrade runbook is shown on the step to its `upgrade_to` when it starts from
        # the release before it (the briefing checks that against the release chain).
        if self.upgrade_from_id and self.upgrade_to_id:
            return {(self.upgrade_from_id, self.upgrade_to_id, "")}
        return set()

    def clean(self):
        super().clean()
        start, end = self.upgrade_from, self.upgrade_to
        if (start is None) != (end is None):
            missing = "upgrade_to" if end is None else "upgrade_from"
            raise ValidationError(
                {
                    missing: [
                        "An upgrade runbook names both the release it starts from "
                        "and the one it reaches."
                    ]
                }
            )
        if start is not None:
            chain = [release.pk for release in Release.objects.in_upgrade_order()]
            if start.pk == end.pk or chain.index(start.pk) > chain.index(end.pk):
                raise ValidationError(
                    {
                        "upgrade_to": [
                            f"'{end.slug}' does not come after '{start.slug}' in the upgrade chain."
                        ]
                    }
                )

    def derived_columns(self) -> dict:
        return {"lint_facts": body_facts(self.body, self.source_path, self.source_url)}

    def reports_using(self, who):
        """The published failure reports linking this runbook that `who` may read, newest
        first: what the API's `incidents` and the runbook page list."""
        # EXISTS, as a report may link the runbook twice: no DISTINCT over the reports' bodies.
        links = self.failure_reports.through.objects.filter(report=OuterRef("pk"), runbook=self)
        return (
            self.failure_reports.model.objects.visible_to(who)
            .filter(Exists(links), status="published")
            .select_related("organisation")
            .order_by("-started_at", "slug")
        )

    @classmethod
    def normalise_related_content(cls, name, value, *, reader=None, document=None):
        if name == "alerts":
            return references.normalise_alert_names(value or [])
        return super().normalise_related_content(name, value, reader=reader, document=document)

    def get_related_content(self, name):
        if name == "alerts":
            return sorted(alert.name for alert in self.alerts.all())
        return super().get_related_content(name)

    def related_rows(self, name, value):
        if name == "alerts":
            return RunbookAlert, "runbook_id", "name", sorted(set(value)), "varchar"
        return super().related_rows(name, value)

    def set_related_content(self, name, value, *, created: bool = False):
        if name != "alerts":
            return super().set_related_content(name, value, created=created)
        wanted = sorted(set(value))
        if not created:
            RunbookAlert.objects.filter(runbook=self).exclude(name__in=wanted).delete()
        # The names kept are already there: the unique constraint skips them.
        RunbookAlert.objects.bulk_create(
            [RunbookAlert(runbook=self, name=name) for name in wanted], ignore_conflicts=True
        )


class RunbookAlert(models.Model):
    """An alert name a runbook answers (its own table, so `/r/<alert>` is an indexed lookup
    on every database)."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="alerts")
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]
        # Alert names are looked up case-insensitively (/r/<alert>, ?alert=): UPPER(name).
        indexes = [models.Index(Upper("name"), name="runbook_alert_name_upper")]
        constraints = [
            models.UniqueConstraint(fields=["runbook", "name"], name="one_alert_name_per_runbook")
        ]

    def __str__(self):
        return self.name


class Practice(AdoptableDocument):
    """A best practice: how a provider runs something, not what to do when it breaks."""

    kind = "practice"
    SERIALIZER = "runbooks.api.serializers.PracticeSerializer"

    class Meta(AdoptableDocument.Meta):
        pass


class RunbookPolicy(models.Model):
    """How an organisation wants its runbooks written: the sections each should have
    (lint). Runbooks' own, so the shared catalogue knows no document kind."""

    DEFAULT_SECTIONS = ("Meaning", "Impact", "Diagnosis", "Mitigation")

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="runbook_policy"
    )
    sections = models.JSONField(
        default=list,
        blank=True,
        help_text="Sections every runbook of this organisation should have (lint); empty: "
        "Meaning, Impact, Diagnosis, Mitigation.",
    )

    class Meta:
        verbose_name_plural = "runbook policies"

    def __str__(self):
        return f"runbook policy of {self.organisation.slug}"

    @classmethod
    def sections_for(cls, organisation) -> tuple[str, ...]:
        if isinstance(organisation, Organisation) and Organisation.runbook_policy.is_cached(
            organisation
        ):
            policy = getattr(organisation, "runbook_policy", None)  # read with it: no query
        else:
            policy = cls.objects.filter(organisation=organisation).first()
        return tuple(policy.sections if policy and policy.sections else cls.DEFAULT_SECTIONS)
