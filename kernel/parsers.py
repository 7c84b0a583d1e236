"""Request parsers of the JSON API that refuse NUL characters.

PostgreSQL text cannot hold a NUL byte: a value carrying one reaches the
database as a ``DataError`` (a 500) wherever a field does not validate it
first (a slug looked up by ``SlugRelatedField``, a filter). DRF's
``CharField`` already refuses them; refusing them once, when the body is
parsed, covers every field with the same field-level error, whatever its type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent, TooManyFilesSent
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, parsers, serializers

NUL_MESSAGE = _("Les caractères nuls (\\x00) ne sont pas acceptés.")


def _nul_paths(value: Any, path: str) -> list[str]:
    """Where NUL characters sit in ``value``: dotted paths, as the API names fields of nested objects."""
    if isinstance(value, str):
        return [path or "non_field_errors"] if "\x00" in value else []
    if isinstance(value, Mapping):
        getlist = getattr(value, "getlist", None)  # a QueryDict keeps every value of a repeated field
        found: list[str] = []
        for key in value:
            name = str(key).replace("\x00", "")
            inner = f"{path}.{name}" if path else name
            if "\x00" in str(key):
                found.append(inner)
            found += _nul_paths(getlist(key) if getlist else value[key], inner)
        return found
    if isinstance(value, list | tuple):
        return [found for item in value for found in _nul_paths(item, path)]
    return []


def refuse_nul(data: Any) -> None:
    """Raise a field-level ``ValidationError`` naming each field whose value holds a NUL."""
    paths = list(dict.fromkeys(_nul_paths(data, "")))
    if paths:
        raise serializers.ValidationError({path: [NUL_MESSAGE] for path in paths})


def _too_many(error: TooManyFieldsSent | TooManyFilesSent) -> serializers.ValidationError:
    """Django's caps on fields and files, as a validation error of the API (not Django's bare 400 page)."""
    if isinstance(error, TooManyFilesSent):
        message = gettext("Trop de fichiers envoyés (%(max)d au plus).") % {
            "max": settings.DATA_UPLOAD_MAX_NUMBER_FILES
        }
    else:
        message = gettext("Trop de champs envoyés (%(max)d au plus).") % {"max": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}
    return serializers.ValidationError({"non_field_errors": [message]})


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
            refuse_nul(data)
        except RecursionError:
            # "[[[[…]]]]" nested past Python's recursion limit, in the decoder or in the walk above:
            # a body we refuse, not a crash (DRF's parser turns only ValueError into a 400).
            raise exceptions.ParseError(gettext("Le JSON envoyé est imbriqué trop profondément.")) from None
        return data


class FormParser(parsers.FormParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except TooManyFieldsSent as error:
            raise _too_many(error) from error
        refuse_nul(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            result = super().parse(stream, media_type, parser_context)
        except (TooManyFieldsSent, TooManyFilesSent) as error:
            raise _too_many(error) from error
        refuse_nul(result.data)  # file names are cleaned by Django's storage; the fields are checked here
        return result
