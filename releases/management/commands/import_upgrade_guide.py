"""`import_upgrade_guide FILE --organisation SLUG`: one upgrade runbook per hop ("R2 to
R3", ...) of the SCS k8s-cluster-api-provider `doc/Upgrade-Guide.md` (see
releases.importers.upgrade_guide). The releases must exist already
(import_release_notes or load_demo); each hop is imported all-or-nothing."""

from pathlib import Path

from django.core.management.base import CommandError

from opsknowledge.importing import (
    ImportCommand,
    ImportFailure,
    import_document,
    publication_fields,
)
from opsknowledge.models import Component, Release
from releases.importers.upgrade_guide import parse_upgrade_guide, runbook_fields
from runbooks.models import Runbook

COMPONENT = "cluster-api"


class Command(ImportCommand):
    help = (
        "Import the SCS k8s-cluster-api-provider upgrade guide (doc/Upgrade-Guide.md) as one "
        "upgrade runbook per release hop (R2 to R3, R3 to R4, ...)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="doc/Upgrade-Guide.md")
        super().add_arguments(parser)

    def sources(self, options):
        path = options["file"]
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from None
        try:
            guide = parse_upgrade_guide(text)
        except ImportFailure as failure:
            raise CommandError(f"{path}: {failure}") from None
        if not guide.hops:
            raise CommandError(f"{path} has no 'R<n> to R<m>' sections; is it the upgrade guide?")
        self.remarks = []
        self.has_component = Component.objects.filter(slug=COMPONENT).exists()
        if not self.has_component:
            self.remarks.append(f"no component '{COMPONENT}' in the catalogue; runbooks have none")
        for hop in guide.hops:
            yield hop.name, (guide, hop)

    def import_one(self, name, source, options):
        guide, hop = source
        fields = runbook_fields(guide, hop)
        missing = [
            slug
            for slug in (fields["upgrade_from"], fields["upgrade_to"])
            if not Release.objects.filter(slug=slug).exists()
        ]
        if missing:
            raise ImportFailure(
                f"release {' and '.join(missing)} does not exist; run import_release_notes "
                "(or load_demo --catalogue-only) first"
            )
        fields["components"] = [COMPONENT] if self.has_component else []
        slug = f"capi-upgrade-r{hop.start}-to-r{hop.end}"
        outcome, _runbook = import_document(
            model=Runbook,
            organisation=options["organisation"],
            slug=slug,
            fields=fields,
            actor=options["actor"],
            dry_run=options["dry_run"],
            create_defaults=publication_fields(fields, options),
        )
        note = "" if hop.workload else "no 'On R… clusters' section for this hop"
        return outcome, f"{slug}: {outcome}" + (f"; {note}" if note else "")

    def finish(self, options) -> dict:
        return {"notes": self.remarks}
