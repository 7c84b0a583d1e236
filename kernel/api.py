"""What every API view shares: pagination and the one error shape of the API:
``{"code": ..., "detail": ..., "fields": {...}}`` (fields for validation errors only, and
for a domain error about one input field)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import set_rollback

from kernel.errors import DomainError

logger = logging.getLogger(__name__)


# The largest id a row can have (PostgreSQL's bigint): a larger number names nothing.
MAX_ID = 2**63 - 1
# What an id or a slug may look like in an API path: "/api/items/false/…" is a 404, not a crash.
ID_IN_URL = r"[0-9]{1,18}"
SLUG_IN_URL = r"[-a-zA-Z0-9_]{1,80}"


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            maximum = self.max_page_size if parameter["name"] == self.page_size_query_param else MAX_ID
            parameter["schema"].update(minimum=1, maximum=maximum)
        return parameters


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [message for value in detail.values() for message in _flatten(value)]
    if isinstance(detail, list):
        return [message for value in detail for message in _flatten(value)]
    return [str(detail)]


def _fields(detail: Any) -> dict[str, list[str]]:
    """Errors per field; a nested object's fields are named with a dot (``receipt.city``)."""
    if not isinstance(detail, dict):
        return {"non_field_errors": _flatten(detail)}
    fields: dict[str, list[str]] = {}
    for name, value in detail.items():
        if isinstance(value, dict):
            fields.update({f"{name}.{inner}": messages for inner, messages in _fields(value).items()})
        else:
            fields[str(name)] = _flatten(value)
    return fields


def error_body(code: str, detail: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "detail": detail}
    if fields is not None:
        body["fields"] = fields
    return body


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        set_rollback()
        fields = {exc.field: [str(exc.detail)]} if exc.field else None
        waits = {"Retry-After": str(max(int(exc.retry_after), 1))} if exc.retry_after is not None else None
        return Response(error_body(exc.code, str(exc.detail), fields), status=exc.status_code, headers=waits)
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        # Django's own limits on a body (DATA_UPLOAD_MAX_*): an answer in our shape, not its HTML 400 page.
        set_rollback()
        return Response(
            error_body("request_too_large", _("La demande est trop volumineuse.")),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: Django logs it and answers 500 (handler500 below)
    set_rollback()
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
    if isinstance(exc, exceptions.ValidationError):
        body = error_body("invalid", _("Certaines informations ne sont pas valides."), _fields(exc.detail))
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        body = error_body(str(code), str(exc.detail))
    return Response(body, status=exc.status_code, headers=headers)


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("not_found", _("Introuvable.")), status=status.HTTP_404_NOT_FOUND)


def api_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        error_body("server_error", _("Une erreur interne est survenue. Réessayez dans un instant.")),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def absolute(context: dict[str, Any], url: str) -> str:
    """An absolute URL: storage URLs on S3 already are; local ones get the request's host."""
    if url.startswith(("http://", "https://")):
        return url
    request = context.get("request")
    return request.build_absolute_uri(url) if request is not None else url
