"""Amounts in French words, as a tax receipt writes them
("cent vingt-trois euros et cinquante centimes").

num2words gives the words of a number; the euro/centime grammar is ours:
its currency mode reads integers as cents and writes "zéro centimes"."""

from __future__ import annotations

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
