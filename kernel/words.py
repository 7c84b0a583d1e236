"""Amounts in French words, as a tax receipt writes them
("cent vingt-trois euros et cinquante centimes"), and "de" before a name
("d'Emmaüs", "de Secours populaire").

num2words gives the words of a number; the euro/centime grammar is ours:
its currency mode reads integers as cents and writes "zéro centimes"."""

from __future__ import annotations

import re
import unicodedata

from num2words import num2words


def _number(n: int) -> str:
    return str(num2words(n, lang="fr"))


def _euros(units: int) -> str:
    words = _number(units)
    if units == 1:
        return f"{words} euro"
    # "un million d'euros", "deux milliards d'euros": a bare million or billion takes "de".
    if units % 1_000_000 == 0 and words.endswith(("million", "millions", "milliard", "milliards")):
        return f"{words} d'euros"
    return f"{words} euros"


def _centimes(cents: int) -> str:
    words = _number(cents)
    return f"{words} centime" if cents == 1 else f"{words} centimes"


def amount_in_words_fr(cents: int) -> str:
    """Integer cents in French words; only positive amounts are receipted."""
    if not isinstance(cents, int) or isinstance(cents, bool):
        raise TypeError("money is integer cents")
    if cents <= 0:
        raise ValueError("an amount in words is positive")
    units, rest = divmod(cents, 100)
    if units and rest:
        return f"{_euros(units)} et {_centimes(rest)}"
    if units:
        return _euros(units)
    return _centimes(rest)


# --- "de" before a name -----------------------------------------------------------------------

# Words whose h is aspirated: no elision before them ("de Handicap International", "de Halte 64").
# Any other h is taken as mute ("d'Habitat et Humanisme", "d'Hélène").
_ASPIRATED_H = (
    "haie", "haine", "hall", "halte", "hameau", "hamac", "hanche", "handicap", "hangar", "hanter",
    "harpe", "hasard", "haut", "hautbois", "havre", "hérisson", "héros", "hêtre", "hibou", "hollande",
    "homard", "hongrie", "honte", "hors", "houx", "huit", "hurl", "hutte",
)  # fmt: skip
_VOWELS = "aeiouæœ"


def _bare(letter: str) -> str:
    """The letter without its accents, lower case: "É" → "e", "Œ" → "œ"."""
    return unicodedata.normalize("NFD", letter)[0].lower()


def de_name(name: str) -> str:
    """French "de" before a name: "d'Emmaüs", "d'Œuvre", "d'Habitat", "de Yann", but "de Secours",
    "de Handicap International". Elision before a vowel (accented or capital too), a mute h,
    and a y before a consonant ("d'Yves")."""
    name = name.strip()
    if not name:
        return "de"
    word = re.split(r"[\s\-'’]", name, maxsplit=1)[0].lower()
    first = _bare(name[0])
    if first in _VOWELS:
        elide = True
    elif first == "h":
        elide = not word.startswith(_ASPIRATED_H)
    elif first == "y":
        elide = len(name) > 1 and _bare(name[1]) not in _VOWELS
    else:
        elide = False
    return f"d'{name}" if elide else f"de {name}"
