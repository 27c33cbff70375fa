"""Index every document and release note for search again.

    python manage.py rebuild_search_index

The services keep the index current on every write; this is for a database migrated from
a version without search, a restored backup, or after changing what a kind indexes. It runs
in one transaction: searches see the old index until it commits.
"""

import time

from django.core.management.base import BaseCommand
from django.db import transaction

from opsknowledge.progress import Progress
from opsknowledge.search import index


class Command(BaseCommand):
    help = __doc__.split("\n\n")[0]

    def handle(self, **options):
        started = time.perf_counter()
        indexed = 0
        with (
            transaction.atomic(),
            Progress(
                self.stderr, "rebuild_search_index", total=index.total(), unit="documents"
            ) as bar,
        ):
            for count in index.rebuild():
                indexed += count
                bar.update(count)
        seconds = time.perf_counter() - started
        rate = indexed / seconds if seconds else 0
        self.stdout.write(f"Indexed {indexed} documents in {seconds:.1f} s ({rate:.0f}/s).")
