"""The CSV writer for French spreadsheets (kernel.spreadsheet)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from kernel.spreadsheet import Euros, cell, csv_response, euros


@pytest.mark.parametrize("hostile", ["=1+1", "+33 6 12", "-2+3", "@SUM(A1)", "\tx", "\rx", "=cmd()|' /C calc'!A0"])
def test_text_that_a_spreadsheet_would_run_as_a_formula_gets_a_leading_quote(hostile: str) -> None:
    assert cell(hostile) == "'" + hostile


@pytest.mark.parametrize("harmless", ["Atelier vélo", "", "1 = 1", "a-b", "'déjà"])
def test_ordinary_text_is_written_as_it_is(harmless: str) -> None:
    assert cell(harmless) == harmless


@pytest.mark.parametrize(
    ("cents", "text"), [(0, "0,00"), (5, "0,05"), (1250, "12,50"), (-500, "-5,00"), (123456789, "1234567,89")]
)
def test_amounts_are_euros_with_a_decimal_comma_and_negative_ones_stay_numbers(cents: int, text: str) -> None:
    assert euros(cents) == text and cell(Euros(cents)) == text


def test_money_must_be_integer_cents_and_datetimes_aware() -> None:
    with pytest.raises(TypeError):
        euros(12.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cell(True)
    with pytest.raises(ValueError, match="aware"):
        cell(datetime(2026, 1, 1, 12, 0))


def test_dates_and_times_are_written_the_french_way_in_paris_time() -> None:
    assert cell(datetime(2026, 1, 15, 23, 30, tzinfo=UTC)) == "16/01/2026 00:30:00"  # winter: UTC+1
    assert cell(date(2026, 7, 14)) == "14/07/2026"
    assert cell(-3) == "-3" and cell(None) == ""


def test_the_file_has_a_bom_semicolons_and_quotes_cells_that_need_it() -> None:
    response = csv_response(filename="x.csv", header=["nom", "montant"], rows=[["Dupont; Durand", Euros(-150)]])

    assert response.content.decode("utf-8") == '\ufeffnom;montant\r\n"Dupont; Durand";-1,50\r\n'
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'
