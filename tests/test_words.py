import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.words import amount_in_words_fr, de_name


@pytest.mark.parametrize(
    ("cents", "words"),
    [
        (12350, "cent vingt-trois euros et cinquante centimes"),
        (100, "un euro"),
        (101, "un euro et un centime"),
        (50, "cinquante centimes"),
        (1, "un centime"),
        (8000, "quatre-vingts euros"),
        (20000, "deux cents euros"),
        (7100, "soixante et onze euros"),
        (100_000, "mille euros"),
        (100_000_000, "un million d'euros"),
        (200_000_000, "deux millions d'euros"),
        (120_000_000, "un million deux cent mille euros"),
        (2_100_099, "vingt et un mille euros et quatre-vingt-dix-neuf centimes"),
    ],
)
def test_amounts_read_as_a_french_receipt_writes_them(cents: int, words: str) -> None:
    assert amount_in_words_fr(cents) == words


def test_zero_negative_and_float_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        amount_in_words_fr(0)
    with pytest.raises(ValueError, match="positive"):
        amount_in_words_fr(-100)
    with pytest.raises(TypeError):
        amount_in_words_fr(1.5)  # type: ignore[arg-type]


@given(st.integers(min_value=1, max_value=10**11))
def test_words_never_say_zero_and_name_the_right_units(cents: int) -> None:
    words = amount_in_words_fr(cents)
    assert "zéro" not in words
    assert ("euro" in words) == (cents >= 100)
    assert ("centime" in words) == (cents % 100 != 0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Emmaüs Lescar-Pau", "d'Emmaüs Lescar-Pau"),
        ("emmaüs", "d'emmaüs"),
        ("Écoute solidaire", "d'Écoute solidaire"),
        ("Âme de la Terre", "d'Âme de la Terre"),
        ("Œuvre des pupilles", "d'Œuvre des pupilles"),
        ("Île aux livres", "d'Île aux livres"),
        ("Ours brun", "d'Ours brun"),
        ("Ukraine libre", "d'Ukraine libre"),
        ("Habitat et Humanisme", "d'Habitat et Humanisme"),
        ("Hélène", "d'Hélène"),
        ("Handicap International", "de Handicap International"),
        ("Halte 64", "de Halte 64"),
        ("Hauts-de-France Solidaires", "de Hauts-de-France Solidaires"),
        ("Yves", "d'Yves"),
        ("Yann", "de Yann"),
        ("Secours populaire", "de Secours populaire"),
        ("La Boucle", "de La Boucle"),
        ("2 Mains", "de 2 Mains"),
        ("  Avril 2026 ", "d'Avril 2026"),
        ("avril 2026", "d'avril 2026"),
        ("mars 2026", "de mars 2026"),
        ("", "de"),
    ],
)
def test_de_before_a_name_elides_before_a_vowel_or_a_mute_h(name: str, expected: str) -> None:
    assert de_name(name) == expected
