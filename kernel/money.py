"""Money is integer cents plus a currency code. This module is the one place
that turns cents into text; nothing here ever touches a float."""

from __future__ import annotations

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
