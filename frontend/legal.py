"""Who runs the site, read from settings, for the legal pages and the deploy check.

French law asks a site that sells to show who publishes it and who hosts it
(LCEN art. 6 III), and a consumer mediator (Code de la consommation L612-1).
These depend on the operator, so they come from the environment; a value not
set is shown as missing, never made up.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage

# Settings the legal pages need; OPERATOR_CAPITAL and OPERATOR_VAT_NUMBER are left
# out because only some operators have them (a company's capital, a VAT number).
REQUIRED_SETTINGS = (
    "OPERATOR_NAME",
    "OPERATOR_LEGAL_FORM",
    "OPERATOR_ADDRESS",
    "OPERATOR_REGISTRATION",
    "OPERATOR_EMAIL",
    "OPERATOR_PHONE",
    "OPERATOR_PUBLICATION_DIRECTOR",
    "HOST_NAME",
    "HOST_ADDRESS",
    "HOST_PHONE",
    "MEDIATOR_NAME",
    "MEDIATOR_URL",
)


@dataclass(frozen=True)
class LegalDetails:
    operator_name: str
    operator_legal_form: str
    operator_address: str
    operator_registration: str
    operator_capital: str
    operator_vat_number: str
    operator_email: str
    operator_phone: str
    operator_publication_director: str
    host_name: str
    host_address: str
    host_phone: str
    mediator_name: str
    mediator_url: str
    return_period_days: int
    hold_minutes: int
    # The only cookies the site sets (all strictly necessary, so no consent banner).
    session_cookie: str
    csrf_cookie: str
    language_cookie: str
    messages_cookie: str
    # Parcels: shipped within this many days of payment; withdrawal within this many days of delivery.
    ship_by_days: int = 5
    withdrawal_days: int = 14


def legal_details() -> LegalDetails:
    """The operator's details as settings hold them now (read per call, so tests can override them)."""
    return LegalDetails(
        operator_name=settings.OPERATOR_NAME,
        operator_legal_form=settings.OPERATOR_LEGAL_FORM,
        operator_address=settings.OPERATOR_ADDRESS,
        operator_registration=settings.OPERATOR_REGISTRATION,
        operator_capital=settings.OPERATOR_CAPITAL,
        operator_vat_number=settings.OPERATOR_VAT_NUMBER,
        operator_email=settings.OPERATOR_EMAIL,
        operator_phone=settings.OPERATOR_PHONE,
        operator_publication_director=settings.OPERATOR_PUBLICATION_DIRECTOR,
        host_name=settings.HOST_NAME,
        host_address=settings.HOST_ADDRESS,
        host_phone=settings.HOST_PHONE,
        mediator_name=settings.MEDIATOR_NAME,
        mediator_url=settings.MEDIATOR_URL,
        return_period_days=settings.RECEIPT_RETURN_PERIOD_DAYS,
        hold_minutes=settings.CHECKOUT_HOLD_MINUTES,
        session_cookie=settings.SESSION_COOKIE_NAME,
        csrf_cookie=settings.CSRF_COOKIE_NAME,
        language_cookie=settings.LANGUAGE_COOKIE_NAME,
        # The default message storage keeps a one-off message in a cookie until the next page shows it.
        messages_cookie=CookieStorage.cookie_name,
        ship_by_days=settings.SHIP_BY_DAYS,
        withdrawal_days=settings.WITHDRAWAL_DAYS,
    )


def legal_settings_missing() -> list[str]:
    """The names of the required settings that are empty."""
    return [name for name in REQUIRED_SETTINGS if not getattr(settings, name, "")]
