from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "releases"
    verbose_name = "Release notes and upgrade briefings"

    def ready(self):
        from . import search  # noqa: F401  (registers what release notes index)
