"""Departments from French postal codes: the mainland, Corsica's two, the overseas five, and junk."""

from __future__ import annotations

import pytest

from campaigns.models import Organisation
from kernel.places import DEPARTMENT_CODES, DEPARTMENTS, department_name, department_of, is_french_postal_code


@pytest.mark.parametrize(
    ("postal_code", "department"),
    [
        ("01000", "01"),  # Bourg-en-Bresse
        ("75004", "75"),
        ("75 004", "75"),  # as typed with a space
        ("13001", "13"),
        ("95000", "95"),
        ("20000", "2A"),  # Ajaccio
        ("20167", "2A"),
        ("20200", "2B"),  # Bastia
        ("20600", "2B"),
        ("97110", "971"),  # Pointe-à-Pitre
        ("97200", "972"),
        ("97300", "973"),
        ("97400", "974"),
        ("97600", "976"),  # Mamoudzou
    ],
)
def test_a_french_postal_code_gives_its_department(postal_code: str, department: str) -> None:
    assert department_of(postal_code) == department
    assert is_french_postal_code(postal_code)


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "7500",  # four digits
        "750040",
        "abcde",
        "00100",  # no department 00
        "96000",
        "20700",  # not a Corsican code
        "97500",  # Saint-Pierre-et-Miquelon: a collectivity
        "97700",
        "98000",  # Monaco
        "98800",  # New Caledonia
        "７５００４",  # full-width digits
        "75004'; DROP TABLE donations_item;--",
        "SW1A 1AA",
        "-7500",
    ],
)
def test_anything_else_has_no_department(junk: str) -> None:
    assert department_of(junk) == ""
    assert not is_french_postal_code(junk)


def test_departments_are_listed_once_in_order_with_their_names() -> None:
    codes = [code for code, _name in DEPARTMENTS]
    assert len(codes) == len(set(codes)) == 101  # 96 in mainland France (2A and 2B), 5 overseas
    assert codes[0] == "01" and codes[-1] == "976"
    assert codes.index("19") < codes.index("2A") < codes.index("2B") < codes.index("21")
    assert {"971", "972", "973", "974", "976"} <= DEPARTMENT_CODES and "975" not in DEPARTMENT_CODES
    assert "20" not in DEPARTMENT_CODES
    assert department_name("2A") == "Corse-du-Sud" and department_name("974") == "La Réunion"
    assert department_name("95") == "Val-d'Oise" and department_name("99") == ""


def test_an_organisation_is_in_the_department_of_its_postal_code() -> None:
    assert Organisation(postal_code="20090").department == "2A"
    assert Organisation(postal_code="64000").department == "64"
    assert Organisation(postal_code="1000").department == ""  # Brussels
