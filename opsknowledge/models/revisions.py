"""Revisions of documents of every kind, in one table."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models


class Revision(models.Model):
    class Via(models.TextChoices):
        TOKEN = "token", "API token"
        SESSION = "session", "Web session"
        IMPORT = "import", "Import command"
        SYSTEM = "system", "System"

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    document = GenericForeignKey("content_type", "object_id")
    number = models.PositiveIntegerField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=16, choices=Via.choices, default=Via.SYSTEM)
    created = models.DateTimeField(auto_now_add=True)
    message = models.CharField(max_length=500, blank=True)
    snapshot = models.JSONField()

    class Meta:
        ordering = ["content_type", "object_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "number"], name="one_revision_per_number"
            )
        ]

    def __str__(self):
        return f"revision {self.number} of {self.content_type.model} {self.object_id}"
