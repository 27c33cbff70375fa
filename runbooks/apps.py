from django.apps import AppConfig


class RunbooksConfig(AppConfig):
    name = "runbooks"
    verbose_name = "Runbooks and best practices"

    def ready(self):
        from opsknowledge import kinds

        from .models import Practice, Runbook

        kinds.register(Runbook, feed_title="Runbooks")
        kinds.register(Practice)

        from . import search  # noqa: F401  (registers what the kind indexes)
