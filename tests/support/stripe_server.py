"""Run localstripe, a Stripe-compatible server, bound to 127.0.0.1 only.

``python -m tests.support.stripe_server --port N``. Its own launcher binds
every interface; this one does not.

localstripe lacks Checkout Sessions and Connect; we add the little we use,
in Stripe's documented shapes:

- ``/v1/checkout/sessions``: create, retrieve, list, ``/{id}/expire``, and the
  test-only ``/{id}/_complete`` that pays the session with a real localstripe
  PaymentIntent (so refunds work) and returns the ``checkout.session.completed``
  event, which the test signs and posts to our webhook;
- ``/v1/accounts``: create (honouring ``Idempotency-Key``, as Stripe does: the
  same key gives the same account back), retrieve, update, list; a new
  account has its requested capabilities ``inactive`` and its requirements
  ``currently_due``, and the test-only ``/{id}/_onboard`` completes its
  onboarding (capabilities ``active``, nothing due) and returns the Connect
  ``account.updated`` event (with its top-level ``account``), which the test
  signs with the Connect endpoint's secret and posts;
- ``/v1/account_links``: create (``account_onboarding`` / ``account_update``)
  gives a short-lived ``url``; the test-only ``GET /_test/account_links`` lists
  the parameters of the links created (Stripe has no such list);
- ``/v1/transfers``: create, retrieve, list (capabilities are not enforced:
  Trëmma's own rule holds transfers until the account can receive them);
- ``/v1/transfers/{id}/reversals``: create (honouring ``Idempotency-Key`` as
  Stripe does: the same key gives the same reversal), list;
- a card fee on each paid session's charge, in its balance transaction
  (``fee``, ``fee_details``), as Stripe's European card pricing would
  (1.5 % + 25 cents; localstripe itself says 0);
- subscriptions made by Checkout (``mode=subscription``, an inline recurring
  ``price_data``; localstripe's own subscriptions need Plans and Customers):
  ``_complete`` then makes the subscription (its ``subscription_data``
  metadata, one item with its price and product), pays its first invoice;
  ``/v1/subscriptions/{id}`` retrieves it, updates its item's ``price_data``
  (``unit_amount``) and cancels it (``DELETE``, as localstripe's routes do);
  the test-only ``POST /v1/subscriptions/{id}/_invoice`` (``fail``, or
  ``invoice`` to retry one) charges the next month and returns the
  ``invoice.paid`` or ``invoice.payment_failed`` event in the current API's
  shape (``parent.subscription_details``, no ``payment_intent``); and
  ``GET /v1/invoice_payments?invoice=`` names the PaymentIntent that paid it."""

from __future__ import annotations

import argparse
import secrets
import time
from typing import Any

from aiohttp import web
from localstripe.errors import UserError
from localstripe.resources import BalanceTransaction, Event, PaymentIntent, StripeObject, store
from localstripe.server import (
    api_create,
    api_extra,
    api_list_all,
    api_retrieve,
    api_update,
    app,
    get_post_data,
    json_response,
)
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
        subscription_data = kwargs.pop("subscription_data", None)
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs))
        if mode not in ("payment", "subscription") or not line_items or not success_url:
            raise UserError(400, "Bad request")
        recurring = [bool((line.get("price_data") or {}).get("recurring")) for line in line_items]
        if mode == "subscription":
            # As Stripe: a recurring price, and none of the one-off payment's options.
            if not any(recurring) or payment_intent_data or customer_creation:
                raise UserError(400, "Invalid subscription session")
        elif any(recurring) or subscription_data:
            raise UserError(400, "Recurring prices need mode=subscription")
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
        self._subscription_data = subscription_data or {}
        self._line_items = line_items
        self.subscription = None
        self.invoice = None
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
        if session.mode == "subscription":
            price = session._line_items[0]["price_data"]
            subscription = CheckoutSubscription(
                customer_email=session.customer_email,
                currency=session.currency,
                unit_amount=_int(price.get("unit_amount"), "unit_amount"),
                interval=str(price["recurring"].get("interval")),
                metadata=dict(session._subscription_data.get("metadata") or {}),
            )
            invoice = subscription._invoice(fail=False)
            session.subscription = subscription.id
            session.invoice = invoice.id
            session.status = "complete"
            session.payment_status = "paid"
            session.url = None
            event = Event("checkout.session.completed", session)
            schedule_webhook(event)
            return event
        intent = PaymentIntent._api_create(
            amount=session.amount_total,
            currency=session.currency,
            payment_method="pm_card_visa",
            metadata=dict(session._payment_intent_data.get("metadata") or {}),
            confirm=True,
        )
        session.payment_intent = intent.id
        _charge_fee(intent.latest_charge.balance_transaction)
        session.status = "complete"
        session.payment_status = "paid"
        session.url = None
        event = Event("checkout.session.completed", session)
        schedule_webhook(event)
        return event


class CheckoutSubscription(StripeObject):
    """A subscription made by a Checkout Session. Stored under localstripe's ``subscription:``
    keys, so its routes retrieve it, update it (``_update`` below) and cancel it."""

    object = "subscription"
    _id_prefix = "sub_"

    def __init__(
        self,
        customer_email: str | None,
        currency: str | None,
        unit_amount: int,
        interval: str,
        metadata: dict[str, str],
    ) -> None:
        super().__init__()
        self.status = "active"
        self.customer = "cus_" + secrets.token_hex(7)
        self.metadata = metadata
        self.cancel_at_period_end = False
        self.canceled_at = None
        self.ended_at = None
        self.latest_invoice = None
        self._customer_email = customer_email
        product = "prod_" + secrets.token_hex(7)
        self.items = {
            "object": "list",
            "data": [
                {
                    "id": "si_" + secrets.token_hex(7),
                    "object": "subscription_item",
                    "quantity": 1,
                    "price": _price(product, currency, unit_amount, interval),
                }
            ],
        }
        self._invoices: list[str] = []

    def _update(self, items: Any = None, proration_behavior: Any = None, metadata: Any = None, **data: Any) -> None:
        if data or self.status != "active":
            raise UserError(400, "Bad request")
        for change in items or []:
            item = next((it for it in self.items["data"] if it["id"] == change.get("id")), None)
            price = change.get("price_data") or {}
            if item is None or not price.get("product") or not (price.get("recurring") or {}).get("interval"):
                raise UserError(400, "Invalid subscription item")
            item["price"] = _price(
                str(price["product"]),
                str(price.get("currency")),
                _int(price.get("unit_amount"), "unit_amount"),
                str(price["recurring"]["interval"]),
            )

    def _invoice(self, *, fail: bool, retry: str = "") -> StripeObject:
        """The next month's invoice (or ``retry``, one that failed), charged now."""
        price = self.items["data"][0]["price"]
        invoice = TestInvoice._api_retrieve(retry) if retry else TestInvoice(self, price)
        invoice.attempt_count += 1
        if fail:
            invoice.status = "open"
            invoice.next_payment_attempt = int(time.time()) + 3 * 24 * 3600
        else:
            intent = PaymentIntent._api_create(
                amount=invoice.amount_due, currency=invoice.currency, payment_method="pm_card_visa", confirm=True
            )
            _charge_fee(intent.latest_charge.balance_transaction)
            invoice.status = "paid"
            invoice.amount_paid = invoice.amount_due
            invoice.next_payment_attempt = None
            _invoice_payments[invoice.id] = intent.id
        self.latest_invoice = invoice.id
        return invoice


def _price(product: str, currency: str | None, unit_amount: int, interval: str) -> dict[str, Any]:
    return {
        "id": "price_" + secrets.token_hex(7),
        "object": "price",
        "product": product,
        "currency": currency,
        "unit_amount": unit_amount,
        "recurring": {"interval": interval, "interval_count": 1},
    }


class TestInvoice(StripeObject):
    """A subscription's invoice in Stripe's current shape: the subscription under
    ``parent.subscription_details`` (with a snapshot of its metadata), its payments apart."""

    object = "invoice"
    _id_prefix = "in_"

    def __init__(self, subscription: CheckoutSubscription, price: dict[str, Any]) -> None:
        super().__init__()
        self.customer = subscription.customer
        self.customer_email = subscription._customer_email
        self.currency = price["currency"]
        self.amount_due = price["unit_amount"]
        self.amount_paid = 0
        self.attempt_count = 0
        self.next_payment_attempt = None
        self.status = "draft"
        self.billing_reason = "subscription_cycle" if subscription._invoices else "subscription_create"
        self.parent = {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"subscription": subscription.id, "metadata": dict(subscription.metadata)},
        }
        subscription._invoices.append(self.id)


# Invoice id -> the PaymentIntent that paid it (Stripe's invoice payments).
_invoice_payments: dict[str, str] = {}


async def _subscription_invoice(request: web.Request) -> web.Response:
    """Test only: charge a subscription's next month (or retry one invoice); returns the event."""
    data = await get_post_data(request) or {}
    subscription = CheckoutSubscription._api_retrieve(request.match_info["id"])
    if subscription.status != "active":
        raise UserError(400, "The subscription is canceled")
    fail = str(data.get("fail", "")).lower() == "true"
    invoice = subscription._invoice(fail=fail, retry=str(data.get("invoice") or ""))
    event = Event("invoice.payment_failed" if fail else "invoice.paid", invoice)
    return json_response(event._export())


def _invoice_payments_list(request: web.Request) -> web.Response:
    invoice = request.query.get("invoice", "")
    intent = _invoice_payments.get(invoice)
    found = (
        [
            {
                "object": "invoice_payment",
                "invoice": invoice,
                "status": "paid",
                "is_default": True,
                "payment": {"type": "payment_intent", "payment_intent": intent},
            }
        ]
        if intent
        else []
    )
    return json_response({"object": "list", "data": found, "has_more": False, "url": "/v1/invoice_payments"})


# Stripe's requirements of a new Express account in France (a sample of requirements.currently_due).
NEW_ACCOUNT_DUE = ["business_profile.url", "external_account", "representative.first_name", "tos_acceptance.date"]


class Account(StripeObject):
    object = "account"
    _id_prefix = "acct_"

    def __init__(
        self,
        type: str = "express",
        country: str = "FR",
        email: str | None = None,
        business_type: str | None = None,
        capabilities: dict[str, Any] | None = None,
        metadata: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.type = type
        self.country = country
        self.email = email
        self.business_type = business_type
        requested = [
            name for name, options in (capabilities or {}).items() if str((options or {}).get("requested")) == "true"
        ]
        self.capabilities = dict.fromkeys(requested or ["transfers"], "inactive")
        self.charges_enabled = False
        self.payouts_enabled = False
        self.details_submitted = False
        self.requirements = {
            "currently_due": list(NEW_ACCOUNT_DUE),
            "eventually_due": list(NEW_ACCOUNT_DUE),
            "past_due": list(NEW_ACCOUNT_DUE),
            "pending_verification": [],
            "disabled_reason": "requirements.past_due",
            "current_deadline": None,
            "errors": [],
        }
        self.metadata = metadata or {}

    @classmethod
    def _api_onboard(cls, id: str, **kwargs: Any) -> Event:
        """Test only: the account's representative completes Stripe's onboarding form."""
        account = cls._api_retrieve(id)
        account.capabilities = dict.fromkeys(account.capabilities, "active")
        account.charges_enabled = True
        account.payouts_enabled = True
        account.details_submitted = True
        account.requirements = {
            **account.requirements,
            "currently_due": [],
            "eventually_due": [],
            "past_due": [],
            "disabled_reason": None,
        }
        event = Event("account.updated", account)
        event.account = account.id  # Connect events name the connected account
        schedule_webhook(event)
        return event


# Idempotency-Key -> account id (Stripe keeps keys 24 hours; this process, as long as it runs).
_account_keys: dict[str, str] = {}
_account_links: list[dict[str, Any]] = []


async def account_create(request: web.Request) -> web.Response:
    data = await get_post_data(request) or {}
    data.pop("expand", None)
    # Nothing awaited from here on: two requests with one key cannot both create.
    key = request.headers.get("Idempotency-Key", "")
    if key in _account_keys:
        try:
            return json_response(Account._api_retrieve(_account_keys[key])._export())
        except UserError:
            pass  # the data was reset since
    account = Account._api_create(**data)
    if key:
        _account_keys[key] = account.id
    return json_response(account._export())


async def account_link_create(request: web.Request) -> web.Response:
    data = await get_post_data(request) or {}
    account = str(data.get("account") or "")
    if data.get("type") not in {"account_onboarding", "account_update"}:
        raise UserError(400, "Invalid type: must be one of account_onboarding, account_update")
    if not data.get("refresh_url") or not data.get("return_url"):
        raise UserError(400, "Missing required param: refresh_url and return_url")
    Account._api_retrieve(account)  # 404 for an unknown account, as Stripe does
    now = int(time.time())
    _account_links.append({key: data.get(key) for key in ("account", "type", "refresh_url", "return_url")})
    return json_response(
        {
            "object": "account_link",
            "created": now,
            "expires_at": now + 300,
            "url": f"https://connect.stripe.com/setup/e/{account}/{secrets.token_urlsafe(12)}",
        }
    )


def account_links_list(request: web.Request) -> web.Response:
    """Test only: the parameters of the links created, for one account."""
    account = request.query.get("account", "")
    return json_response({"data": [link for link in _account_links if link["account"] == account]})


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
        self.amount_reversed = 0


class TransferReversal(StripeObject):
    object = "transfer_reversal"
    _id_prefix = "trr_"

    def __init__(self, transfer: str = "", amount: Any = None, metadata: dict[str, str] | None = None, **kwargs: Any):
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs))
        parent = Transfer._api_retrieve(transfer)
        remaining = parent.amount - parent.amount_reversed
        amount = remaining if amount is None else _int(amount, "amount")
        if amount <= 0 or amount > remaining:
            # Stripe refuses to reverse more than what is left of the transfer.
            raise UserError(400, "Amount exceeds the unreversed amount of the transfer")
        super().__init__()
        self.amount = amount
        self.currency = parent.currency
        self.transfer = parent.id
        self.metadata = metadata or {}
        self.balance_transaction = None
        self.destination_payment_refund = None
        self.source_refund = None
        parent.amount_reversed += amount
        parent.reversed = parent.amount_reversed == parent.amount


def _charge_fee(balance_transaction_id: str) -> None:
    """Stripe's European card fee on a charge's balance transaction (localstripe records none)."""
    txn = BalanceTransaction._api_retrieve(balance_transaction_id)
    txn.fee = (txn.amount * 15 + 500) // 1000 + 25
    txn.fee_details = [
        {
            "amount": txn.fee,
            "application": None,
            "currency": txn.currency,
            "description": "Stripe processing fees",
            "type": "stripe_fee",
        }
    ]


_reversal_keys: dict[str, str] = {}


async def _reversal_create(request: web.Request) -> web.Response:
    key = request.headers.get("Idempotency-Key")
    if key and key in _reversal_keys:
        return json_response(TransferReversal._api_retrieve(_reversal_keys[key])._export())
    data = await get_post_data(request) or {}
    reversal = TransferReversal(transfer=request.match_info["id"], **data)
    if key:
        _reversal_keys[key] = reversal.id
    return json_response(reversal._export())


def _reversal_list(request: web.Request) -> web.Response:
    transfer = Transfer._api_retrieve(request.match_info["id"])
    reversals = [obj for key, obj in store.items() if key.startswith("transfer_reversal:")]
    found = [obj._export() for obj in reversals if obj.transfer == transfer.id]
    url = f"/v1/transfers/{transfer.id}/reversals"
    return json_response({"object": "list", "data": found, "has_more": False, "url": url})


def _register() -> None:
    sessions = "/v1/checkout/sessions"
    # Extra routes first, so ".../{id}/expire" is not taken for an id.
    app.router.add_route("POST", sessions + "/{id}/expire", api_extra(CheckoutSession._api_expire, sessions))
    app.router.add_route("POST", sessions + "/{id}/_complete", api_extra(CheckoutSession._api_complete, sessions))
    accounts = "/v1/accounts"
    app.router.add_route("POST", accounts + "/{id}/_onboard", api_extra(Account._api_onboard, accounts))
    app.router.add_route("POST", accounts, account_create)
    app.router.add_route("POST", accounts + "/{id}", api_update(Account, accounts))
    app.router.add_route("POST", "/v1/account_links", account_link_create)
    app.router.add_route("GET", "/_test/account_links", account_links_list)
    app.router.add_route("POST", "/v1/subscriptions/{id}/_invoice", _subscription_invoice)
    app.router.add_route("GET", "/v1/invoice_payments", _invoice_payments_list)
    app.router.add_route("POST", "/v1/transfers/{id}/reversals", _reversal_create)
    app.router.add_route("GET", "/v1/transfers/{id}/reversals", _reversal_list)
    for cls, url in ((CheckoutSession, sessions), (Account, accounts), (Transfer, "/v1/transfers")):
        if cls is not Account:
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
