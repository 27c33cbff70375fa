"""System checks of the catalogue: `manage.py check --deploy` warns about demo accounts,
whose passwords `make run` prints and keeps in a plain file."""

from django.contrib.auth import get_user_model
from django.core import checks
from django.db import DatabaseError

# The users load_demo creates for local use (signing in and demo API tokens).
DEMO_USERNAMES = ("demo-viewer", "demo-editor")


@checks.register(checks.Tags.security, deploy=True)
def demo_accounts(app_configs=None, **kwargs):
    try:
        found = sorted(
            get_user_model()
            .objects.filter(username__in=DEMO_USERNAMES)
            .values_list("username", flat=True)
        )
    except DatabaseError:  # no database yet (before migrate): nothing to warn about
        return []
    if not found:
        return []
    return [
        checks.Warning(
            f"Demo accounts exist: {', '.join(found)}. Their passwords and tokens are printed "
            "by `make run` and kept in var/.env.",
            hint="Delete them (manage.py shell, or the admin) before exposing this instance.",
            id="opsknowledge.W001",
        )
    ]
