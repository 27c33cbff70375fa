"""The REST API of every document kind: serializer base, viewset base and URL patterns.

Runbooks, practices and failure reports subclass these with their model, serializer and
FilterSet; visibility, preconditions, revisions, diffs and adoption live here once.
"""

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, Prefetch, Q, prefetch_related_objects
from django.http import Http404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import renderers, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from taggit.models import TaggedItem

from .. import history, references, services
from ..models import (
    Component,
    Language,
    License,
    Organisation,
    Release,
    Revision,
    Visibility,
)
from ..models.catalogue import slug_validator
from ..paths import absolute_url
from ..revisions import REVISION_NUMBER, etag, parse_if_match
from ..search.related import related_documents
from ..visibility import shows_authors
from .fields import PageValues, SlugReferenceField, did_you_mean, page_values
from .permissions import DocumentViewSetMixin
from .representation import ReadersMixin
from .search import hit_data


def django_errors_as_drf(parse, value):
    """`parse(value)`, with a Django ValidationError raised as DRF's (the field's errors)."""
    try:
        return parse(value)
    except DjangoValidationError as error:
        raise ValidationError(error.messages) from None


def in_model_order(objects: list) -> list:
    """`objects` (of one model) sorted as the database sorts them by the model's ordering
    (plain ascending fields; NULL last on PostgreSQL, first on SQLite)."""
    if not objects:
        return []
    from django.db import connection

    nulls_last = connection.vendor == "postgresql"

    def key(item):
        parts = []
        for name in type(item)._meta.ordering:
            value = getattr(item, name)
            parts.append(((value is None) == nulls_last, value if value is not None else 0))
        return parts

    return sorted(objects, key=key)


class TagListField(serializers.ListField):
    """Tags as a list of lower-case words; "Storage " and "storage" are one tag."""

    child = serializers.CharField(max_length=100)

    def to_internal_value(self, data):
        return django_errors_as_drf(references.normalise_tags, super().to_internal_value(data))

    def get_attribute(self, instance):
        found = page_values(self, instance)
        # Else read through the prefetched generic relation (see Document.tagged_items).
        return found if found is not None else instance.tagged_items.all()

    def to_representation(self, tagged_items):
        if isinstance(tagged_items, PageValues):
            return sorted(tagged_items)
        return sorted(item.tag.name for item in tagged_items)


class DocumentSerializer(ReadersMixin, serializers.ModelSerializer):
    """Fields common to every document kind (API.md "Documents")."""

    # Fields a list item leaves out (they are the heavy ones).
    DETAIL_ONLY = ("body", "body_html", "source_path", "source_url")

    organisation = SlugReferenceField(
        noun="organisation", queryset=Organisation.objects.all(), required=False
    )
    # Not trimmed: " x" is no slug, and quietly storing "x" would answer 201 for a request
    # that named another address.
    slug = serializers.CharField(
        max_length=100, validators=[slug_validator], required=False, trim_whitespace=False
    )
    components = SlugReferenceField(
        noun="component", aliases=True, many=True, queryset=Component.objects.all(), required=False
    )
    releases = SlugReferenceField(
        noun="release", many=True, queryset=Release.objects.all(), required=False
    )
    tags = TagListField(required=False)
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False)
    license = serializers.ChoiceField(
        choices=License.choices,
        required=False,
        error_messages={"invalid_choice": License.refusal("{input}")},
    )
    language = serializers.ChoiceField(choices=Language.choices, required=False)
    body_html = serializers.CharField(read_only=True)
    # Set by the importers (Document.source_path): where the document was imported from.
    source_path = serializers.CharField(read_only=True)
    source_url = serializers.CharField(read_only=True)
    revision = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField()
    api_url = serializers.SerializerMethodField()
    acknowledge_warnings = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="Publish although the document has warnings.",
    )

    def to_internal_value(self, data):
        # Every component and release the write names by slug, looked up once per model
        # before the fields resolve them (`fields.known_objects`): a runbook's releases,
        # upgrade_from and upgrade_to are one query.
        if isinstance(data, dict):
            self.known_objects = references.catalogue_objects(
                self.Meta.model, data, (Component, Release)
            )
        return super().to_internal_value(data)

    class Meta:
        fields = [
            "organisation",
            "slug",
            "title",
            "summary",
            "body",
            "body_html",
            "components",
            "releases",
            "tags",
            "visibility",
            "status",
            "license",
            "language",
            "last_reviewed",
            "revision",
            "created",
            "updated",
            "url",
            "api_url",
            "source_path",
            "source_url",
            "acknowledge_warnings",
        ]
        read_only_fields = ["created", "updated"]
        # The (organisation, slug) uniqueness is the write services' job (409 on a race);
        # DRF's own validator would also make both fields required on every PATCH.
        validators = []

    @classmethod
    def list_variant(cls):
        """This serializer without the DETAIL_ONLY fields: list items (its own class, so the
        OpenAPI schema names it apart, e.g. RunbookListItem)."""
        if "_list_variant" not in cls.__dict__:
            fields = [name for name in cls.Meta.fields if name not in cls.DETAIL_ONLY]
            meta = type("Meta", (cls.Meta,), {"fields": fields})
            name = cls.__name__.removesuffix("Serializer") + "ListItemSerializer"
            attrs = {"Meta": meta, "__module__": cls.__module__}
            attrs.update(dict.fromkeys(cls.DETAIL_ONLY))  # None removes a declared field
            cls._list_variant = type(name, (cls,), attrs)
        return cls._list_variant

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"] = serializers.ChoiceField(
            choices=self.Meta.model.STATUS_CHOICES,
            required=False,
            error_messages={"invalid_choice": self.Meta.model.status_refusal("{input}")},
        )
        for name in self.Meta.model.MARKDOWN_FIELDS:
            if name in self.fields:
                # Markdown is stored exactly as sent, so exports and re-imports round-trip.
                self.fields[name].trim_whitespace = False

    def get_url(self, document) -> str:
        return absolute_url(self.context.get("request"), document.get_absolute_url())

    def get_api_url(self, document) -> str:
        return absolute_url(self.context.get("request"), document.get_api_url())


class UpstreamSerializer(serializers.Serializer):
    organisation = serializers.CharField()
    slug = serializers.CharField()
    revision = serializers.IntegerField()
    license = serializers.CharField()
    behind = serializers.BooleanField(
        help_text="The original has newer revisions than the one adopted."
    )


class AdoptableSerializerMixin(serializers.Serializer):
    """`upstream`: where an adopted document came from, and whether the original moved on."""

    upstream = serializers.SerializerMethodField()

    @extend_schema_field(UpstreamSerializer(allow_null=True))
    def get_upstream(self, document):
        if not document.has_upstream:
            return None
        latest = self.context.get("upstream_revisions", {}).get(
            (document.upstream_organisation, document.upstream_slug)
        )
        return {
            "organisation": document.upstream_organisation,
            "slug": document.upstream_slug,
            "revision": document.upstream_revision,
            "license": document.upstream_license,
            "behind": latest is not None and latest > (document.upstream_revision or 0),
        }


class RevisionSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField(help_text="shown to members only")
    via = serializers.SerializerMethodField(help_text="shown to members only")

    class Meta:
        model = Revision
        fields = ["number", "created", "author", "via", "message"]

    def get_author(self, revision) -> str | None:
        if not self.context.get("show_authors") or revision.author is None:
            return None
        return revision.author.get_username()

    def get_via(self, revision) -> str | None:
        return revision.via if self.context.get("show_authors") else None


class RevisionDetailSerializer(RevisionSerializer):
    class Meta(RevisionSerializer.Meta):
        fields = RevisionSerializer.Meta.fields + ["snapshot"]


class PlainTextRenderer(renderers.BaseRenderer):
    """`Accept: text/plain` for diffs: one unified diff of all fields."""

    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, dict) and "changes" in data:
            return "".join(data["changes"][name] for name in sorted(data["changes"]))
        return str(data)


DIFF_RESPONSE = inline_serializer(
    "Diff",
    {
        "from": serializers.IntegerField(),
        "to": serializers.IntegerField(),
        "changes": serializers.DictField(child=serializers.CharField()),
    },
)


class RelatedSerializer(serializers.Serializer):
    results = inline_serializer(
        "RelatedHit",
        {
            "kind": serializers.CharField(),
            "organisation": serializers.CharField(),
            "slug": serializers.CharField(),
            "title": serializers.CharField(),
            "url": serializers.CharField(),
            "api_url": serializers.CharField(),
            "score": serializers.FloatField(),
            "updated": serializers.DateTimeField(),
        },
        many=True,
    )


class DocumentViewSet(DocumentViewSetMixin, viewsets.GenericViewSet):
    """List, create, read, create-or-replace, update, archive; revisions and diffs."""

    model = None  # set by subclasses
    lookup_fields = ("organisation", "slug")
    ordering_fields = ["title", "slug", "created", "updated"]
    # Per-row relations every serializer reads; subclasses add their own.
    select_related = ("organisation",)
    prefetch_related = (
        "components",
        "releases",
        Prefetch("tagged_items", queryset=TaggedItem.objects.select_related("tag")),
    )

    # What a list reads of each row's relations, loaded for the whole page as plain values
    # (`load_page_values`): name -> the columns of the related rows ("slug" for a
    # many-to-many field, the tag name for "tags").
    page_relations = {"components": ("slug",), "releases": ("slug",), "tags": ("name",)}
    # The relations a detail reads as objects (prefetched) rather than as page values,
    # because more than the serializer reads them (a runbook's lint: the releases' dates).
    detail_objects = ()

    def get_queryset(self):
        # select_related/prefetch_related: the serializer reads the organisation slug, the
        # component/release slugs and the tag names of every row; without them a list of N
        # documents costs 4N queries. Lists and details load them as page values instead.
        queryset = self.model.objects.select_related(*self.select_related)
        if self.action not in ("list", "retrieve"):
            queryset = queryset.prefetch_related(*self.prefetch_related)
        return queryset.visible_to(self.access)

    def load_page_values(self, documents, names=None) -> None:
        """One query per relation (`names`, default all `page_relations`) for the whole
        page, setting `page_values` on each row: a dict of lists of plain values (one
        column) or tuples (several), which the serializer's fields read
        (fields.page_values). Unlike prefetch_related it builds no queryset or manager per
        row."""
        if not documents:
            return
        names = self.page_relations if names is None else names
        pks = [document.pk for document in documents]
        loaded = {pk: {name: [] for name in names} for pk in pks}
        for name in names:
            columns = self.page_relations[name]
            rows, owner = self.page_relation_rows(name, pks)
            for values in rows.values_list(owner, *columns):
                value = values[1] if len(columns) == 1 else values[1:]
                loaded[values[0]][name].append(value)
        for document in documents:
            document.page_values = loaded[document.pk]

    def page_relation_rows(self, name, pks):
        """The rows of relation `name` for the documents `pks`, in the order the detail
        shows them, and the column naming their document."""
        if name == "tags":
            content_type = ContentType.objects.get_for_model(self.model)
            rows = TaggedItem.objects.filter(content_type=content_type, object_id__in=pks)
            return rows.annotate(name=F("tag__name")).order_by("name"), "object_id"
        field = self.model._meta.get_field(name)
        if field.many_to_many:  # through the join table: no row of the document itself
            through = field.remote_field.through
            owner, target = field.m2m_field_name(), field.m2m_reverse_field_name()
            ordering = [f"{target}__{o}" for o in field.related_model._meta.ordering]
            rows = through.objects.filter(**{f"{owner}__in": pks}).order_by(*ordering, "pk")
            columns = self.page_relations[name]
            return rows.annotate(**{c: F(f"{target}__{c}") for c in columns}), f"{owner}_id"
        # A reverse foreign key (alerts, runbook links): the related rows themselves.
        owner = field.field.name
        return field.related_model.objects.filter(**{f"{owner}__in": pks}), f"{owner}_id"

    def get_serializer_class(self):
        if self.action == "list":
            return self.serializer_class.list_variant()
        return self.serializer_class

    def get_object(self):
        queryset = self.get_queryset()
        try:
            return queryset.get(
                organisation__slug=self.kwargs["organisation"], slug=self.kwargs["slug"]
            )
        except self.model.DoesNotExist:
            raise Http404(
                f"No {self.model.kind} '{self.kwargs['organisation']}/{self.kwargs['slug']}'."
            ) from None

    # -- helpers --------------------------------------------------------------------------

    def _is_column(self, name: str) -> bool:
        try:
            field = self.model._meta.get_field(name)
        except FieldDoesNotExist:
            return False
        return field.concrete and not field.is_relation

    def upstream_revisions(self, documents) -> dict:
        """The current revisions of the (readable) originals of adopted documents, in one
        query for a whole page."""
        wanted = {
            (d.upstream_organisation, d.upstream_slug)
            for d in documents
            if getattr(d, "has_upstream", False)
        }
        if not wanted:
            return {}
        match = Q()
        for organisation, slug in wanted:
            match |= Q(organisation__slug=organisation, slug=slug)
        rows = (
            self.model.objects.visible_to(self.access)
            .filter(match)
            .values_list("organisation__slug", "slug", "revision")
        )
        return {(org, slug): revision for org, slug, revision in rows}

    def extra_context(self, documents) -> dict:
        """Serializer context computed once for a page of documents (no per-row queries);
        kinds add their own."""
        return {}

    def page_context(self, documents) -> dict:
        context = self.get_serializer_context()
        context["upstream_revisions"] = self.upstream_revisions(documents)
        context.update(self.extra_context(documents))
        return context

    def written_values(self, document) -> dict:
        """After a write, the relations as just written (the services' `written_content`),
        in the detail's order, so the response reads none of them back: lists of slugs and
        names that the snapshot keeps sorted, as the related models order them."""
        content = getattr(document, "written_content", None)
        if content is None:
            return {}
        values = {}
        for name in self.page_relations:
            if name == "tags" or name in self.model.RELATED_CONTENT:
                if all(isinstance(item, str) for item in content.get(name) or []):
                    values[name] = content.get(name) or []
                continue
            field = self.model._meta.get_field(name)
            if not field.many_to_many:
                continue  # e.g. a report's runbook links: read back
            if field.related_model._meta.ordering == ["slug"]:  # releases go by date
                values[name] = content.get(name) or []
        return values

    def respond(self, document, status_code=status.HTTP_200_OK, headers=None):
        written = self.written_values(document)
        if written:
            document.page_values = written
            # What is read back (releases) is read once for the serializer and lint alike.
            unread = [
                name
                for name in self.page_relations
                if name not in written and self.model._meta.get_field(name).many_to_many
            ]
            objects = getattr(document, "written_objects", {})
            for name in [name for name in unread if name in objects]:
                # Written just now: the objects the write resolved, in the model's order.
                cache = document.__dict__.setdefault("_prefetched_objects_cache", {})
                cache[name] = in_model_order(objects[name])
                unread.remove(name)
            prefetch_related_objects([document], *unread)
        context = self.page_context([document])
        data = self.get_serializer_class()(document, context=context).data
        headers = {"ETag": etag(document.revision), **(headers or {})}
        return Response(data, status=status_code, headers=headers)

    def organisation_for_write(self, slug):
        token = self.request.auth if self.access.via_token else None
        if token is not None and token.organisation_id and token.organisation.slug == slug:
            organisation = token.organisation  # read with the token: no second query
        else:
            try:
                organisation = Organisation.objects.get(slug=slug)
            except Organisation.DoesNotExist:
                raise Http404(f"No organisation '{slug}'.") from None
        self.check_write(organisation)
        return organisation

    def validated(self, data, *, instance=None, partial=False):
        serializer = self.get_serializer(instance, data=data, partial=partial)
        serializer.is_valid(raise_exception=True)
        attrs = dict(serializer.validated_data)
        acknowledge = attrs.pop("acknowledge_warnings", False)
        # organisation and slug stay in: the services refuse a change of address.
        return attrs, acknowledge

    # -- endpoints ------------------------------------------------------------------------

    def list(self, request, *args, **kwargs):
        # The page's ids first: the count and the order are answered from the readable
        # index (visibility, status, organisation, slug, id) and the relations' join
        # tables, without reading a wide row that is not shown. Then the rows of the page,
        # through the reader's visibility again: a row hidden in between is left out.
        queryset = self.filter_queryset(self.get_queryset())
        ids = self.paginate_queryset(queryset.values_list("pk", flat=True))
        # List items leave out the heavy Markdown fields: do not even load them.
        heavy = [name for name in self.serializer_class.DETAIL_ONLY if self._is_column(name)]
        rows = self.get_queryset().defer(*heavy).in_bulk(ids)  # no query for no ids
        page = [rows[pk] for pk in ids if pk in rows]
        self.load_page_values(page)
        context = self.page_context(page)
        serializer = self.get_serializer_class()(page, many=True, context=context)
        return self.get_paginated_response(serializer.data)

    def retrieve(self, request, *args, **kwargs):
        document = self.get_object()
        if_none_match = parse_if_match(request.headers.get("If-None-Match"))
        if if_none_match == "*" or (if_none_match and document.revision in if_none_match):
            return Response(
                status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag(document.revision)}
            )
        # Its relations as a list page's values: the same queries as prefetch_related, but
        # no queryset or manager per relation. A 304 reads none of them.
        prefetch_related_objects([document], *self.detail_objects)
        self.load_page_values(
            [document], [name for name in self.page_relations if name not in self.detail_objects]
        )
        return self.respond(document)

    def create(self, request, *args, **kwargs):
        if not isinstance(request.data, dict):
            raise ValidationError("Send a JSON object.")
        if "organisation" in request.data and not isinstance(request.data["organisation"], str):
            raise ValidationError({"organisation": ["Give the organisation's slug (a string)."]})
        slug = request.data.get("organisation")
        if slug is None and self.access.via_token:
            slug = request.auth.organisation_slug  # a token acts for its organisation
        if not isinstance(slug, str) or not slug:
            raise ValidationError({"organisation": ["This field is required."]})
        if not Organisation.objects.filter(slug=slug).exists():
            choices = Organisation.objects.values_list("slug", flat=True)
            raise ValidationError(
                {"organisation": [f"unknown organisation '{slug}'" + did_you_mean(slug, choices)]}
            )
        organisation = self.organisation_for_write(slug)
        if not request.data.get("slug"):
            raise ValidationError({"slug": ["This field is required."]})
        attrs, acknowledge = self.validated({**request.data, "organisation": slug})
        document = services.document_create(
            model=self.model,
            organisation=organisation,
            slug=attrs.pop("slug"),
            data=attrs,
            actor=services.Actor.of_request(request),
            acknowledge_warnings=acknowledge,
        )
        return self.respond_created(document)

    def respond_created(self, document):
        return self.respond(
            document,
            status.HTTP_201_CREATED,
            headers={"Location": self.request.build_absolute_uri(document.get_api_url())},
        )

    def existing(self, organisation, slug):
        """The document to write, readable or not (writers of `organisation` may write it)."""
        document = self.model.objects.filter(organisation=organisation, slug=slug).first()
        if document is None:
            raise Http404(f"No {self.model.kind} '{organisation.slug}/{slug}'.")
        document.organisation = organisation  # the row it refers to: no query to read it
        return document

    def update(self, request, *args, **kwargs):
        """Create-or-replace (runbooks as code)."""
        organisation = self.organisation_for_write(kwargs["organisation"])
        if not isinstance(request.data, dict):
            raise ValidationError("Send a JSON object.")
        existing = self.model.objects.filter(organisation=organisation, slug=kwargs["slug"]).first()
        attrs, acknowledge = self.validated(
            {"slug": kwargs["slug"], **request.data}, instance=existing
        )
        outcome, document = services.document_put(
            model=self.model,
            organisation=organisation,
            slug=kwargs["slug"],
            existing=existing,
            data=attrs,
            actor=services.Actor.of_request(request),
            if_match=parse_if_match(request.headers.get("If-Match")),
            acknowledge_warnings=acknowledge,
        )
        if outcome == "created":
            return self.respond_created(document)
        return self.respond(document)

    def partial_update(self, request, *args, **kwargs):
        organisation = self.organisation_for_write(kwargs["organisation"])
        existing = self.existing(organisation, kwargs["slug"])
        if not isinstance(request.data, dict):
            raise ValidationError("Send a JSON object.")
        attrs, acknowledge = self.validated(request.data, instance=existing, partial=True)
        document, _changed = services.document_update(
            document=existing,
            data=attrs,
            actor=services.Actor.of_request(request),
            if_match=parse_if_match(request.headers.get("If-Match")),
            acknowledge_warnings=acknowledge,
        )
        return self.respond(document)

    def destroy(self, request, *args, **kwargs):
        """Archives: content and history are kept, the URL keeps answering."""
        organisation = self.organisation_for_write(kwargs["organisation"])
        document, _changed = services.document_archive(
            document=self.existing(organisation, kwargs["slug"]),
            actor=services.Actor.of_request(request),
            if_match=parse_if_match(request.headers.get("If-Match")),
        )
        return self.respond(document)

    # -- history --------------------------------------------------------------------------

    def revision_queryset(self, document):
        """The revisions of `document` this reader may read (visibility.readable_revisions)."""
        return history.revision_queryset(document, self.access)

    def revision_context(self, document) -> dict:
        return {"show_authors": shows_authors(document, self.access)}

    @extend_schema(responses=RelatedSerializer)
    def related(self, request, *args, **kwargs):
        """Up to 10 readable documents of other organisations about the same thing."""
        document = self.get_object()
        hits = related_documents(document, self.access)
        return Response({"results": [hit_data(request, hit, snippet=False) for hit in hits]})

    @extend_schema(responses=RevisionSerializer(many=True))
    def revisions(self, request, *args, **kwargs):
        document = self.get_object()
        page = self.paginate_queryset(self.revision_queryset(document).order_by("-number"))
        context = self.revision_context(document)
        return self.get_paginated_response(
            RevisionSerializer(page, many=True, context=context).data
        )

    @extend_schema(responses=RevisionDetailSerializer)
    def revision(self, request, *args, number=None, **kwargs):
        document = self.get_object()
        revision = self.revision_queryset(document).filter(number=number).first()
        if revision is None:
            raise Http404(f"No revision {number} of '{document}'.")
        revision.snapshot = document.readable_snapshot(revision.snapshot, self.access)
        context = self.revision_context(document)
        return Response(RevisionDetailSerializer(revision, context=context).data)

    def _revision_number(self, name, default, document):
        raw = self.request.query_params.get(name)
        if raw is None:
            return default
        if not REVISION_NUMBER.fullmatch(raw) or not 1 <= int(raw) <= document.revision:
            raise ValidationError(
                {
                    name: [
                        f"'{raw}' is no revision of this document; it has 1 to {document.revision}."
                    ]
                }
            )
        return int(raw)

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.INT, description="default: the one before `to`"),
            OpenApiParameter("to", OpenApiTypes.INT, description="default: the current revision"),
        ],
        responses={200: DIFF_RESPONSE, (200, "text/plain"): OpenApiTypes.STR},
    )
    def diff(self, request, *args, **kwargs):
        document = self.get_object()
        to = self._revision_number("to", document.revision, document)
        start = self._revision_number("from", max(to - 1, 1), document)
        try:
            return Response(history.readable_diff(document, self.access, start, to))
        except history.RevisionUnreadable as error:  # not readable (or gone): like missing
            raise Http404(f"No revision {error.number} of '{document}'.") from None

    # -- reuse across organisations -------------------------------------------------------

    @extend_schema(
        request=inline_serializer(
            "Adopt",
            {
                "organisation": serializers.CharField(required=False),
                "slug": serializers.CharField(required=False),
            },
        ),
    )
    def adopt(self, request, *args, **kwargs):
        source = self.get_object()
        data = request.data
        if not isinstance(data, dict):
            raise ValidationError("Send a JSON object.")
        for name in ("organisation", "slug"):
            if name in data and not isinstance(data[name], str):
                raise ValidationError({name: ["Give a slug (a string)."]})
        slug = data.get("organisation")
        if slug is None and self.access.via_token:
            slug = request.auth.organisation_slug
        if not isinstance(slug, str) or not slug:
            raise ValidationError({"organisation": ["This field is required."]})
        if not Organisation.objects.filter(slug=slug).exists():
            raise ValidationError({"organisation": [f"unknown organisation '{slug}'."]})
        organisation = self.organisation_for_write(slug)
        new_slug = data.get("slug") or source.slug
        if not isinstance(new_slug, str) or len(new_slug) > 100:
            raise ValidationError({"slug": ["Give a slug of at most 100 characters."]})
        try:
            slug_validator(new_slug)
        except DjangoValidationError as exc:
            raise ValidationError({"slug": exc.messages}) from None
        document = services.document_adopt(
            source=source,
            organisation=organisation,
            slug=new_slug,
            actor=services.Actor.of_request(request),
        )
        return self.respond(
            document,
            status.HTTP_201_CREATED,
            headers={"Location": self.request.build_absolute_uri(document.get_api_url())},
        )

    @extend_schema(responses=DIFF_RESPONSE)
    def upstream_diff(self, request, *args, **kwargs):
        document = self.get_object()
        if not document.has_upstream:
            raise Http404(f"'{document}' was not adopted from another document.")
        try:
            return Response(history.upstream_diff(document, self.access))
        except history.UpstreamUnreadable as error:
            raise Http404(error.reason) from None

    @extend_schema(request=None)
    def update_from_upstream(self, request, *args, **kwargs):
        """Apply the original's changes since the adopted revision as a new revision
        (If-Match); 409 when the original can no longer be adopted (its licence)."""
        organisation = self.organisation_for_write(kwargs["organisation"])
        document, _changed = services.document_update_from_upstream(
            document=self.existing(organisation, kwargs["slug"]),
            actor=services.Actor.of_request(request),
            if_match=parse_if_match(request.headers.get("If-Match")),
        )
        return self.respond(document)


def document_urlpatterns(prefix: str, viewset, *, adoptable: bool = False):
    """The URL patterns of one document kind, addressed by organisation and slug (DRF's
    routers take one lookup value)."""
    name = viewset.model.kind
    detail = f"{prefix}/<slug:organisation>/<slug:slug>/"
    patterns = [
        path(
            f"{prefix}/",
            viewset.as_view({"get": "list", "post": "create"}),
            name=f"{name}-list",
        ),
        path(
            detail,
            viewset.as_view(
                {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
            ),
            name=f"{name}-detail",
        ),
        path(
            f"{detail}related/",
            viewset.as_view({"get": "related"}),
            name=f"{name}-related",
        ),
        path(
            f"{detail}revisions/",
            viewset.as_view({"get": "revisions"}),
            name=f"{name}-revisions",
        ),
        path(
            f"{detail}revisions/<int:number>/",
            viewset.as_view({"get": "revision"}),
            name=f"{name}-revision",
        ),
        path(
            f"{detail}diff/",
            viewset.as_view(
                {"get": "diff"},
                renderer_classes=[renderers.JSONRenderer, PlainTextRenderer],
            ),
            name=f"{name}-diff",
        ),
    ]
    if adoptable:
        patterns += [
            path(f"{detail}adopt/", viewset.as_view({"post": "adopt"}), name=f"{name}-adopt"),
            path(
                f"{detail}upstream-diff/",
                viewset.as_view({"get": "upstream_diff"}),
                name=f"{name}-upstream-diff",
            ),
            path(
                f"{detail}update-from-upstream/",
                viewset.as_view({"post": "update_from_upstream"}),
                name=f"{name}-update-from-upstream",
            ),
        ]
    return patterns
