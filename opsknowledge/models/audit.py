"""The audit log: who changed what, in which organisation, how, when and from where."""

from django.conf import settings
from django.db import models

from .catalogue import Organisation


class AuditEvent(models.Model):
    class Via(models.TextChoices):
        TOKEN = "token", "API token"
        SESSION = "session", "Web session"
        COMMAND = "command", "Management command"
        IMPORT = "import", "Import"
        SYSTEM = "system", "System"

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    # The user at the time, by name too: the row outlives a deleted account.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True)
    via = models.CharField(max_length=16, choices=Via.choices)
    # The key's first characters (what token lists show), never the key.
    token_start = models.CharField(max_length=12, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    # Empty for instance-wide writes (the catalogue, release notes).
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_events"
    )
    action = models.CharField(max_length=40)  # "runbook.update", "token.revoke", ...
    target = models.CharField(max_length=300, blank=True)  # "alpen/ceph-osd-full"
    revision = models.PositiveIntegerField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["organisation", "-created"], name="audit_by_organisation")]

    def __str__(self):
        return (
            f"{self.created:%Y-%m-%d %H:%M} {self.username or self.via} {self.action} {self.target}"
        )
