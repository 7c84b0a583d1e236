"""Run localstripe, a Stripe-compatible server, bound to 127.0.0.1 only.

``python -m tests.support.stripe_server --port N``. Its own launcher binds
every interface; this one does not.

localstripe lacks Checkout Sessions and Connect; we add the little we use,
in Stripe's documented shapes (see TOOLING.md, "Stripe without the internet"):

- ``/v1/checkout/sessions``: create, retrieve, list, ``/{id}/expire``, and the
  test-only ``/{id}/_complete`` that pays the session with a real localstripe
  PaymentIntent (so refunds work) and returns the ``checkout.session.completed``
  event, which the test signs and posts to our webhook;
- ``/v1/accounts`` and ``/v1/transfers``: create, retrieve, list."""

from __future__ import annotations

import argparse
import time
from typing import Any

from aiohttp import web
from localstripe.errors import UserError
from localstripe.resources import Event, PaymentIntent, StripeObject
from localstripe.server import api_create, api_extra, api_list_all, api_retrieve, app
from localstripe.webhooks import schedule_webhook


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UserError(400, f"Invalid integer: {name}") from None


class CheckoutSession(StripeObject):
    object = "checkout.session"
    _id_prefix = "cs_test_"

    def __init__(
        self,
        mode: str = "payment",
        line_items: list[dict[str, Any]] | None = None,
        success_url: str | None = None,
        cancel_url: str | None = None,
        metadata: dict[str, str] | None = None,
        customer_email: str | None = None,
        client_reference_id: str | None = None,
        expires_at: Any = None,
        locale: str | None = None,
        payment_method_types: list[str] | None = None,
        payment_intent_data: dict[str, Any] | None = None,
        customer_creation: str | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs))
        if mode != "payment" or not line_items or not success_url:
            raise UserError(400, "Bad request")
        total, currency = 0, None
        for line in line_items:
            price = line.get("price_data") or {}
            total += _int(price.get("unit_amount"), "unit_amount") * _int(line.get("quantity", 1), "quantity")
            currency = price.get("currency")
        now = int(time.time())
        expires = _int(expires_at, "expires_at") if expires_at is not None else now + 24 * 3600
        if not now + 30 * 60 - 5 <= expires <= now + 24 * 3600:
            raise UserError(400, "expires_at must be between 30 minutes and 24 hours from now")
        super().__init__()
        self.mode = mode
        self.amount_total = total
        self.amount_subtotal = total
        self.currency = currency
        self.metadata = metadata or {}
        self.customer_email = customer_email
        self.customer = None
        self.customer_creation = customer_creation
        self.client_reference_id = client_reference_id
        self.expires_at = expires
        self.locale = locale
        self.payment_method_types = payment_method_types or ["card"]
        self.success_url = success_url
        self.cancel_url = cancel_url
        self.status = "open"
        self.payment_status = "unpaid"
        self.payment_intent = None
        self._payment_intent_data = payment_intent_data or {}
        self.url = f"https://checkout.stripe.com/c/pay/{self.id}"

    @classmethod
    def _api_expire(cls, id: str, **kwargs: Any) -> CheckoutSession:
        session = cls._api_retrieve(id)
        if session.status != "open":
            raise UserError(400, "Only open sessions can be expired")
        session.status = "expired"
        session.url = None
        schedule_webhook(Event("checkout.session.expired", session))
        return session

    @classmethod
    def _api_complete(cls, id: str, **kwargs: Any) -> Event:
        """Test only: the buyer pays on the hosted page (a real localstripe PaymentIntent)."""
        session = cls._api_retrieve(id)
        if session.status != "open":
            raise UserError(400, "Only open sessions can be completed")
        intent = PaymentIntent._api_create(
            amount=session.amount_total,
            currency=session.currency,
            payment_method="pm_card_visa",
            metadata=dict(session._payment_intent_data.get("metadata") or {}),
            confirm=True,
        )
        session.payment_intent = intent.id
        session.status = "complete"
        session.payment_status = "paid"
        session.url = None
        event = Event("checkout.session.completed", session)
        schedule_webhook(event)
        return event


class Account(StripeObject):
    object = "account"
    _id_prefix = "acct_"

    def __init__(self, type: str = "express", country: str = "FR", email: str | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.type = type
        self.country = country
        self.email = email
        self.charges_enabled = True
        self.payouts_enabled = True
        self.metadata = kwargs.get("metadata") or {}


class Transfer(StripeObject):
    object = "transfer"
    _id_prefix = "tr_"

    def __init__(
        self,
        amount: Any = None,
        currency: str | None = None,
        destination: str | None = None,
        transfer_group: str | None = None,
        metadata: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs))
        amount = _int(amount, "amount")
        if amount <= 0 or not currency or not destination:
            raise UserError(400, "Bad request")
        Account._api_retrieve(destination)  # 404 for an unknown connected account, as Stripe does
        super().__init__()
        self.amount = amount
        self.currency = currency
        self.destination = destination
        self.transfer_group = transfer_group
        self.metadata = metadata or {}
        self.reversed = False


def _register() -> None:
    sessions = "/v1/checkout/sessions"
    # Extra routes first, so ".../{id}/expire" is not taken for an id.
    app.router.add_route("POST", sessions + "/{id}/expire", api_extra(CheckoutSession._api_expire, sessions))
    app.router.add_route("POST", sessions + "/{id}/_complete", api_extra(CheckoutSession._api_complete, sessions))
    for cls, url in ((CheckoutSession, sessions), (Account, "/v1/accounts"), (Transfer, "/v1/transfers")):
        app.router.add_route("POST", url, api_create(cls, url))
        app.router.add_route("GET", url + "/{id}", api_retrieve(cls, url))
        app.router.add_route("GET", url, api_list_all(cls, url))


def run(port: int) -> None:
    _register()
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    run(parser.parse_args().port)
