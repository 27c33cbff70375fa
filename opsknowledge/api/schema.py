"""OpenAPI descriptions drf-spectacular cannot infer (imported from AppConfig.ready)."""

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import serializers


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
_PRECONDITION_ACTIONS = {"update", "partial_update", "destroy"}
_CONFLICT_ACTIONS = {"create", "adopt", "update"}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema plus what the contract promises but code cannot show:
    the error responses, 201 from create-or-replace PUT and from adopt, and 200 (not 204)
    from the archiving DELETE."""

    def _get_response_bodies(self, direction="response"):
        bodies = super()._get_response_bodies(direction)
        action = getattr(self.view, "action", None)
        is_document = getattr(self.view, "model", None) is not None
        if is_document and self.method == "DELETE":
            bodies.pop("204", None)
            bodies["200"] = self._get_response_for_code(self._get_serializer(), "200")
        if is_document and action == "update":
            bodies["201"] = self._get_response_for_code(self._get_serializer(), "201")
        if is_document and action == "adopt":
            bodies.pop("200", None)
            bodies["201"] = self._get_response_for_code(self._get_serializer(), "201")
        codes = []
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
        if "{" in self.path:
            codes += ("404",)
        for code in codes:
            bodies.setdefault(code, self._get_response_for_code(ErrorSerializer, code))
        return dict(sorted(bodies.items()))
