"""OpenAPI descriptions drf-spectacular cannot infer (imported from AppConfig.ready)."""

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import permissions, serializers


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "opsknowledge.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`: an organisation-scoped key from `create_token`.",
        }


class ErrorDetailSerializer(serializers.Serializer):
    status = serializers.IntegerField()
    code = serializers.CharField(help_text="invalid, not_authenticated, permission_denied, …")
    detail = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="field name (dotted for nested items) -> what is wrong and what is valid",
    )
    current_revision = serializers.IntegerField(
        required=False, allow_null=True, help_text="412 and 428: the document's revision now"
    )
    warnings = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="400 on publishing"
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


# Errors each kind of operation can answer (API.md "Conventions" and "Documents").
_UNSAFE_ERRORS = ("400", "401", "403", "404", "413", "415")
_PRECONDITION_ACTIONS = {
    "update",
    "partial_update",
    "destroy",
    "update_from_upstream",
    "action_item",
}
_CONFLICT_ACTIONS = {"create", "adopt", "update", "update_from_upstream"}
# Reads that only some roles may make: anyone else signed in gets 403.
_ROLE_READS = {"audit"}


_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The revision the change is based on, as in the ETag ("3"), or "*"; '
    "a stale one is a 412, a missing one a 428 where the document exists.",
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The ETag of a copy the client has: 304 while it is current.",
)


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema plus what the contract promises but code cannot show:
    the error responses, 201 from create-or-replace PUT and from adopt, 200 (not 204)
    from the archiving DELETE, the precondition headers and 304, anonymous reads, and the
    values `ordering` and `status` take."""

    def _is_document(self) -> bool:
        return getattr(self.view, "model", None) is not None

    def get_auth(self):
        # Anyone may read (invisible documents are 404s, not 401s); drf-spectacular only
        # knows that of DRF's own permission classes.
        auth = super().get_auth() or []
        needs_login = any(
            isinstance(permission, permissions.IsAuthenticated)
            for permission in self.view.get_permissions()
        )
        if self.method in _SAFE_METHODS and not needs_login and {} not in auth:
            auth.append({})
        return auth

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        action = getattr(self.view, "action", None)
        if self._is_document() and action in _PRECONDITION_ACTIONS:
            parameters.append(IF_MATCH)
        if self._is_document() and action == "retrieve":
            parameters.append(IF_NONE_MATCH)
        return parameters

    def _get_parameters(self):
        parameters = super()._get_parameters()
        if self.method == "GET" and self._is_list_view():
            # Every list's filters, ordering and paging: an empty value is an absent one.
            for parameter in parameters:
                if parameter["in"] == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
        return parameters

    def _get_filter_parameters(self):
        if getattr(self.view, "action", "list") not in ("list", None):
            return []  # revisions, notes: the list's filters and ordering do not apply
        parameters = []
        for parameter in super()._get_filter_parameters():
            name = parameter["name"]
            if name == "ordering":
                fields = getattr(self.view, "ordering_fields", None) or []
                if not fields:
                    continue  # this list cannot be reordered: any ordering is a 400
                values = sorted(fields) + sorted(f"-{field}" for field in fields)
                parameter = {**parameter, "schema": {"type": "string", "enum": values}}
            elif name == "status" and hasattr(getattr(self.view, "model", None), "STATUS_CHOICES"):
                values = [value for value, _label in self.view.model.STATUS_CHOICES]
                parameter = {**parameter, "schema": {"type": "string", "enum": values}}
            parameters.append(parameter)
        return parameters

    def _get_response_bodies(self, direction="response"):
        bodies = super()._get_response_bodies(direction)
        action = getattr(self.view, "action", None)
        is_document = self._is_document()
        if is_document and action == "retrieve":
            bodies["304"] = {"description": "Not modified: If-None-Match names the revision."}
        if is_document and self.method == "DELETE":
            bodies.pop("204", None)
            bodies["200"] = self._get_response_for_code(self._get_serializer(), "200")
        if is_document and action == "update":
            bodies["201"] = self._get_response_for_code(self._get_serializer(), "201")
        if is_document and action == "adopt":
            bodies.pop("200", None)
            bodies["201"] = self._get_response_for_code(self._get_serializer(), "201")
        codes = ["401"]  # any request with a bad token, wherever it goes
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            codes += _UNSAFE_ERRORS
            if is_document and action in _PRECONDITION_ACTIONS:
                codes += ("412", "428")
            if (is_document and action in _CONFLICT_ACTIONS) or self.method == "DELETE":
                codes += ("409",)
        elif self._is_list_view() or action == "diff":
            codes += ("400",)  # filters, ordering and revision parameters are validated
            if self._is_list_view():
                codes += ("404",)  # a page past the last one
        if self.method in _SAFE_METHODS and action in _ROLE_READS:
            codes += ("403",)
        if "{" in self.path:
            codes += ("404",)
        for code in codes:
            bodies.setdefault(code, self._get_response_for_code(ErrorSerializer, code))
        return dict(sorted(bodies.items()))
