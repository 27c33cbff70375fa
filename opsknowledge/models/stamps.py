"""Per-step stamps of what upgrade briefings show, kept by the write services
(`opsknowledge.stamps`) so that a briefing's ETag and counts are an aggregate over a few
stamp rows, whatever the number of documents (issue "Fast at scale").

One row per (kind of row, step, organisation, visibility) with published documents: how
many there are, and a version that every write touching one of them (or leaving or joining
the set) increases. A reader's stamp of a step sums the rows of the visibilities and
organisations it may read, so it depends on nothing the reader cannot see.
"""

from django.db import models

from ..visibility import VisibleQuerySet
from .catalogue import Organisation, Release
from .documents import Visibility


class BriefingStamp(models.Model):
    # Read through `visible_to()` like the documents it counts (all of them published).
    VISIBILITY_PUBLIC = Visibility.PUBLIC
    VISIBILITY_COMMUNITY = Visibility.COMMUNITY
    READABLE_STATUSES = None

    # The model name of the rows: runbook (upgrade runbooks), failurereport, releasenote.
    kind = models.CharField(max_length=32)
    # The step's release: a runbook's `upgrade_to`, each release of a report, a note's release.
    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="+")
    # Upgrade runbooks: the pk of the release the upgrade starts from (a step shows only
    # those from the release before it). 0 for the other kinds, as NULLs would be distinct
    # in the unique constraint.
    start_pk = models.PositiveIntegerField(default=0)
    # Release notes: their kind (a briefing shows chosen kinds). Empty for the others.
    note_kind = models.CharField(max_length=16, blank=True, default="")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    visibility = models.CharField(max_length=16, choices=Visibility.choices)
    count = models.IntegerField(default=0)
    version = models.BigIntegerField(default=0)
    updated = models.DateTimeField()

    objects = VisibleQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "release", "start_pk", "note_kind", "organisation", "visibility"],
                name="one_briefing_stamp_each",
            )
        ]

    def __str__(self):
        return f"{self.kind} {self.release_id}/{self.start_pk} {self.note_kind}: {self.count}"
