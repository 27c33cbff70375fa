from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from opsknowledge import references
from opsknowledge.models.documents import Document, Status, Visibility
from opsknowledge.paths import document_path
from opsknowledge.visibility import VisibleQuerySet

from . import checks


class Severity(models.TextChoices):
    SEV1 = "sev1", "SEV1 (critical: a whole service down for many customers)"
    SEV2 = "sev2", "SEV2 (major: a service degraded for many, or down for some)"
    SEV3 = "sev3", "SEV3 (minor: limited impact, workaround available)"
    SEV4 = "sev4", "SEV4 (low: no customer impact)"


class FailureReport(Document):
    """A blameless postmortem or public root-cause analysis."""

    kind = "incident"
    BRIEFING_BY_RELEASES = True  # shown on the step of each release it names
    SERIALIZER = "incidents.api.serializers.FailureReportSerializer"
    STATUS_CHOICES = Status.choices
    SECTIONS = (
        "impact",
        "trigger",
        "root_cause",
        "resolution",
        "contributing_factors",
        "lessons_learned",
    )
    MARKDOWN_FIELDS = Document.MARKDOWN_FIELDS + SECTIONS
    RELATED_CONTENT = ("timeline", "action_items", "runbooks")
    LIST_LIMITS = {
        **Document.LIST_LIMITS,
        "attendees": 100,
        "timeline": 500,
        "action_items": 200,
        "runbooks": 100,
    }
    CONTENT_FIELDS = (
        Document.CONTENT_FIELDS
        + (
            "severity",
            "started_at",
            "detected_at",
            "resolved_at",
            "stated_time_to_detect",
            "stated_time_to_resolve",
            "attendees",
        )
        + SECTIONS
        + RELATED_CONTENT
    )

    severity = models.CharField(max_length=8, choices=Severity.choices, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    detected_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Durations the report states (e.g. a "Stats" section), used when timestamps are missing.
    stated_time_to_detect = models.PositiveIntegerField(null=True, blank=True)
    stated_time_to_resolve = models.PositiveIntegerField(null=True, blank=True)
    attendees = models.JSONField(default=list, blank=True)
    impact = models.TextField(blank=True)
    impact_html = models.TextField(blank=True, editable=False)
    trigger = models.TextField(blank=True)
    trigger_html = models.TextField(blank=True, editable=False)
    root_cause = models.TextField(blank=True)
    root_cause_html = models.TextField(blank=True, editable=False)
    resolution = models.TextField(blank=True)
    resolution_html = models.TextField(blank=True, editable=False)
    contributing_factors = models.TextField(blank=True)
    contributing_factors_html = models.TextField(blank=True, editable=False)
    lessons_learned = models.TextField(blank=True)
    lessons_learned_html = models.TextField(blank=True, editable=False)
    # Blameless-language and redaction findings, recomputed on every write.
    warnings = models.JSONField(default=list, blank=True, editable=False)

    linked_runbooks = models.ManyToManyField(
        "runbooks.Runbook", through="RunbookLink", related_name="failure_reports", blank=True
    )

    class Meta(Document.Meta):
        verbose_name = "failure report"
        indexes = [
            *Document.Meta.indexes,
            # The upgrade briefing ranks each step's reports from these columns alone (an
            # index-only scan), then reads the ten it shows (releases.briefing).
            models.Index(
                fields=["status", "visibility", "organisation", "severity", "updated", "id"],
                name="incidents_report_briefing",
            ),
        ]

    def get_absolute_url(self):
        return document_path("incident-page", **self.url_kwargs())

    def briefing_steps(self, release_ids) -> set[tuple[int, int, str]]:
        # A failure report is shown on the step to each release it names.
        return {(0, pk, "") for pk in release_ids}

    @property
    def time_to_detect(self) -> int | None:
        if self.started_at and self.detected_at:
            return int((self.detected_at - self.started_at).total_seconds())
        return self.stated_time_to_detect

    @property
    def time_to_resolve(self) -> int | None:
        if self.started_at and self.resolved_at:
            return int((self.resolved_at - self.started_at).total_seconds())
        return self.stated_time_to_resolve

    # Published reports are what other providers learn from: these are the least they say.
    REQUIRED_TO_PUBLISH = ("summary", "impact", "root_cause")

    def clean(self):
        super().clean()
        errors = {}
        attendees = self.attendees
        if not isinstance(attendees, list) or not all(
            isinstance(name, str) and 0 < len(name) <= 200 for name in attendees
        ):
            errors["attendees"] = [
                "Give the attendees as a list of names (at most 200 characters)."
            ]
        for name in ("detected_at", "resolved_at"):
            when = getattr(self, name)
            if self.started_at and when and when < self.started_at:
                errors[name] = [f"must not be before started_at ({self.started_at.isoformat()})."]
        if self.status == Status.PUBLISHED:
            for name in self.REQUIRED_TO_PUBLISH:
                if not getattr(self, name):
                    errors[name] = [
                        "A published report needs a summary, an impact and a root cause."
                    ]
        if errors:
            raise ValidationError(errors)

    # -- related content (timeline, action items, runbook links) -------------------------

    @classmethod
    def normalise_related_content(cls, name, value, *, reader=None, document=None):
        if name == "timeline":
            return _rows(value, TimelineEntry, required=("text",), optional=("at", "at_text"))
        if name == "action_items":
            rows = _rows(
                value,
                ActionItem,
                required=("title",),
                optional=("status", "owner", "due", "url"),
                identified=True,
            )
            _check_item_ids(rows, document)
            return rows
        if name == "runbooks":
            return _runbook_links(value, reader)
        return super().normalise_related_content(name, value, reader=reader, document=document)

    def get_related_content(self, name):
        if name == "timeline":
            return [
                {"at": entry.at, "at_text": entry.at_text, "text": entry.text}
                for entry in self.timeline.all()
            ]
        if name == "action_items":
            return [
                {
                    "title": item.title,
                    "status": item.status,
                    "owner": item.owner,
                    "due": item.due,
                    "url": item.url,
                }
                for item in self.action_items.all()
            ]
        if name == "runbooks":
            return [
                {"runbook": link.runbook, "relation": link.relation}
                for link in self.runbook_links.all()
            ]
        return super().get_related_content(name)

    def set_related_content(self, name, value, *, created: bool = False):
        # A new report has no rows to remove; each list is one DELETE and one INSERT.
        if name == "timeline":
            if not created:
                TimelineEntry.objects.filter(report=self).delete()
            TimelineEntry.objects.bulk_create(
                TimelineEntry(report=self, position=n, **entry) for n, entry in enumerate(value)
            )
        elif name == "action_items":
            ActionItem.write_list(self, value, created=created)
        elif name == "runbooks":
            if not created:
                RunbookLink.objects.filter(report=self).delete()
            RunbookLink.objects.bulk_create(
                RunbookLink(report=self, runbook=link["runbook"], relation=link["relation"])
                for link in value
            )
        else:
            super().set_related_content(name, value, created=created)

    def readable_snapshot(self, content: dict, who) -> dict:
        from runbooks.models import Runbook

        links = content.get("runbooks") or []
        if not links:
            return content
        match = models.Q()
        for reference in {link["runbook"] for link in links}:
            organisation, _, slug = reference.partition("/")
            match |= models.Q(organisation__slug=organisation, slug=slug)
        readable = {
            f"{organisation}/{slug}"
            for organisation, slug in Runbook.objects.visible_to(who)
            .filter(match)
            .values_list("organisation__slug", "slug")
        }
        return {**content, "runbooks": [x for x in links if x["runbook"] in readable]}

    # -- checks ---------------------------------------------------------------------------

    def checked_text(self) -> dict[str, str]:
        """The text the blameless and redaction checks read, by field name. An attendees
        section in the body is left out: listing who attended is not blaming them."""
        text = {name: getattr(self, name) for name in ("title", "summary", "body", *self.SECTIONS)}
        text["body"] = checks.without_sections(self.body, checks.ATTENDEE_HEADINGS)
        for n, entry in enumerate(self.timeline.all()):
            text[f"timeline.{n}.text"] = entry.text
        for n, item in enumerate(self.action_items.all()):
            text[f"action_items.{n}.title"] = item.title
        return text

    def people(self) -> list[str]:
        owners = [item.owner for item in self.action_items.all() if item.owner]
        return sorted({*self.attendees, *owners})

    def compute_warnings(self) -> list[dict]:
        text = self.checked_text()
        findings = checks.blameless_findings(text, self.people())
        if self.visibility in ("public", "community"):
            findings += checks.redaction_findings(text)
        return findings

    def publication_warnings(self) -> list[dict]:
        return self.compute_warnings()

    def derived_columns(self) -> dict:
        return {"warnings": self.compute_warnings()}


class IdentifiedRow(dict):
    """A row's content (a plain dict: what snapshots, revisions and diffs compare) and,
    apart from it, `row_id`: the stored row it updates (None: a new one). The id is no
    content: a list written again without ids, equal to the current one, changes nothing."""

    row_id = None


def _rows(value, model, *, required, optional, identified=False) -> list[dict]:
    """A list of rows (timeline entries, action items) as `model`'s fields store them; each
    row's errors are keyed "<index>.<field>". `identified`: rows may name the stored row
    they update by `id` (IdentifiedRow)."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValidationError("Give a list of objects.")
    rows, errors = [], {}
    for index, row in enumerate(value):
        if not isinstance(row, dict):
            errors[str(index)] = ["Give an object."]
            continue
        clean = IdentifiedRow() if identified else {}
        if identified and row.get("id") is not None:
            row_id = row["id"]
            if isinstance(row_id, str) and row_id.isascii() and row_id.isdigit():
                row_id = int(row_id)  # as a form sends it
            if isinstance(row_id, bool) or not isinstance(row_id, int) or row_id < 1:
                errors[f"{index}.id"] = [
                    "Give the id of one of the report's action items (a positive integer), "
                    "or leave it out for a new item."
                ]
            else:
                clean.row_id = row_id
        for name in required + optional:
            field = model._meta.get_field(name)
            raw = row.get(name)
            if raw is None or raw == "":
                if name in required:
                    errors[f"{index}.{name}"] = ["This field is required."]
                    continue
                clean[name] = None if field.null else field.get_default()
                continue
            try:
                clean[name] = references.field_value(field, raw)
                field.run_validators(clean[name])
                if field.choices and clean[name] not in dict(field.choices):
                    valid = ", ".join(str(choice) for choice, _label in field.choices)
                    raise ValidationError(f"'{clean[name]}' is not valid; use {valid}.")
            except ValidationError as error:
                errors[f"{index}.{name}"] = error.messages
        rows.append(clean)
    if errors:
        raise ValidationError(errors)
    return rows


def _check_item_ids(rows, document):
    """Each id names one of this report's action items, at most once (a new report has
    none). One query, and only when ids are given."""
    given = [(index, row.row_id) for index, row in enumerate(rows) if row.row_id is not None]
    if not given:
        return
    known = (
        set(ActionItem.objects.filter(report=document).values_list("pk", flat=True))
        if document is not None and document.pk
        else set()
    )
    errors, seen = {}, set()
    for index, row_id in given:
        if row_id not in known:
            errors[f"{index}.id"] = [
                f"This report has no action item {row_id}; leave id out for a new item."
            ]
        elif row_id in seen:
            errors[f"{index}.id"] = [f"Action item {row_id} is listed twice."]
        seen.add(row_id)
    if errors:
        raise ValidationError(errors)


def _runbook_links(value, reader) -> list[dict]:
    """Links to runbooks as {"runbook": Runbook, "relation"}. Only runbooks the writer can
    read can be linked: anything else is "unknown", like a runbook that does not exist."""
    from runbooks.models import Runbook

    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValidationError("Give a list of {runbook, relation} objects.")
    runbooks = Runbook.objects.all() if reader is None else Runbook.objects.visible_to(reader)
    links, seen, errors = [], set(), {}
    for index, link in enumerate(value):
        if not isinstance(link, dict):
            errors[str(index)] = ["Give an object with 'runbook' and 'relation'."]
            continue
        runbook, relation = link.get("runbook"), link.get("relation")
        if not isinstance(runbook, Runbook):
            try:
                runbook = references.resolve_document(runbooks, runbook)
            except ValidationError as error:
                errors[f"{index}.runbook"] = error.messages
                continue
        if relation not in RunbookLink.Relation.values:
            valid = ", ".join(RunbookLink.Relation.values)
            errors[f"{index}.relation"] = [f"'{relation}' is not valid; use {valid}."]
            continue
        if (runbook.pk, relation) in seen:
            errors[str(index)] = [f"'{runbook.reference()}' is linked twice as '{relation}'."]
            continue
        seen.add((runbook.pk, relation))
        links.append({"runbook": runbook, "relation": relation})
    if errors:
        raise ValidationError(errors)
    return links


class TimelineEntry(models.Model):
    report = models.ForeignKey(FailureReport, on_delete=models.CASCADE, related_name="timeline")
    position = models.PositiveIntegerField()
    at = models.DateTimeField(null=True, blank=True)
    # The time as written when it could not be read as a time ("--:--", "10:45~").
    at_text = models.CharField(max_length=100, blank=True)
    text = models.TextField()

    class Meta:
        ordering = ["report", "position"]
        verbose_name_plural = "timeline entries"

    def __str__(self):
        return f"{self.at or self.at_text}: {self.text[:60]}"


class ActionItem(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        WONT_DO = "wont_do", "Won't do"

    OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS)

    CLOSED_STATUSES = (Status.DONE, Status.WONT_DO)
    # What a write sets; the rest (id, created, closed_at, original_due) is tracking the
    # write service keeps and no writer sets.
    CONTENT = ("title", "status", "owner", "due", "url")

    report = models.ForeignKey(FailureReport, on_delete=models.CASCADE, related_name="action_items")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=500)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    owner = models.CharField(max_length=200, blank=True)
    due = models.DateField(null=True, blank=True)
    url = models.URLField(max_length=500, blank=True)
    created = models.DateTimeField(default=timezone.now, editable=False)
    # When the item became done or won't do; cleared when it is reopened.
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The first due date ever set: how late follow-up is, whatever the due date became.
    original_due = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["report", "position"]

    def __str__(self):
        return self.title

    def track(self, status, due, now):
        """Set the tracking fields for a change to `status` and `due` (before assigning them)."""
        if status in self.CLOSED_STATUSES:
            if self.closed_at is None or self.status not in self.CLOSED_STATUSES:
                self.closed_at = now
        else:
            self.closed_at = None
        if self.original_due is None:
            self.original_due = due

    @classmethod
    def write_list(cls, report, rows, *, created: bool):
        """Store `rows` (IdentifiedRows) as the report's action items, in their order: rows
        with an id update that item (keeping its created, closed_at and original_due), rows
        without one are new, items left out are removed. Without any id (importers, a
        replacing PUT) it stays one DELETE and one INSERT."""
        now = timezone.now()
        ids = {row.row_id for row in rows if getattr(row, "row_id", None)}
        existing = {}
        if ids:
            existing = {item.pk: item for item in cls.objects.filter(report=report)}
        if not created and (not ids or set(existing) - ids):  # some items are left out
            cls.objects.filter(report=report).exclude(pk__in=ids).delete()
        updated, new = [], []
        for position, row in enumerate(rows):
            item = existing.get(getattr(row, "row_id", None))
            if item is None:
                item = cls(report=report, created=now)
                new.append(item)
            else:
                updated.append(item)
            item.track(row.get("status") or cls.Status.OPEN, row.get("due"), now)
            item.position = position
            for name, value in row.items():
                setattr(item, name, value)
        if updated:
            cls.objects.bulk_update(
                updated, ["position", *cls.CONTENT, "closed_at", "original_due"]
            )
        cls.objects.bulk_create(new)
        cache = getattr(report, "_prefetched_objects_cache", {})
        if not all(item.pk for item in new):  # a database that returns no ids: read back
            cache.pop("action_items", None)
            return
        # The rest of the write (warnings, the snapshot, the response) reads the items just
        # written, as a prefetch would have left them, instead of reading them back.
        written = report.action_items.all()
        written._result_cache = sorted(updated + new, key=lambda item: item.position)
        written._prefetch_done = True
        report._prefetched_objects_cache = {**cache, "action_items": written}


class RunbookLink(models.Model):
    class Relation(models.TextChoices):
        USED = "used", "Used during the incident"
        CREATED = "created", "Created after the incident"
        UPDATED = "updated", "Updated after the incident"

    report = models.ForeignKey(
        FailureReport, on_delete=models.CASCADE, related_name="runbook_links"
    )
    runbook = models.ForeignKey(
        "runbooks.Runbook", on_delete=models.CASCADE, related_name="report_links"
    )
    relation = models.CharField(max_length=16, choices=Relation.choices)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "runbook", "relation"], name="one_link_per_relation"
            )
        ]

    def __str__(self):
        return f"{self.report} {self.relation} {self.runbook}"


class StatusPageIncident(models.Model):
    """An incident as a status page published it: facts the provider already made public,
    kept apart from the failure report the import drafts from it. Transparency coverage
    counts these, so changing, archiving or deleting the report never hides the incident.
    One row per (organisation, source, incident id): overlapping imports cannot duplicate."""

    # The visibility fields visible_to() reads; a source has no draft state.
    VISIBILITY_PUBLIC = Visibility.PUBLIC
    VISIBILITY_COMMUNITY = Visibility.COMMUNITY
    READABLE_STATUSES = None

    organisation = models.ForeignKey(
        "opsknowledge.Organisation", on_delete=models.PROTECT, related_name="status_page_incidents"
    )
    # The page's identity (Statuspage page id, or the name given for an SCS page), not the
    # spelling of its URL or path.
    source = models.CharField(max_length=100)
    incident_id = models.CharField(max_length=100)
    # Who may read the source record (a public status page: anyone).
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    title = models.CharField(max_length=300)
    impact = models.CharField(max_length=32, help_text="as the page published it")
    severity = models.CharField(max_length=8, choices=Severity.choices)
    started_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    first_update_at = models.DateTimeField(null=True, blank=True)
    link = models.URLField(max_length=500, blank=True)
    unmatched_components = models.JSONField(default=list, blank=True)
    # A postmortem the page itself published (Statuspage postmortem_body).
    postmortem_published_at = models.DateTimeField(null=True, blank=True)
    report = models.ForeignKey(
        FailureReport,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="status_page_incidents",
    )
    # The report's revision the import last wrote: a later one is someone else's edit.
    imported_revision = models.PositiveIntegerField(null=True, blank=True)
    # Upstream timeline rows not written into a report edited since (shown, never applied
    # by the import).
    pending_updates = models.JSONField(default=list, blank=True)
    first_imported = models.DateTimeField(auto_now_add=True)
    last_imported = models.DateTimeField(auto_now=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["organisation", "source", "started_at", "incident_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "source", "incident_id"], name="one_record_per_incident"
            )
        ]

    def __str__(self):
        return f"{self.source}/{self.incident_id}: {self.title}"

    @property
    def major(self) -> bool:
        return self.severity in (Severity.SEV1, Severity.SEV2)
