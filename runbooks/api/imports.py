"""POST /api/v1/import/: a tar.gz or zip of Markdown files, imported exactly as
`import_runbooks` imports a directory (same importer, same services, same summary)."""

import io
import tempfile
from dataclasses import replace
from pathlib import Path

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import parsers, serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents import statuspage
from opsknowledge import services
from opsknowledge.api.errors import TooLarge
from opsknowledge.importing import ImportFailure, run_import
from opsknowledge.models import License, Organisation, Revision
from opsknowledge.visibility import Access

from ..archives import ArchiveError, unpack
from ..importers import KINDS
from ..uploads import import_archive


def import_actor(request) -> services.Actor:
    """Revisions of imported documents say "import"; the audit log says how the caller
    signed in, from where, with which token."""
    return replace(services.Actor.of_request(request), via=Revision.Via.IMPORT)


# Where ArchiveParser puts the raw body: not a name a multipart form could use.
ARCHIVE_BODY = "\x00archive"
ARCHIVE_TYPES = ("application/gzip", "application/x-gzip", "application/x-tar",
                 "application/zip", "application/octet-stream")  # fmt: skip


class ArchiveParser(parsers.BaseParser):
    """The request body is the archive itself (curl --data-binary @tree.tar.gz)."""

    media_type = "application/*"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.IMPORT_MAX_BYTES
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise TooLarge(f"The archive exceeds {limit} bytes.")
        return {ARCHIVE_BODY: data}


# `incident`: a folder of Markdown postmortems (incidents.importers), not a runbook tree;
# `status-page`: status-page incidents as JSON (incidents.statuspage), a body or an archive.
UPLOAD_KINDS = sorted([*KINDS, "incident", "status-page"])


class ImportOptions(serializers.Serializer):
    organisation = serializers.SlugField(required=False)
    kind = serializers.ChoiceField(choices=UPLOAD_KINDS, default="runbook")
    # Without them: defaults for the documents the import creates only (as the commands).
    visibility = serializers.ChoiceField(
        choices=["public", "community", "organisation"], required=False
    )
    status = serializers.ChoiceField(choices=["draft", "in_review", "published"], required=False)
    license = serializers.ChoiceField(choices=License.values, required=False)
    create_components = serializers.BooleanField(default=False)
    prune = serializers.BooleanField(default=False)
    # The raw-file address of the archive's tree in its repository: images link there.
    source_url = serializers.URLField(required=False, default="")
    dry_run = serializers.BooleanField(default=False)
    # Failure reports only: publish reports with blameless-language or redaction warnings.
    acknowledge_warnings = serializers.BooleanField(default=False)
    # Status pages only: the JSON's format, and the page's name (required for SCS).
    format = serializers.ChoiceField(choices=["auto", "statuspage", "scs"], default="auto")
    source = serializers.SlugField(required=False, max_length=100)

    def validate(self, data):
        if data.get("status") == "in_review" and data["kind"] != "incident":
            raise ValidationError({"status": ["in_review is a status of failure reports only."]})
        return data


class ImportView(APIView):
    permission_classes = [IsAuthenticated]
    # JSON before ArchiveParser, whose application/* would take it.
    parser_classes = [parsers.MultiPartParser, parsers.JSONParser, ArchiveParser]

    @extend_schema(
        parameters=[ImportOptions],
        request={
            "multipart/form-data": inline_serializer(
                "ImportUpload", {"file": serializers.FileField()}
            ),
            "application/gzip": OpenApiTypes.BINARY,
            "application/zip": OpenApiTypes.BINARY,
            "application/json": OpenApiTypes.OBJECT,
        },
        responses=inline_serializer(
            "ImportSummary",
            {
                "ok": serializers.BooleanField(),
                "files_total": serializers.IntegerField(),
                "created": serializers.IntegerField(),
                "updated": serializers.IntegerField(),
                "unchanged": serializers.IntegerField(),
                "skipped": serializers.IntegerField(),
                "failed": serializers.IntegerField(),
                "pruned": serializers.IntegerField(required=False),
                "files": serializers.ListField(child=serializers.DictField()),
                "notes": serializers.ListField(child=serializers.CharField()),
            },
        ),
    )
    def post(self, request):
        """Import a tar.gz or zip archive of Markdown runbooks (or, with `kind=incident`,
        of Markdown postmortems) into the token's organisation.

        Options come as form fields or query parameters; `ok` is false when any file failed
        (each file is all-or-nothing, the others are imported)."""
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > settings.IMPORT_MAX_BYTES + 64 * 1024:
            raise TooLarge(f"The archive exceeds {settings.IMPORT_MAX_BYTES} bytes.")
        given = {**request.query_params.dict(), **self._form_fields(request)}
        if request.content_type.split(";")[0].strip() == "application/json":
            given.setdefault("kind", "status-page")  # JSON is a status-page export (API.md)
        options = ImportOptions(data=given)
        options.is_valid(raise_exception=True)
        options = dict(options.validated_data)
        access = Access.of(request)
        organisation = self._organisation(request, options.pop("organisation", None), access)
        if options["create_components"] and not access.is_staff:
            raise PermissionDenied("Only staff may create components (create_components).")
        if options["kind"] == "status-page":
            return self._status_page(request, organisation, access, options)
        archive = self._archive(request)
        try:
            summary = import_archive(
                archive,
                organisation=organisation,
                actor=import_actor(request),
                options=options,
            )
        except ArchiveError as error:
            if error.too_large:
                raise TooLarge(str(error)) from None
            raise ValidationError({"file": [str(error)]}) from None
        except ImportFailure as failure:
            raise ValidationError({"file": [str(failure)]}) from None
        return Response(
            {
                "organisation": organisation.slug,
                "kind": options["kind"],
                "dry_run": options["dry_run"],
                **summary.as_dict(),
            }
        )

    def _status_page(self, request, organisation, access, options):
        """Status-page incidents ({"incident"}, {"incidents": [...]}, an SCS bundle, or an
        archive of such files) as failure-report drafts, as `import_status_page` does."""
        read = {"fmt": options["format"], "source": options.get("source")}
        options.update(
            organisation=organisation,
            actor=import_actor(request),
        )
        if request.content_type.split(";")[0].strip() == "application/json":
            found = statuspage.read_uploaded(request.data, **read)
            if len(found) == 1 and isinstance(found[0][1], ImportFailure):
                # One JSON body that is no export at all: the request is wrong, not a file
                # of it (an archive's bad files fail one by one instead).
                raise ValidationError({"incidents": [str(found[0][1])]})
            importer = statuspage.StatusPageImporter(found)
            summary = run_import(importer, options)
        else:
            archive = self._archive(request)
            with tempfile.TemporaryDirectory(prefix="opsknowledge-import-") as root:
                try:
                    refused = unpack(io.BytesIO(archive), Path(root))
                except ArchiveError as error:
                    if error.too_large:
                        raise TooLarge(str(error)) from None
                    raise ValidationError({"file": [str(error)]}) from None
                found = statuspage.read_tree(Path(root), **read)
                importer = statuspage.StatusPageImporter(found, refused=refused)
                summary = run_import(importer, options)
        return Response(
            {
                "organisation": organisation.slug,
                "kind": options["kind"],
                "dry_run": options["dry_run"],
                **summary.as_dict(),
            }
        )

    @staticmethod
    def _form_fields(request) -> dict:
        data = request.data
        if hasattr(data, "dict"):  # multipart: a QueryDict with the file beside the fields
            return {k: v for k, v in data.dict().items() if k != "file"}
        return {}

    @staticmethod
    def _organisation(request, slug, access):
        if slug is None and access.via_token:
            slug = request.auth.organisation_slug
        if not slug:
            raise ValidationError({"organisation": ["This field is required (or use a token)."]})
        organisation = Organisation.objects.filter(slug=slug).first()
        if organisation is None:
            raise ValidationError({"organisation": [f"unknown organisation '{slug}'."]})
        if not access.can_write(organisation):
            raise PermissionDenied(
                f"You need the editor or admin role in organisation '{slug}' to import there."
            )
        return organisation

    @staticmethod
    def _archive(request) -> bytes:
        data = request.data
        if ARCHIVE_BODY in data:
            return data[ARCHIVE_BODY]
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError(
                {"file": ["Send the archive as the multipart field 'file' or as the body."]}
            )
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise TooLarge(f"The archive exceeds {settings.IMPORT_MAX_BYTES} bytes.")
        return upload.read()
