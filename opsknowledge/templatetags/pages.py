"""Template helpers of the web pages: times with their zone, durations, list links."""

import datetime

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()


@register.filter
def when(value):
    """A time as `<time>` with its zone, in the site's zone (UTC): "2024-03-20 14:05 UTC"."""
    if not value:
        return ""
    if isinstance(value, datetime.datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return format_html(
            '<time datetime="{}">{}</time>',
            local.isoformat(),
            local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "UTC"),
        )
    return format_html('<time datetime="{}">{}</time>', value.isoformat(), value.isoformat())


@register.filter
def duration(seconds):
    """Seconds as "2 d 3 h", "1 h 5 min", "4 min" or "30 s"."""
    if seconds is None or seconds == "":
        return ""
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


@register.simple_tag
def kind_url(kind, suffix="list", **kwargs):
    """The page `<kind>-<suffix>` ("runbook-list", "incident-page", ...)."""
    return reverse(f"{kind}-{suffix}", kwargs=kwargs or None)
