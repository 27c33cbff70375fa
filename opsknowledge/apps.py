from django.apps import AppConfig


class OpsknowledgeConfig(AppConfig):
    name = "opsknowledge"
    verbose_name = "Catalogue"

    def ready(self):
        from . import checks  # noqa: F401  (registers the deploy check on demo accounts)
        from .api import schema  # noqa: F401  (registers the OpenAPI extensions)
