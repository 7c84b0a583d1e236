"""The name and postal address a giver types to get a tax receipt without an
account ("Je souhaite un reçu fiscal"): one set of rules for the gift page's
form and the API, so that both refuse the same things with the same words.

A receipt is a legal document printed as typed: every value is trimmed,
bounded, and refused if it holds a NUL byte or any other control character
(a line break in a name would print as one, or break the PDF's layout)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kernel.countries import UNKNOWN_CODE_MESSAGE, country_code

# Field, maximum length (those of Gift.receipt_*), required.
FIELDS: tuple[tuple[str, int, bool], ...] = (
    ("first_name", 150, True),
    ("last_name", 150, True),
    ("address_line1", 200, True),
    ("address_line2", 200, False),
    ("postal_code", 12, True),
    ("city", 100, True),
    ("country", 2, True),
)

_FRENCH_POSTAL_CODE = re.compile(r"^[0-9]{5}$")
_POSTAL_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z \-]{1,11}$")


@dataclass(frozen=True)
class ReceiptDetails:
    """What the giver asked their receipt to carry (already validated)."""

    first_name: str
    last_name: str
    address_line1: str
    address_line2: str
    postal_code: str
    city: str
    country: str


def no_control_characters(value: str) -> None:
    """Refuse NUL and every other control character (Unicode category Cc), tabs and line breaks included."""
    if any(unicodedata.category(character) == "Cc" for character in value):
        raise ValidationError(_("Ce champ contient un caractère non autorisé."), code="control_character")


def postal_code_check(*, postal_code: str, country: str) -> None:
    """Five digits in France; elsewhere 2 to 12 letters, digits, spaces or hyphens."""
    pattern = _FRENCH_POSTAL_CODE if country == "FR" else _POSTAL_CODE
    if not pattern.match(postal_code):
        if country == "FR":
            raise ValidationError(_("Un code postal français a cinq chiffres, par exemple 64000."), code="postal_code")
        raise ValidationError(_("Ce code postal n'est pas valide."), code="postal_code")


def country_clean(value: str) -> str:
    """The ISO code of a country's two letters, in any case ("be" is Belgium); "ZZ" or "FRA" refused."""
    code = country_code(value)
    if code is None:
        raise ValidationError(UNKNOWN_CODE_MESSAGE, code="country")
    return code


NOT_A_TEXT = _("Saisissez un texte.")


def posted_text(raw: Mapping[str, object], name: str) -> str | None:
    """One field of a posted postal address (a receipt's, a parcel's), trimmed; absent, it is empty
    (the country: France, "FR"); None when what was posted is not a text (NOT_A_TEXT)."""
    value = raw.get(name)
    if value is None:
        value = "FR" if name == "country" else ""
    return value.strip() if isinstance(value, str) else None


def receipt_details_clean(raw: dict[str, object]) -> tuple[ReceiptDetails | None, dict[str, list[str]]]:
    """``raw`` (strings as received) → the details, or the errors per field, in the active language."""
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for name, max_length, required in FIELDS:
        value = posted_text(raw, name)
        if value is None:
            errors[name] = [str(NOT_A_TEXT)]
            continue
        try:
            no_control_characters(value)
            if required and not value:
                raise ValidationError(_("Ce champ est nécessaire pour établir un reçu fiscal."), code="required")
            if len(value) > max_length:
                raise ValidationError(_("Pas plus de %(max)s caractères.") % {"max": max_length}, code="max_length")
            if name == "country":
                value = country_clean(value)
        except ValidationError as error:
            errors[name] = [str(message) for message in error.messages]
            continue
        values[name] = value
    if "postal_code" in values and "country" in values:
        try:
            postal_code_check(postal_code=values["postal_code"], country=values["country"])
        except ValidationError as error:
            errors["postal_code"] = [str(message) for message in error.messages]
    if errors:
        return None, errors
    return ReceiptDetails(**values), {}
