from django.apps import AppConfig


class OpsknowledgeConfig(AppConfig):
    name = "opsknowledge"
    verbose_name = "Catalogue"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from . import checks  # noqa: F401  (registers the deploy check on demo accounts)
        from .api import schema  # noqa: F401  (registers the OpenAPI extensions)
        from .middleware import note_password_change_required

        user_logged_in.connect(note_password_change_required, dispatch_uid="password-change")
