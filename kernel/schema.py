"""The OpenAPI schema tells the truth about failures too.

Every answer other than a success has the one error shape of ``kernel.api.error_body``
(``{code, detail, fields?}``), declared once here as ``Error``. ``AutoSchema`` attaches to
each operation the failures any operation of its kind can answer, from what the operation
is, so no view repeats them:

- 400 ``invalid``: it takes a request body or filters (``fields`` names the wrong ones);
- 401: a token was sent and refused (unknown, revoked, expired): any operation;
- 403: it needs a signed-in caller, or it writes (a browser's CSRF check);
- 404: its path names something (an id, a slug), or it is a paginated list (a page past the end);
- 413 ``request_too_large``, 415: it takes a request body.

Failures of one operation only (409 ``item_unavailable``, 429 ``too_many_attempts``,
503 ``payment_unavailable``…) are declared where they happen, with ``errors(...)``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.plumbing import get_view_model
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions, serializers

from kernel.api import MAX_ID

DIGITS_ID = "^[0-9]{1,18}$"
TOO_MANY_UPLOADS = "too_many_uploads: over UPLOAD_IMAGES_PER_HOUR images this hour"


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="machine code: invalid, not_found, item_unavailable, too_many_attempts…")
    detail = serializers.CharField(help_text="human text, in the request's language")
    # The API's own name for it; it shadows Serializer.fields only on the class, as DRF collects it.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="validation errors only: messages per field; a nested object's fields are named with a dot",
    )

    class Meta:
        ref_name = "Error"


# The usual meaning of each failure; an operation may say more (``errors(409, e409=…)``).
ERRORS: dict[int, str] = {
    400: "invalid: a field or a filter is wrong (see fields)",
    401: "authentication_failed: the token sent is unknown, revoked or expired (sign in again)",
    403: "not_authenticated, permission_denied, email_unverified or csrf_failed",
    404: "not_found: no such thing, or not one the caller may see",
    409: "conflict: not possible in the current state",
    413: "request_too_large: the body is over the size or number of fields allowed",
    415: "unsupported_media_type: send the body as one of the content types listed",
    429: "too_many_attempts: wait before trying again (Retry-After)",
    503: "payment_unavailable: the payment provider did not answer; try again",
}


def error(status_code: int, description: str | None = None) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorSerializer, description=description or ERRORS[status_code])


def errors(*status_codes: int, **descriptions: str) -> dict[int, OpenApiResponse]:
    """``extend_schema(responses={201: X, **errors(409, 429)})``; ``descriptions`` by ``e409=…``."""
    return {code: error(code, descriptions.get(f"e{code}")) for code in status_codes}


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code, response in responses.items():
            # A failure declared with a description only still has the error shape.
            if code >= "400" and "content" not in response:
                responses[code] = self._get_response_for_code(error(int(code), response.get("description")), code)
        for failure in self._common_failures():
            if str(failure) not in responses:
                responses[str(failure)] = self._get_response_for_code(error(failure), str(failure))
        return dict(sorted(responses.items()))

    def _map_serializer_field(self, field: Any, direction: Any, bypass_extensions: bool = False) -> dict[str, Any]:
        if isinstance(field, serializers.FileField) and direction == "request":
            return {"type": "string", "format": "binary"}  # an upload, not the URL it is later served at
        schema: dict[str, Any] = super()._map_serializer_field(field, direction, bypass_extensions)
        # A slug naming a row (an organisation, a campaign) is bounded as the model's slug is.
        queryset = getattr(field, "queryset", None)
        if isinstance(field, serializers.SlugRelatedField) and queryset is not None:
            model_field = queryset.model._meta.get_field(field.slug_field)
            if model_field.max_length and schema.get("type") == "string":
                schema.setdefault("maxLength", model_field.max_length)
        return schema

    def _resolve_path_parameters(self, variables: list[str]) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            schema = parameter["schema"]
            if schema.get("pattern") == DIGITS_ID:
                # ``lookup_value_regex`` of an id (ItemViewSet): digits, inside the bigint range.
                schema.pop("pattern")
                schema.update(type="integer", minimum=1, maximum=10**18 - 1)
            elif schema.get("type") == "integer":
                schema.update(minimum=1, maximum=MAX_ID)
            elif schema.get("type") == "string" and "maxLength" not in schema:
                model = get_view_model(self.view, emit_warnings=False)
                field = getattr(self.view, "lookup_field", None)
                if model is not None and field and parameter["name"] == field:
                    max_length = model._meta.get_field(field).max_length
                    if max_length:
                        schema["maxLength"] = max_length
        return parameters

    def _common_failures(self) -> list[int]:
        codes = [401]
        body = bool(self._get_request_body())
        if body or self._filters():
            codes.append(400)
        anonymous = any(isinstance(p, permissions.AllowAny) for p in self.view.get_permissions())
        if not anonymous or self.method not in permissions.SAFE_METHODS:
            codes.append(403)
        if "{" in self.path or (self.method == "GET" and self._is_list_view() and self._get_paginator()):
            codes.append(404)
        if body:
            codes += [413, 415]
        return codes

    def _filters(self) -> bool:
        """Query parameters of its own (pagination's ``page`` is a 404 past the end, not a 400)."""
        paginator = self._get_paginator()
        paging = {"page", getattr(paginator, "page_size_query_param", None)} if paginator else set()
        return any(p["in"] == "query" and p["name"] not in paging for p in self._get_parameters())
