"""Money is integer cents plus a currency code. This module is the one place
that turns cents into text and text typed by a person into cents, and it holds
the one set of amount limits the pages and the API share; nothing here ever
touches a float."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

CURRENCY = "EUR"
_SYMBOLS = {"EUR": "€"}


def format_money(cents: int, currency: str = CURRENCY, language: str = "fr") -> str:
    """``12,50 €`` in French, ``€12.50`` in English; whole amounts keep their cents."""
    if not isinstance(cents, int) or isinstance(cents, bool):
        raise TypeError("money is integer cents")
    symbol = _SYMBOLS.get(currency, currency)
    negative = cents < 0
    units, rest = divmod(abs(cents), 100)
    if language.startswith("fr"):
        grouped = f"{units:,}".replace(",", "\u202f")
        text = f"{grouped},{rest:02d}\u00a0{symbol}"
    else:
        text = f"{symbol}{units:,}.{rest:02d}"
    return f"-{text}" if negative else text


def percent(part_cents: int, whole_cents: int) -> int:
    """Whole percentage of ``part`` in ``whole`` (floored, capped at 100), for progress bars."""
    if whole_cents <= 0:
        return 0
    return min(100, (max(part_cents, 0) * 100) // whole_cents)


# Euros as a person types them: ASCII digits, at most two decimals after "," or ".", an optional
# "€". No sign, no exponent, no NaN, no thousands separator, no other script's digits.
_EUROS = re.compile(r"^\s*(\d{1,9})(?:[.,](\d{1,2}))?\s*(?:€)?\s*$", re.ASCII)


def euros_to_cents(text: str) -> int | None:
    """``"12"``, ``"12,5"`` or ``"12.50 €"`` → 1250; None when it is not an amount. No float on the way."""
    match = _EUROS.match(text)
    if match is None:
        return None
    units, decimals = match.group(1), (match.group(2) or "").ljust(2, "0")
    return int(units) * 100 + int(decimals)


def cents_to_euros(cents: int) -> Decimal:
    """1250 → Decimal("12.5"): an amount as a page shows it in an input, for ``euros_to_cents`` to read back."""
    return Decimal(cents) / 100


@dataclass(frozen=True)
class CentsRange:
    """The amounts a field accepts, both ends included, in cents."""

    min_cents: int
    max_cents: int

    def __contains__(self, cents: object) -> bool:
        return isinstance(cents, int) and not isinstance(cents, bool) and self.min_cents <= cents <= self.max_cents


# The limits of the item page form and of the items API alike: 1 € to 100 000 €
# (beyond that it is a typo, not an object).
ITEM_PRICE = CentsRange(min_cents=100, max_cents=10_000_000)
# The limits of the campaign page form and of the campaigns API alike: 1 € to 10 M€.
CAMPAIGN_GOAL = CentsRange(min_cents=100, max_cents=1_000_000_000)
