"""The campaign page's gift form: suggested amounts or one typed, the cost after the tax
reduction at the organisation's own rate (only where it can issue receipts), and every refused
amount explained beside its field, never on an error page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from campaigns.models import Campaign, Organisation
from checkout.tax_reduction import (
    ReductionRule,
    cost_after_reduction_cents,
    organisation_reduction_rule,
    reduction_cents,
    reduction_rule,
)
from donations.models import Gift
from tests.factories import CampaignFactory, OrganisationFactory

pytestmark = pytest.mark.django_db

GENERAL = Organisation.TaxRegime.GENERAL_INTEREST
DIFFICULTY = Organisation.TaxRegime.PEOPLE_IN_DIFFICULTY
SIGNATORY = {"signatory_name": "Anne Martin", "signatory_title": "Présidente"}


def receipting_campaign(regime: str = GENERAL) -> Campaign:
    """A live campaign of an organisation whose legal details let it issue tax receipts."""
    return CampaignFactory(organisation=OrganisationFactory(tax_regime=regime, **SIGNATORY))


def gift_form(page: str) -> str:
    start = page.index('<form class="give"')
    return page[start : page.index("</form>", start)]


def cost_line(page: str) -> str:
    match = re.search(r'<p class="cost" id="give-cost"[^>]*>(.*?)</p>', page)
    assert match is not None, gift_form(page)
    return match.group(1)


def give(client: Client, campaign: Campaign, language: str = "fr", **data: str) -> Any:
    url = f"/campagnes/{campaign.slug}/donner/"
    return client.post(url, {"email": "d@example.org", **data}, HTTP_ACCEPT_LANGUAGE=language)


# --- The rate ------------------------------------------------------------------------------------


def test_the_rate_is_66_percent_for_general_interest_and_75_up_to_the_ceiling_for_people_in_difficulty(
    settings: Any,
) -> None:
    settings.GIFT_TAX_REDUCTION_75_CEILING_CENTS = 123_400
    assert reduction_rule(GENERAL) == ReductionRule(percent=66, ceiling_cents=None)
    assert reduction_rule(DIFFICULTY) == ReductionRule(percent=75, ceiling_cents=123_400)


def test_no_rate_for_an_organisation_that_cannot_issue_receipts_yet() -> None:
    assert organisation_reduction_rule(OrganisationFactory(tax_regime=DIFFICULTY)) is None  # no signatory
    assert organisation_reduction_rule(OrganisationFactory(tax_regime=DIFFICULTY, **SIGNATORY)) == ReductionRule(
        75, 100_000
    )


@pytest.mark.parametrize(
    ("amount", "regime", "cost"),
    [
        (2000, GENERAL, 680),
        (2000, DIFFICULTY, 500),
        (100, GENERAL, 34),
        # 10,01 € × 66 % = 6,6066 €: the reduction is rounded down, the cost up (never below the real one).
        (1001, GENERAL, 341),
        (1001, DIFFICULTY, 251),  # 7,5075 € → 7,50 €
        (333, GENERAL, 114),  # 2,1978 € → 2,19 €
        (100_000, DIFFICULTY, 25_000),  # the ceiling itself: 75 % of all of it
        (100_001, DIFFICULTY, 25_001),  # one cent above: 750 € + 0,66 cent, rounded down
        (150_000, DIFFICULTY, 42_000),  # 1 000 € at 75 % + 500 € at 66 %
        (150_000, GENERAL, 51_000),
        (1_000_000, GENERAL, 340_000),
    ],
)
def test_the_cost_after_the_reduction_in_integer_cents(amount: int, regime: str, cost: int) -> None:
    rule = reduction_rule(regime)
    assert cost_after_reduction_cents(amount, rule) == cost
    assert reduction_cents(amount, rule) + cost == amount


def test_the_75_percent_stops_at_the_ceiling_of_the_settings(settings: Any) -> None:
    settings.GIFT_TAX_REDUCTION_75_CEILING_CENTS = 10_000
    assert cost_after_reduction_cents(20_000, reduction_rule(DIFFICULTY)) == 20_000 - 7_500 - 6_600


# --- The page ------------------------------------------------------------------------------------


def test_the_form_suggests_amounts_as_radio_buttons_in_a_labelled_group(client: Client) -> None:
    form = gift_form(client.get(CampaignFactory().get_absolute_url()).content.decode())
    assert '<fieldset class="amounts" data-gift-amounts>\n    <legend>Montant du don</legend>' in form
    radios = re.findall(
        r'<label class="amount-choice"><input type="radio" name="suggested" value="(\d+)"> ([^<]+)</label>', form
    )
    assert radios == [("10", "10\u00a0€"), ("20", "20\u00a0€"), ("50", "50\u00a0€"), ("100", "100\u00a0€")]
    # No amount chosen for the giver (only the frequency starts at "once").
    assert not re.search(r'name="suggested"[^>]* checked', form)
    assert 'id="give-interval_0" checked> Une fois' in form
    assert '<label for="give-amount">Autre montant (€)</label>' in form
    assert 'src="/static/frontend/give.js"' in client.get(CampaignFactory().get_absolute_url()).content.decode()


def test_suggested_amounts_above_the_largest_gift_are_left_out(client: Client, settings: Any) -> None:
    settings.GIFT_MAX_CENTS = 3000
    form = gift_form(client.get(CampaignFactory().get_absolute_url()).content.decode())
    assert re.findall(r'name="suggested" value="(\d+)"', form) == ["10", "20"]


def test_the_general_rate_s_cost_and_help_beside_the_amount(client: Client) -> None:
    page = client.get(receipting_campaign(GENERAL).get_absolute_url()).content.decode()
    assert cost_line(page) == "Par exemple, un don de 20\u00a0€ vous revient à 6,80\u00a0€ après réduction d'impôt."
    assert 'data-percent="66" data-ceiling="" data-general-percent="66" data-min="100" data-max="1000000"' in page
    assert "réduit votre impôt sur le revenu de 66&nbsp;% de son montant, dans la limite de 20&nbsp;%" in page
    assert "plafond" not in gift_form(page)


def test_an_organisation_helping_people_in_difficulty_shows_75_percent_and_the_legal_ceiling(client: Client) -> None:
    page = client.get(receipting_campaign(DIFFICULTY).get_absolute_url()).content.decode()
    assert cost_line(page) == "Par exemple, un don de 20\u00a0€ vous revient à 5,00\u00a0€ après réduction d'impôt."
    assert 'data-percent="75" data-ceiling="100000" data-general-percent="66"' in page
    help_text = re.search(r'<p class="hint" id="give-tax-help">(.*?)</p>', page, re.S)
    assert help_text is not None
    assert "de 75&nbsp;% jusqu'à 1\u202f000\u00a0€ de dons dans l'année (plafond fixé par la loi" in help_text.group(1)
    assert "puis de 66&nbsp;% au-delà" in help_text.group(1)


def test_no_cost_is_promised_when_the_organisation_cannot_issue_receipts(client: Client) -> None:
    campaign = CampaignFactory(organisation=OrganisationFactory(tax_regime=DIFFICULTY))  # no signatory yet
    form = gift_form(client.get(campaign.get_absolute_url()).content.decode())
    assert "give-cost" not in form and "give-tax-help" not in form and "réduction d'impôt" not in form
    assert 'name="suggested"' in form  # the amounts are still suggested


def test_a_form_sent_back_shows_the_cost_of_its_amount_computed_by_the_server(client: Client) -> None:
    campaign = receipting_campaign(GENERAL)
    typed = give(client, campaign, amount="10,01", email="")  # the e-mail is missing: the form comes back
    assert typed.status_code == 400
    assert cost_line(typed.content.decode()) == "Coût réel après réduction d'impôt : <strong>3,41\u00a0€</strong>"

    chosen = give(client, campaign, suggested="50", email="")
    page = chosen.content.decode()
    assert '<input type="radio" name="suggested" value="50" checked> 50\u00a0€' in page
    assert cost_line(page) == "Coût réel après réduction d'impôt : <strong>17,00\u00a0€</strong>"


def test_the_cost_and_its_help_in_english(client: Client) -> None:
    campaign = receipting_campaign(DIFFICULTY)
    page = client.get(campaign.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    form = gift_form(page)
    assert "<legend>Amount of the donation</legend>" in form and "Other amount (€)" in form
    assert "€10</label>" in form
    assert cost_line(page) == "For example, a donation of €20 costs you €5.00 after the tax reduction."
    assert 'data-label="Real cost after the tax reduction:"' in form
    assert "75% on up to €1,000 of donations in the year" in form

    sent_back = give(client, campaign, amount="150", email="", language="en")
    assert cost_line(sent_back.content.decode()) == "Real cost after the tax reduction: <strong>€37.50</strong>"


# --- The amounts given, and those refused --------------------------------------------------------


@pytest.mark.parametrize(("data", "cents"), [({"suggested": "50"}, 5000), ({"amount": "12,50"}, 1250)])
def test_a_suggested_or_typed_amount_is_given(client: Client, data: dict[str, str], cents: int) -> None:
    response = give(client, CampaignFactory(), **data)
    assert response.status_code == 303 and Gift.objects.get().amount_cents == cents


def test_the_same_amount_chosen_and_typed_is_one_gift(client: Client) -> None:
    # What the page's script sends never differs; without it, a person may tick 20 € and type 20.
    response = give(client, CampaignFactory(), suggested="20", amount="20,00")
    assert response.status_code == 303 and Gift.objects.get().amount_cents == 2000


def refused(response: Any, field: str = "amount") -> str:
    """The message beside ``field`` on the gift form sent back (never an error page), nothing recorded."""
    assert response.status_code == 400 and response.templates[0].name == "checkout/give.html"
    assert "checkout/problem.html" not in [t.name for t in response.templates]
    assert not Gift.objects.exists()
    match = re.search(rf'<p class="error" id="give-{field}-error">(.*?)</p>', response.content.decode())
    assert match is not None, gift_form(response.content.decode())
    return match.group(1)


FORMAT = "Indiquez un montant en euros, par exemple 20 ou 12,50."
LIMIT = "Le don en ligne est limité à 10\u202f000,00\u00a0€."


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0,99", "Le don minimum est de 1 €."),
        ("0", "Le don minimum est de 1 €."),
        ("0,00 €", "Le don minimum est de 1 €."),
        ("-5", FORMAT),
        ("1e9", FORMAT),
        ("12,345", FORMAT),
        ("1 000", FORMAT),
        ("NaN", FORMAT),
        ("１２", FORMAT),  # other scripts' digits
        ("10000,01", LIMIT),
        # Huge: told the largest gift, not a length or a format.
        ("1000000000", LIMIT),
        ("99999999999999999999", LIMIT),
        ("9" * 5000 + ",50 €", LIMIT),
        ("", "Choisissez ou saisissez un montant."),
        ("   ", "Choisissez ou saisissez un montant."),
        ("\x00", "Le caractère nul n’est pas autorisé."),
    ],
)
def test_a_hostile_amount_is_refused_beside_the_field(client: Client, amount: str, message: str) -> None:
    assert refused(give(client, CampaignFactory(), amount=amount)) == message


def test_a_huge_amount_is_refused_in_the_page_s_language(client: Client) -> None:
    response = give(client, CampaignFactory(), amount="99999999999999999999", language="en")
    assert refused(response) == "Online donations are limited to €10,000.00."


@pytest.mark.parametrize("suggested", ["30", "abc", "-10", "1e9", "0", "20,001", "9" * 40])
def test_a_suggested_amount_that_was_not_suggested_is_refused(client: Client, suggested: str) -> None:
    message = refused(give(client, CampaignFactory(), suggested=suggested), field="suggested")
    assert message == "Choisissez un des montants proposés, ou saisissez le vôtre."


def test_two_different_amounts_are_refused_rather_than_guessed(client: Client) -> None:
    message = refused(give(client, CampaignFactory(), suggested="20", amount="35"))
    assert message == "Vous avez choisi 20,00\u00a0€ et saisi 35,00\u00a0€ : gardez un seul des deux montants."


def test_a_refused_amount_on_a_closed_campaign_still_gets_no_server_error(client: Client) -> None:
    campaign = CampaignFactory(status=Campaign.Status.CLOSED)
    response = give(client, campaign, amount="0,50")
    assert response.status_code == 400 and not Gift.objects.exists()
