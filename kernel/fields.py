"""Input fields for amounts, for the page forms and the API serializers alike:
the same parsing (``kernel.money.euros_to_cents``) and the same limits
(``kernel.money.CentsRange``), with Django's and DRF's own translated messages;
and the date-time input of the page forms."""

from __future__ import annotations

import datetime
import re
from typing import Any

from django import forms
from django.core.validators import DecimalValidator, MaxValueValidator, MinValueValidator
from rest_framework import serializers

from kernel.money import CentsRange, cents_to_euros, euros_to_cents

_TOO_MANY_DECIMALS = re.compile(r"^\s*\d+[.,]\d{3,}\s*(?:€)?\s*$", re.ASCII)
_WITH_SECONDS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", re.ASCII)


class LocalDateTimeInput(forms.DateTimeInput):
    """``<input type="datetime-local">`` whose value is what browsers accept, whatever the language:
    ISO 8601 in local time ("2026-11-30T14:05", seconds only when there are some). A localised
    "30/11/2026 14:05:00" is dropped by the browser and the field then posts empty.
    ``forms.DateTimeField`` reads the value back (it parses ISO 8601 first)."""

    input_type = "datetime-local"

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, datetime.datetime):
            return value.strftime("%Y-%m-%dT%H:%M:%S" if value.second else "%Y-%m-%dT%H:%M")
        return super().format_value(value)  # a value posted back as typed, or nothing

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        """A value with seconds gets ``step="1"``: the input's steps count from its value, 60 s by
        default, so a minute typed over "14:05:07" would be refused by the browser (step mismatch)
        and the form could not be sent."""
        context = super().get_context(name, value, attrs)
        shown = context["widget"]["value"]
        if isinstance(shown, str) and _WITH_SECONDS.fullmatch(shown):
            context["widget"]["attrs"].setdefault("step", "1")
        return context


class EurosField(forms.Field):
    """An amount typed in euros ("12,50") on a page, cleaned to integer cents within ``limits``."""

    widget = forms.NumberInput
    default_error_messages = {"invalid": forms.DecimalField.default_error_messages["invalid"]}

    def __init__(self, *, limits: CentsRange, **kwargs: Any) -> None:
        self.limits = limits
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        cents = euros_to_cents(str(value))
        if cents is None and _TOO_MANY_DECIMALS.match(str(value)):
            raise forms.ValidationError(
                DecimalValidator.messages["max_decimal_places"], code="max_decimal_places", params={"max": 2}
            )
        if cents is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return cents

    def validate(self, value: int | None) -> None:
        super().validate(value)
        if value is None:
            return
        if value < self.limits.min_cents:
            raise forms.ValidationError(
                MinValueValidator.message,
                code="min_value",
                params={"limit_value": cents_to_euros(self.limits.min_cents)},
            )
        if value > self.limits.max_cents:
            raise forms.ValidationError(
                MaxValueValidator.message,
                code="max_value",
                params={"limit_value": cents_to_euros(self.limits.max_cents)},
            )

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        if isinstance(widget, forms.NumberInput):
            attrs.update(
                min=str(cents_to_euros(self.limits.min_cents)),
                max=str(cents_to_euros(self.limits.max_cents)),
                step="0.01",
            )
        return attrs


class CentsField(serializers.IntegerField):
    """An amount in integer cents in the API, within ``limits``. Digits of other scripts
    ("１２") are refused as the page refuses them (Python's int() would take them)."""

    def __init__(self, *, limits: CentsRange, **kwargs: Any) -> None:
        super().__init__(min_value=limits.min_cents, max_value=limits.max_cents, **kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or (isinstance(data, str) and not data.isascii()):
            self.fail("invalid")
        return int(super().to_internal_value(data))
