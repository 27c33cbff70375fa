"""Load a copy written by export_all into this instance, then rebuild the search index.

    python manage.py import_all DIR [--merge]

The target must be migrated and empty (a fresh database) unless --merge. Ids, revision
numbers and timestamps are kept; on PostgreSQL the id sequences are moved past them. Users
of a copy made without secrets get unusable passwords: set one with `manage.py
changepassword`, or the organisation admin gives them a one-time password.
"""

from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from opsknowledge import backup


class Command(BaseCommand):
    help = __doc__.split("\n\n")[0]

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument(
            "--merge", action="store_true", help="add to a database that already holds data"
        )

    def handle(self, directory, merge, **options):
        try:
            summary = backup.import_all(
                directory,
                merge=merge,
                progress=lambda name, rows: self.stderr.write(f"  {name}: {rows}"),
            )
        except backup.BackupError as error:
            raise CommandError(str(error)) from None
        call_command("rebuild_search_index", stdout=self.stderr, stderr=self.stderr)
        total = sum(summary["counts"].values())
        self.stdout.write(f"Imported {total} rows of {len(summary['counts'])} models.")
        if summary["users_without_password"]:
            self.stdout.write(
                f"{summary['users_without_password']} users have no usable password (the copy "
                "holds no secrets): set one with changepassword."
            )
