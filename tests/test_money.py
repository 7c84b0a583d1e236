import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.money import format_money, percent


def test_money_reads_as_french_and_english_people_write_it() -> None:
    assert format_money(1250, language="fr") == "12,50\u00a0€"
    assert format_money(1250, language="en") == "€12.50"
    assert format_money(123456789, language="fr") == "1\u202f234\u202f567,89\u00a0€"
    assert format_money(-5, language="fr") == "-0,05\u00a0€"


def test_money_refuses_floats() -> None:
    with pytest.raises(TypeError):
        format_money(12.5)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=10**12))
def test_formatting_keeps_every_cent(cents: int) -> None:
    text = format_money(cents, language="en").removeprefix("€").replace(",", "")
    units, rest = text.split(".")
    assert int(units) * 100 + int(rest) == cents


def test_percent_is_floored_and_capped() -> None:
    assert percent(0, 100) == 0
    assert percent(999, 1000) == 99
    assert percent(5000, 1000) == 100
    assert percent(10, 0) == 0
