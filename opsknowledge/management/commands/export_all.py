"""Write a portable copy of everything this instance holds into DIR.

    python manage.py export_all DIR [--include-secrets]

The copy moves between instances and between SQLite and PostgreSQL (import_all DIR).
Password hashes and API tokens stay out unless --include-secrets: keep such a copy as
safely as the database itself. For a backup of a PostgreSQL instance as it is, pg_dump is
the tool (README "Backup and restore"); this is the portable copy.
"""

from pathlib import Path

from django.core.management.base import BaseCommand

from opsknowledge import backup


class Command(BaseCommand):
    help = __doc__.split("\n\n")[0]

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument(
            "--include-secrets",
            action="store_true",
            help="also password hashes and API tokens (their digests)",
        )

    def handle(self, directory, include_secrets, **options):
        manifest = backup.export_all(
            directory,
            include_secrets=include_secrets,
            progress=lambda name, rows: self.stderr.write(f"  {name}: {rows}"),
        )
        total = sum(manifest["counts"].values())
        secrets = "with" if include_secrets else "without"
        self.stdout.write(
            f"Exported {total} rows of {len(manifest['counts'])} models to {directory} "
            f"({secrets} password hashes and API tokens)."
        )
