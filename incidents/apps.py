from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Failure reports"

    def ready(self):
        from opsknowledge import kinds

        from .models import FailureReport

        kinds.register(FailureReport, feed_title="Failure reports")

        from . import search  # noqa: F401  (registers what the kind indexes)
