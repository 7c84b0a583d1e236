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

from django.utils.translation import gettext_lazy as _
from rest_framework import parsers, serializers

NUL_MESSAGE = _("Les caractères nuls (\\x00) ne sont pas acceptés.")


def _carries_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_carries_nul(key) or _carries_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(_carries_nul(item) for item in value)
    return False


def refuse_nul(data: Any) -> None:
    """Raise a field-level ``ValidationError`` naming each top-level field whose value holds a NUL."""
    if isinstance(data, Mapping):
        names = [str(name) for name in data if _carries_nul(name) or _carries_nul(_values(data, name))]
        if names:
            raise serializers.ValidationError({name.replace("\x00", ""): [NUL_MESSAGE] for name in names})
    elif _carries_nul(data):
        raise serializers.ValidationError({"non_field_errors": [NUL_MESSAGE]})


def _values(data: Mapping[str, Any], name: str) -> Any:
    getlist = getattr(data, "getlist", None)  # a QueryDict keeps every value of a repeated field
    return getlist(name) if getlist else data[name]


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        refuse_nul(data)
        return data


class FormParser(parsers.FormParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        refuse_nul(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        result = super().parse(stream, media_type, parser_context)
        refuse_nul(result.data)  # file names are cleaned by Django's storage; the fields are checked here
        return result
