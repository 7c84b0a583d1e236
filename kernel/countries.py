"""Countries, for the page forms and the API serializers alike: chosen from a list of their
names in the page's language (django-countries' ISO 3166-1 list and translations), France first
then alphabetical; stored and sent as ISO 3166-1 alpha-2 codes ("FR", "BE").

The API takes a two-letter code in any case ("be" is Belgium) and refuses one that is no
country's ("ZZ"), with the same words as every form that types one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django_countries import Countries
from rest_framework import serializers

DEFAULT_COUNTRY = "FR"

UNKNOWN_CODE_MESSAGE = _("Code pays inconnu : indiquez les deux lettres d'un pays, par exemple FR pour la France.")
NOT_IN_LIST_MESSAGE = _("Choisissez un pays dans la liste.")


class FranceFirst(Countries):
    """Every country, France first (not repeated below), then the others by their translated name."""

    first = [DEFAULT_COUNTRY]
    first_repeat = False
    first_break = None


countries = FranceFirst()


def country_code(value: object) -> str | None:
    """The ISO 3166-1 alpha-2 code ``value`` names (upper-cased, spaces around ignored), or None
    when it is not the two letters of a country. Three-letter and numeric codes are refused:
    the API and the forms speak two letters only."""
    if not isinstance(value, str):
        return None
    code = value.strip()
    # ASCII before upper-casing: "ﬁ" (one ligature) would otherwise become Finland's "FI".
    if len(code) != 2 or not (code.isascii() and code.isalpha()) or code.upper() not in countries:
        return None
    return code.upper()


def country_choices() -> list[tuple[str, str]]:
    """(code, name) of every country in the active language, France first."""
    return [(country.code, country.name) for country in countries]


def country_name(code: str) -> str:
    """The country's name in the active language ("France", "Belgique" / "Belgium"); the code if unknown."""
    return str(countries.name(code)) or code


class CountrySelect(forms.Select):
    """A ``<select>`` of every country by its name in the page's language, France first.
    Its list is made each time it is drawn, so it follows the active language."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        # A function, not the list: Django calls it each time the select is drawn.
        attrs = {"autocomplete": "country", **(attrs or {})}
        super().__init__(attrs, choices=country_choices)  # type: ignore[arg-type]  # the stubs omit callables

    def format_value(self, value: Any) -> list[str]:  # type: ignore[override]  # a select's values are a list
        """A stored code in any case selects its country."""
        return [str(code).strip().upper() for code in super().format_value(value)]


class CountryField(forms.CharField):
    """A country chosen in a :class:`CountrySelect` (France by default), cleaned to its code.
    A posted value that is no country's code is refused beside the field."""

    widget = CountrySelect
    default_error_messages = {"invalid_country": NOT_IN_LIST_MESSAGE}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("initial", DEFAULT_COUNTRY)
        kwargs.setdefault("max_length", None)
        super().__init__(**kwargs)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and country_code(value) is None:
            raise forms.ValidationError(self.error_messages["invalid_country"], code="invalid_country")

    def clean(self, value: Any) -> str:
        return country_code(super().clean(value)) or ""


class CountryCodeField(serializers.CharField):
    """A country in the API: its two-letter ISO 3166-1 code, in any case, cleaned to upper case."""

    default_error_messages = {"invalid_country": UNKNOWN_CODE_MESSAGE}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 2)
        kwargs.setdefault("min_length", 2)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        code = country_code(value)
        if code is None:
            self.fail("invalid_country")
        return str(code)
