import os
import secrets

import yaml
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from opsknowledge import demo, kinds, localenv, services
from opsknowledge.checks import DEMO_USERNAMES
from opsknowledge.importing import ImportFailure, import_document, read_markdown
from opsknowledge.keys import digest
from opsknowledge.models import APIToken, Component, Membership, Organisation, Release

# Who the local demo tokens act for: alpenwolke's demo members (no password: API only).
DEMO_ORGANISATION = "alpenwolke"

WELCOME = """
opsknowledge with demo content, once the server below says it has started:
  {url}/            start page: recent runbooks, failure reports, best practices
  {url}/runbooks/   runbooks, filtered by organisation, component, release, tag, alert
  {url}/upgrade/?from=r2&to=r4   an upgrade briefing, hop by hop
  {url}/search/     search everything you may read
  {url}/api/docs/   the REST API, to try in the browser
Demo API tokens for this local instance only (kept in var/.env, the same every run):
  viewer of {org}  {viewer}
  editor of {org}  {editor}
  e.g. curl -H "Authorization: Token {editor}" {url}/api/v1/me/
{accounts}\
Commands from README work as pasted in any shell in this folder (manage.py reads var/.env).
"""


class Command(BaseCommand):
    help = "Load the demo catalogue and documents. Safe to run again: nothing is duplicated."

    def add_arguments(self, parser):
        parser.add_argument(
            "--catalogue-only",
            action="store_true",
            help="organisations, components and releases, but no documents",
        )
        parser.add_argument(
            "--with-demo-accounts",
            action="store_true",
            help="create the demo accounts (a viewer and an editor of "
            f"{DEMO_ORGANISATION}) with passwords even without DEBUG; never on a public "
            "instance",
        )
        parser.add_argument(
            "--local-instance",
            metavar="URL",
            help="also issue the local demo tokens kept in var/.env and print what to open at "
            "URL (make run)",
        )

    @transaction.atomic
    def handle(
        self, catalogue_only=False, local_instance=None, with_demo_accounts=False, **options
    ):
        self.load_catalogue()
        if catalogue_only:
            self.stderr.write("Demo catalogue loaded.")
        else:
            outcomes = self.load_documents()
            notes = self.load_release_notes()
            self.stderr.write(
                f"Demo content: {len(demo.ORGANISATIONS)} organisations, "
                f"{len(demo.COMPONENTS)} components, {len(demo.RELEASES)} releases, "
                f"{len(demo.DOCUMENTS)} documents ({outcomes}), {notes} release notes."
            )
        # Accounts that can sign in: only where DEBUG says this is a developer's machine, or
        # when asked for explicitly (the deploy check warns while they exist).
        passwords = {}
        if settings.DEBUG or with_demo_accounts:
            passwords = self.create_demo_accounts()
        if local_instance:
            keys = self.issue_demo_tokens()
            self.stdout.write(
                WELCOME.format(
                    url=local_instance.rstrip("/"),
                    org=DEMO_ORGANISATION,
                    accounts=self.accounts_text(local_instance.rstrip("/"), passwords),
                    **keys,
                )
            )
        elif passwords:
            self.stdout.write(self.accounts_text("", passwords))

    @staticmethod
    def accounts_text(url: str, passwords: dict) -> str:
        if not passwords:
            return ""
        lines = [f"Demo accounts to sign in at {url}/ (local use only):"]
        lines += [
            f"  {role} of {DEMO_ORGANISATION}  username {username}  password {password}"
            for role, (username, password) in passwords.items()
        ]
        return "\n".join(lines) + "\n"

    def demo_user(self, role: str):
        user, created = get_user_model().objects.get_or_create(username=f"demo-{role}")
        if created:
            user.set_unusable_password()
            user.save()
        organisation = Organisation.objects.get(slug=DEMO_ORGANISATION)
        Membership.objects.update_or_create(
            user=user, organisation=organisation, defaults={"role": role}
        )
        return user

    def create_demo_accounts(self) -> dict:
        """{role: (username, password)}; passwords from var/.env (make run) or new ones."""
        accounts = {}
        for role, variable in localenv.DEMO_PASSWORDS.items():
            user = self.demo_user(role)
            assert user.username in DEMO_USERNAMES
            password = os.environ.get(variable) or secrets.token_urlsafe(12)
            if not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])
            accounts[role] = (user.username, password)
        return accounts

    def load_release_notes(self) -> int:
        from releases.services import release_note_upsert

        actor = services.Actor.operator()
        notes = yaml.safe_load(demo.RELEASE_NOTES.read_text(encoding="utf-8"))
        for note in notes:
            fields = {name: note[name] for name in ("kind", "title", "body") if name in note}
            fields["order"] = note.get("order", 0)
            fields["component"] = (
                Component.objects.get(slug=note["component"]) if note.get("component") else None
            )
            release_note_upsert(
                organisation=Organisation.objects.get(slug=note["organisation"]),
                release=Release.objects.get(slug=note["release"]),
                slug=note["slug"],
                fields=fields,
                actor=actor,
            )
        return len(notes)

    def issue_demo_tokens(self) -> dict:
        """The tokens whose keys var/.env keeps, issued once; {role: key}."""
        organisation = Organisation.objects.get(slug=DEMO_ORGANISATION)
        keys = {}
        for role, variable in localenv.DEMO_TOKENS.items():
            key = os.environ.get(variable)
            if not key:
                raise CommandError(f"{variable} is not set; `make run` keeps it in var/.env.")
            user = self.demo_user(role)
            if not APIToken.objects.filter(key_digest=digest(key)).exists():
                APIToken.issue(
                    user=user,
                    organisation=organisation,
                    key=key,
                    description="local demo token (var/.env)",
                )
            keys[role] = key
        return keys

    def load_catalogue(self):
        for data in demo.ORGANISATIONS:
            Organisation.objects.update_or_create(slug=data["slug"], defaults=data)

        components = {}
        for slug, name, parent, aliases, description in demo.COMPONENTS:
            components[slug], _ = Component.objects.update_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "parent": components[parent] if parent else None,
                    "aliases": aliases,
                    "description": description,
                },
            )

        previous = None
        for slug, name, version, released_on in demo.RELEASES:
            release, _ = Release.objects.get_or_create(slug=slug, defaults={"name": name})
            release.name, release.version, release.released_on = name, version, released_on
            # Detach whoever currently follows `previous` first: the chain is one-to-one.
            if previous is not None:
                Release.objects.filter(previous=previous).exclude(pk=release.pk).update(
                    previous=None
                )
            release.previous = previous
            release.save()
            previous = release

    def load_documents(self) -> str:
        actor = services.Actor.operator()
        counts: dict[str, int] = {}
        for name, kind, organisation in demo.DOCUMENTS:
            path = demo.CONTENT_DIR / name
            try:
                parsed = read_markdown(path.read_text(encoding="utf-8"))
                fields = {**parsed.front_matter, "body": parsed.body}
                slug = fields.pop("slug", path.stem)
                outcome, _ = import_document(
                    model=kinds.model_for(kind),
                    organisation=Organisation.objects.get(slug=organisation),
                    slug=slug,
                    fields=fields,
                    actor=actor,
                )
            except ImportFailure as failure:
                raise CommandError(f"demo content {name}: {failure}") from None
            counts[outcome] = counts.get(outcome, 0) + 1
        for kind, source_org, slug, target_org in demo.ADOPTIONS:
            model = kinds.model_for(kind)
            target = Organisation.objects.get(slug=target_org)
            if not model.objects.filter(organisation=target, slug=slug).exists():
                services.document_adopt(
                    source=model.objects.get(organisation__slug=source_org, slug=slug),
                    organisation=target,
                    slug=slug,
                    actor=actor,
                )
                counts["adopted"] = counts.get("adopted", 0) + 1
        return ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items()))
