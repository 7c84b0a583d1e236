"""CSV files for French spreadsheets (LibreOffice Calc, Excel set to French),
the one place exports are written: ``;`` between cells, amounts in euros
with a decimal comma, dates and times in Europe/Paris, UTF-8 with a BOM so
Excel reads the accents.

A cell is text, a number or a date; only text is ever escaped. A text cell
that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be
read as a formula by the spreadsheet (CSV injection, OWASP), so it gets a
leading ``'``. Numbers are written by us from integers, so they stay
numbers, negative ones included."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.http import HttpResponse
from django.utils import timezone

PARIS = ZoneInfo("Europe/Paris")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Euros:
    """A money cell: integer cents, written ``-1234,50``."""

    cents: int


Cell = str | int | Euros | datetime | date | None


def euros(cents: int) -> str:
    """``-1234,50`` for -123450 cents: no thousands separator, no symbol, so the spreadsheet reads a number."""
    if not isinstance(cents, int) or isinstance(cents, bool):
        raise TypeError("money is integer cents")
    units, rest = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}{units},{rest:02d}"


def cell(value: Cell) -> str:
    """One value as the text of its cell."""
    if value is None:
        return ""
    if isinstance(value, Euros):
        return euros(value.cents)
    if isinstance(value, bool):
        raise TypeError("write a boolean as words")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            raise ValueError("datetimes in exports must be aware")
        return value.astimezone(PARIS).strftime("%d/%m/%Y %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_response(*, filename: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> HttpResponse:
    """A downloadable CSV for a French spreadsheet. ``filename`` is ours (ASCII), never the user's."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";", lineterminator="\r\n")
    writer.writerow([cell(name) for name in header])
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return response
