"""What the site keeps about a user account beyond Django's user."""

from django.conf import settings
from django.db import models


class PasswordChangeRequired(models.Model):
    """The user signs in with a one-time password an organisation admin was shown (no mail
    is sent) and must choose their own before anything else; removed when they have."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="password_change_required",
    )
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.user} must change their password"
