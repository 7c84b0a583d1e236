"""What a gift really costs a giver who pays income tax in France, shown beside the gift
form's amount (article 200 of the CGI): 66 % of the gift comes back as a tax reduction, or
75 % for an organisation helping people in difficulty, on gifts up to a yearly ceiling
(settings.GIFT_TAX_REDUCTION_75_CEILING_CENTS) and 66 % above it.

Rounding, in favour of honesty: the reduction is rounded DOWN to the cent, so the cost
shown is never below the real one (10,01 € at 66 %: 6,6066 € of reduction, shown 6,60 €;
cost 3,41 €). frontend/static/frontend/give.js computes the same, in integer cents too."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from campaigns.models import Organisation
from receipts.issuing import organisation_missing

GENERAL_PERCENT = 66
PEOPLE_IN_DIFFICULTY_PERCENT = 75


@dataclass(frozen=True)
class ReductionRule:
    """``percent`` of a gift up to ``ceiling_cents`` (None: no ceiling), 66 % above it."""

    percent: int
    ceiling_cents: int | None


def reduction_rule(tax_regime: str) -> ReductionRule:
    if tax_regime == Organisation.TaxRegime.PEOPLE_IN_DIFFICULTY:
        return ReductionRule(PEOPLE_IN_DIFFICULTY_PERCENT, settings.GIFT_TAX_REDUCTION_75_CEILING_CENTS)
    return ReductionRule(GENERAL_PERCENT, None)


def organisation_reduction_rule(organisation: Organisation) -> ReductionRule | None:
    """The rule of ``organisation``'s gifts, or None when it cannot issue tax receipts
    (its legal details are incomplete: receipts.issuing issues nothing then)."""
    if organisation_missing(organisation):
        return None
    return reduction_rule(organisation.tax_regime)


def reduction_cents(amount_cents: int, rule: ReductionRule) -> int:
    """The tax reduction a gift of ``amount_cents`` opens, as if it were the year's only
    gift (the ceiling is yearly), rounded down to the cent."""
    if amount_cents <= 0:
        return 0
    within = amount_cents if rule.ceiling_cents is None else min(amount_cents, rule.ceiling_cents)
    above = amount_cents - within
    return (within * rule.percent + above * GENERAL_PERCENT) // 100


def cost_after_reduction_cents(amount_cents: int, rule: ReductionRule) -> int:
    """What the gift costs once the reduction is taken off (rounded up to the cent)."""
    return amount_cents - reduction_cents(amount_cents, rule)
