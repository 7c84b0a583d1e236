"""Tax receipts (reçus fiscaux): who gets one, when, under which number.
Cancellations and corrections are in receipts.changes; the document,
its PDF and the emails in receipts.delivery (after commit).

- A money gift is receipted once paid. A sale is receipted per ITEM (per line
  of its order: a basket may hold the objects of several sellers, for several
  organisations) once final, its part of the order handed over and
  ``RECEIPT_RETURN_PERIOD_DAYS`` passed, to the SELLER who gave the price: the
  buyer is never receipted, a purchase is not a gift.
- Never for a gift or a line refunded in whole, nor for a payment under an open
  (or lost) dispute; a partial refund receipts what the organisation kept of it
  (a line: its own ledger entries).
- Numbers are gapless per organisation and year: the counter row is locked in
  the transaction that creates the receipt (see ``_number_take``).
- Lock order: the gifts, then the orders, then the orders' lines, each in
  primary-key order, then the counter: the same order as checkout.services,
  which cancels receipts while holding the payment's lock (and its lines').
- An issued receipt is never edited: a refund or dispute cancels it with a
  reason; a later receipt for the same gift or line ``replaces`` it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from datetime import date, datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from campaigns.models import Organisation, Partner, Pledge
from donations.models import CounterEntry, Gift, Item, Order, OrderLine
from kernel.tasks import task, task_enqueue
from receipts.delivery import (
    local_date,
    receipt_deliver,
    receipt_missing_notify,
)
from receipts.document import (
    FORM_COMPANY,
    FORM_GENERAL,
    NATURE_CASH,
    NATURE_WAIVED_PROCEEDS,
    PAYMENT_METHOD_CARD,
    PAYMENT_METHOD_CARD_TERMINAL,
    PAYMENT_METHOD_CASH,
    PAYMENT_METHOD_CHEQUE,
    PAYMENT_METHOD_NONE,
    PLEDGE_MEANS,
)
from receipts.models import ReceiptCounter, ReceiptPreference, ReceiptWait, TaxReceipt, TaxReceiptLine
from receipts.selectors import (
    gifts_due_receipt,
    line_receiptable_cents,
    lines_due_receipt,
    payment_receiptable_cents,
    pledges_due_receipt,
    withdrawals_holding,
)

logger = logging.getLogger(__name__)

REGIME_SENTENCES = {
    Organisation.TaxRegime.GENERAL_INTEREST: (
        "Œuvre ou organisme d'intérêt général (article 200-1 b du CGI, réduction d'impôt de 66 %)"
    ),
    Organisation.TaxRegime.PEOPLE_IN_DIFFICULTY: (
        "Organisme d'aide gratuite aux personnes en difficulté (article 200-1 ter du CGI, réduction d'impôt de 75 %)"
    ),
}

# The giver's mentions a receipt cannot go without, in the order the person is told about them.
GIVER_REQUIRED = ("last_name", "first_name", "address_line1", "postal_code", "city")

# What an organisation's admins edit for receipts (organisation_legal_details_update).
LEGAL_DETAILS = (
    "purpose",
    "tax_regime",
    "qualifying_status",
    "signatory_name",
    "signatory_title",
    "signature",
    "receipts_consolidated",
)


@dataclass(frozen=True)
class _Source:
    """One paid gift, sold item (a line of an order) or partner's payment of its pledge to receipt:
    what it gave, when, for which organisation."""

    gift: Gift | None
    line: OrderLine | None
    amount_cents: int
    paid_on: date
    organisation_id: int
    pledge: Pledge | None = None


@dataclass(frozen=True)
class GiverIdentity:
    """Who a receipt is issued to, as it will be printed: an account's profile,
    or the details typed with a gift ("Je souhaite un reçu fiscal"), no account needed."""

    email: str
    first_name: str
    last_name: str
    address_line1: str
    address_line2: str
    postal_code: str
    city: str
    country: str


def _identity_of_user(user: User) -> GiverIdentity:
    return GiverIdentity(
        email=user.email,
        first_name=user.first_name.strip(),
        last_name=user.last_name.strip(),
        address_line1=user.address_line1.strip(),
        address_line2=user.address_line2.strip(),
        postal_code=user.postal_code.strip(),
        city=user.city.strip(),
        country=user.country or "FR",
    )


def _identity_of_gift(gift: Gift) -> GiverIdentity:
    return GiverIdentity(
        email=gift.email,
        first_name=gift.receipt_first_name,
        last_name=gift.receipt_last_name,
        address_line1=gift.receipt_address_line1,
        address_line2=gift.receipt_address_line2,
        postal_code=gift.receipt_postal_code,
        city=gift.receipt_city,
        country=gift.receipt_country or "FR",
    )


def giver_missing(user: User | None) -> list[str]:
    """The mandatory mentions ``user`` lacks ("account" when the gift has no person behind it)."""
    return _identity_missing(_identity_of_user(user) if user is not None else None)


def _identity_missing(identity: GiverIdentity | None) -> list[str]:
    if identity is None:
        return ["account"]
    return [name for name in GIVER_REQUIRED if not str(getattr(identity, name) or "").strip()]


def organisation_missing(organisation: Organisation) -> list[str]:
    """The beneficiary's mentions a receipt needs (Cerfa 11580*05)."""
    required = ("legal_name", "address_line1", "postal_code", "city", "purpose", "signatory_name", "signatory_title")
    missing = [name for name in required if not str(getattr(organisation, name) or "").strip()]
    if not (organisation.siren or organisation.rna):
        missing.append("siren")
    return missing


def _giver_of_gift(gift: Gift) -> User | None:
    """The person who gave: the signed-in giver, else the account holding the
    gift's email once that address is verified (anyone can sign up with a
    donor's address; only its owner may get their receipts)."""
    if gift.user is not None:
        return gift.user
    return User.objects.filter(email__iexact=gift.email, email_verified_at__isnull=False).first()


def _identity_for_gift(gift: Gift, giver: User | None) -> GiverIdentity | None:
    """The details typed with the gift win over any account (they are what the giver
    asked the receipt to say); else the account's profile; else nobody (a guest who
    did not ask for a receipt)."""
    if gift.receipt_requested:
        return _identity_of_gift(gift)
    return _identity_of_user(giver) if giver is not None else None


class ReceiptOutlook:
    """What a giver may be told about the receipt of a gift, the same on the
    success page and in the thanks email (gift_receipt_outlook)."""

    DETAILS = "details"  # issued to the details typed with the gift, sent by email
    ACCOUNT = "account"  # issued to the account's name and address, sent by email
    YEARLY = "yearly"  # one receipt for the year (the organisation's or the giver's choice), sent in January
    NONE = "none"  # a guest who did not ask for one: nothing is promised


def gift_receipt_outlook(*, gift: Gift) -> str:
    giver = _giver_of_gift(gift)
    if not gift.receipt_requested and giver is None:
        return ReceiptOutlook.NONE
    if _gift_yearly(gift, giver):
        return ReceiptOutlook.YEARLY
    return ReceiptOutlook.DETAILS if gift.receipt_requested else ReceiptOutlook.ACCOUNT


def _gift_yearly(gift: Gift, giver: User | None) -> bool:
    """Receipted once a year: the organisation's or the giver's choice, and always the charges of
    a monthly gift (one receipt for the year's months, not twelve)."""
    return gift.recurring_id is not None or _wants_consolidated(giver=giver, organisation=gift.campaign.organisation)


def _wants_consolidated(*, giver: User | None, organisation: Organisation) -> bool:
    if organisation.receipts_consolidated:
        return True
    return giver is not None and ReceiptPreference.objects.filter(user=giver, consolidated=True).exists()


def _gift_source(gift: Gift) -> _Source | None:
    amount = payment_receiptable_cents(gift=gift)
    if amount <= 0 or gift.paid_at is None:
        return None
    return _Source(gift, None, amount, local_date(gift.paid_at), gift.campaign.organisation_id)


def _line_source(line: OrderLine, *, now: datetime) -> _Source | None:
    """An item sold is receipted only once final: its part of the order handed over
    (``fulfilment.handed_over_at``), the return period over, the line not refunded
    in whole, the payment not disputed. Dated the day the ORDER was paid."""
    handed_over_at = line.fulfilment.handed_over_at
    paid_at = line.order.paid_at
    if handed_over_at is None or paid_at is None:
        return None
    final_before = now - timedelta(days=settings.RECEIPT_RETURN_PERIOD_DAYS)
    if handed_over_at > final_before:
        return None
    if withdrawals_holding(final_before=final_before).filter(lines=line).exists():
        return None  # the buyer withdrew (distance sale): final once the objects are back, or the request closed
    if line.item.owner_id is None or line.item.kind != Item.Kind.SALE:
        return None  # an object given in kind and sold by the organisation: its price is nobody's gift
    amount = line_receiptable_cents(line)
    if amount <= 0:
        return None
    return _Source(None, line, amount, local_date(paid_at), line.campaign.organisation_id)


# --- Issuing ------------------------------------------------------------------------------------

# How a gift recorded at the shop counter was handed over, as the receipt prints it; any other
# gift was paid online, by card.
COUNTER_PAYMENT_METHODS: dict[str, str] = {
    CounterEntry.Means.CASH: PAYMENT_METHOD_CASH,
    CounterEntry.Means.CHEQUE: PAYMENT_METHOD_CHEQUE,
    CounterEntry.Means.CARD: PAYMENT_METHOD_CARD_TERMINAL,
}


def _payment_method(sources: Sequence[_Source], nature: str) -> str:
    """The receipt's "mode de versement": none for a renounced sale price; the counter's means
    for a gift recorded there (cash, cheque, the shop's card terminal); else card, online. A
    yearly receipt covering several means names each, in short (the field holds 60 characters)."""
    if nature != NATURE_CASH:
        return PAYMENT_METHOD_NONE
    gift_ids = [source.gift.pk for source in sources if source.gift is not None]
    at_counter = dict(CounterEntry.objects.filter(gift_id__in=gift_ids).values_list("gift_id", "means"))
    methods = list(
        dict.fromkeys(
            COUNTER_PAYMENT_METHODS[at_counter[pk]] if pk in at_counter else PAYMENT_METHOD_CARD for pk in gift_ids
        )
    )
    if len(methods) <= 1:
        return methods[0] if methods else PAYMENT_METHOD_CARD
    short = {PAYMENT_METHOD_CASH: "espèces", PAYMENT_METHOD_CHEQUE: "chèque"}
    words = dict.fromkeys(short.get(method, "carte bancaire") for method in methods)
    return ", ".join(words).capitalize()


def _number_take(*, organisation: Organisation, year: int) -> int:
    """The next sequence of ``organisation`` in ``year``, inside the caller's transaction.

    The counter row is created if missing (INSERT … ON CONFLICT DO NOTHING:
    concurrent first issuers do not fail), then locked. Whoever holds the lock
    takes the next number; the others wait for its commit. A rollback gives
    the number back with the rest, so there is never a gap."""
    ReceiptCounter.objects.bulk_create([ReceiptCounter(organisation=organisation, year=year)], ignore_conflicts=True)
    counter = ReceiptCounter.objects.select_for_update().get(organisation=organisation, year=year)
    ReceiptCounter.objects.filter(pk=counter.pk).update(last_sequence=F("last_sequence") + 1)
    return counter.last_sequence + 1


def _beneficiary_snapshot(organisation: Organisation) -> dict[str, str]:
    regime = REGIME_SENTENCES[Organisation.TaxRegime(organisation.tax_regime)]
    declared = organisation.qualifying_status.strip()
    return {
        "beneficiary_name": organisation.legal_name,
        "beneficiary_address_line1": organisation.address_line1,
        "beneficiary_address_line2": organisation.address_line2,
        "beneficiary_postal_code": organisation.postal_code,
        "beneficiary_city": organisation.city,
        "beneficiary_legal_form": str(Organisation.LegalForm(organisation.legal_form).label),
        "beneficiary_registration": f"SIREN {organisation.siren}" if organisation.siren else f"RNA {organisation.rna}",
        "beneficiary_purpose": organisation.purpose,
        "beneficiary_status": f"{declared} — {regime}" if declared else regime,
        "tax_regime": organisation.tax_regime,
        "signatory_name": organisation.signatory_name,
        "signatory_title": organisation.signatory_title,
        "signature": organisation.signature.name if organisation.signature else "",
    }


def _giver_snapshot(identity: GiverIdentity) -> dict[str, str]:
    return {
        "giver_email": identity.email,
        "giver_last_name": identity.last_name,
        "giver_first_names": identity.first_name,
        "giver_address_line1": identity.address_line1,
        "giver_address_line2": identity.address_line2,
        "giver_postal_code": identity.postal_code,
        "giver_city": identity.city,
        "giver_country": identity.country,
    }


def _wait(*, sources: Sequence[_Source], giver: User | None, email: str, missing: list[str]) -> None:
    """Record what the receipt waits for, and tell the giver once (after commit).

    A guest who gave without asking for a receipt and holds no account ("account"
    missing) is not written to: they asked for nothing, and the success page and
    the thanks email promised nothing. The row is still recorded, so that the
    periodic job retries it after the others; if an account with that email comes
    later without the details, its holder is told then. A seller with several
    items in one basket is told once for that order (one wait per line all the same)."""
    now = timezone.now()
    for source in sources:
        defaults: dict[str, object] = {"giver": giver, "email": email, "missing": missing}
        if source.line is not None:
            # One wait per line (a seller may have several items in one basket), naming its order too.
            defaults["order_id"] = source.line.order_id
            wait, _created = ReceiptWait.objects.update_or_create(order_line=source.line, defaults=defaults)
        else:
            wait, _created = ReceiptWait.objects.update_or_create(gift=source.gift, defaults=defaults)
        if missing == ["account"]:
            continue  # nobody to write to about a receipt they did not ask for (see above)
        if source.line is not None and (
            ReceiptWait.objects.filter(order_id=source.line.order_id, email__iexact=email, notified_at__isnull=False)
            .exclude(pk=wait.pk)
            .exists()
        ):
            # Told already about another item of the same basket: the same email again says nothing new.
            ReceiptWait.objects.filter(pk=wait.pk, notified_at__isnull=True).update(notified_at=now)
            continue
        if ReceiptWait.objects.filter(pk=wait.pk, notified_at__isnull=True).update(notified_at=now):
            task_enqueue(receipt_missing_notify, wait_id=wait.pk)


def _issue(
    *,
    sources: Sequence[_Source],
    organisation: Organisation,
    giver: User | None,
    identity: GiverIdentity | None,
    email: str,
    nature: str,
    period: tuple[date, date] | None = None,
    legal_person: dict[str, str] | None = None,
) -> TaxReceipt | None:
    """Number and record one receipt covering ``sources``, inside the caller's
    transaction (the sources' rows locked by the caller), issued to ``identity``
    (printed) and belonging to ``giver`` (the account, if any). ``None`` when
    the identity lacks a mandatory mention (the receipt waits) or when a source
    is already covered by an issued receipt. ``legal_person``: the receipt's
    form, article, means of payment and the giver's registration, for a
    company or a foundation (``receipt_issue_for_pledge``)."""
    if organisation_missing(organisation):
        # Checked first: a giver is never asked for details a receipt could not carry anyway.
        logger.warning("receipts: organisation %s lacks legal details; receipts wait", organisation.pk)
        return None
    # A legal person has no first name; its caller checked its other mentions (receipt_issue_for_pledge).
    missing = _identity_missing(identity) if legal_person is None else []
    if missing or identity is None:
        _wait(sources=sources, giver=giver, email=email, missing=missing)
        return None
    gift_ids = [source.gift.pk for source in sources if source.gift is not None]
    line_ids = [source.line.pk for source in sources if source.line is not None]
    pledge_ids = [source.pledge.pk for source in sources if source.pledge is not None]
    covered = Q(gift_id__in=gift_ids) | Q(order_line_id__in=line_ids) | Q(pledge_id__in=pledge_ids)
    previous = TaxReceiptLine.objects.filter(covered).order_by("-receipt_id").values_list("receipt_id", flat=True)
    replaces_id = previous.first()
    person = dict(legal_person or {})
    # A partner's receipt says how the partner paid; else the counter's means, or card online.
    payment_method = person.pop("payment_method", None) or _payment_method(sources, nature)
    now = timezone.now()
    year = timezone.localtime(now).year
    try:
        with transaction.atomic():
            sequence = _number_take(organisation=organisation, year=year)
            receipt = TaxReceipt.objects.create(
                organisation=organisation,
                year=year,
                sequence=sequence,
                number=f"{year}-{sequence:06d}",
                giver=giver,
                amount_cents=sum(source.amount_cents for source in sources),
                payment_date=None if period else sources[0].paid_on,
                period_start=period[0] if period else None,
                period_end=period[1] if period else None,
                payment_method=payment_method,
                nature=nature,
                consolidated=period is not None,
                replaces_id=replaces_id,
                issued_at=now,
                **{**_giver_snapshot(identity), **_beneficiary_snapshot(organisation), **person},
            )
            TaxReceiptLine.objects.bulk_create(
                [
                    TaxReceiptLine(
                        receipt=receipt,
                        gift=source.gift,
                        order_id=source.line.order_id if source.line is not None else None,
                        order_line=source.line,
                        pledge=source.pledge,
                        amount_cents=source.amount_cents,
                        paid_on=source.paid_on,
                    )
                    for source in sources
                ]
            )
    except IntegrityError:
        # The savepoint gives the number back. Expected: a source already covered by an
        # issued receipt (the partial unique constraints on lines). Not expected: the
        # number itself already taken (a counter behind its receipts), which would
        # otherwise leave every later payment of the year unreceipted without a word.
        if TaxReceiptLine.objects.filter(covered, active=True).exists():
            logger.info(
                "receipts: gifts %s, order lines %s, pledges %s already receipted", gift_ids, line_ids, pledge_ids
            )
        else:
            logger.error(
                "receipts: a number of organisation %s in %s is already taken (counter behind its receipts?); "
                "gifts %s, order lines %s not receipted",
                organisation.pk,
                year,
                gift_ids,
                line_ids,
            )
        return None
    ReceiptWait.objects.filter(Q(gift_id__in=gift_ids) | Q(order_line_id__in=line_ids)).delete()
    task_enqueue(receipt_deliver, receipt_id=receipt.pk)
    return receipt


@task(timeout=120)
def receipt_issue_for_gift(*, gift_id: int) -> TaxReceipt | None:
    """Issue the receipt of one paid gift, unless it is not due (refunded,
    disputed, already receipted, receipted yearly) or waits for its giver's details."""
    with transaction.atomic():
        gift = (
            Gift.objects.select_for_update(of=("self",))
            .select_related("campaign__organisation", "user")
            .get(pk=gift_id)
        )
        source = _gift_source(gift)
        if source is None:
            return None
        giver = _giver_of_gift(gift)
        organisation = gift.campaign.organisation
        if _gift_yearly(gift, giver):
            return None
        return _issue(
            sources=[source],
            organisation=organisation,
            giver=giver,
            identity=_identity_for_gift(gift, giver),
            email=gift.email,
            nature=NATURE_CASH,
        )


def _partner_identity(partner: Partner) -> GiverIdentity:
    """A company or a foundation as its receipt prints it: its legal name, no first name."""
    return GiverIdentity(
        email=partner.contact_email,
        first_name="",
        last_name=partner.legal_name,
        address_line1=partner.address_line1,
        address_line2=partner.address_line2,
        postal_code=partner.postal_code,
        city=partner.city,
        country=partner.country or "FR",
    )


def partner_receipt_form(partner: Partner) -> dict[str, str]:
    """What the partner's status calls for: a company, Cerfa n° 16216 (article 238 bis of
    the CGI); a foundation or an association, the usual Cerfa n° 11580, with article 238 bis
    ticked (a legal person's gift: article 200 is for individuals)."""
    return {
        "form": FORM_COMPANY if partner.kind == Partner.Kind.COMPANY else FORM_GENERAL,
        "article": "238 bis",
        "giver_registration": f"SIREN {partner.siren}" if partner.siren else "",
        "giver_legal_form": partner.legal_form,
    }


@task(timeout=120)
def receipt_issue_for_pledge(*, pledge_id: int) -> TaxReceipt | None:
    """Issue the receipt of a partner's payment of its pledge, once recorded
    (checkout.services.pledges.pledge_settle), on the organisation's one counter;
    dated the day the organisation received it, for the amount received. None if the
    pledge is not settled, already receipted, or the organisation lacks legal details
    (the periodic job retries then)."""
    with transaction.atomic():
        pledge = (
            Pledge.objects.select_for_update(of=("self",))
            .select_related("partner", "campaign__organisation")
            .get(pk=pledge_id)
        )
        if pledge.status != Pledge.Status.SETTLED or not pledge.received_cents or pledge.received_on is None:
            return None
        organisation = pledge.campaign.organisation
        identity = _partner_identity(pledge.partner)
        missing = _identity_missing(dataclass_replace(identity, first_name="-"))
        if missing:
            # A partner is entered whole by its form; this would be a row edited by hand.
            logger.error(
                "receipts: partner %s lacks %s; pledge %s not receipted", pledge.partner_id, missing, pledge.pk
            )
            return None
        legal_person = partner_receipt_form(pledge.partner)
        legal_person["payment_method"] = PLEDGE_MEANS[pledge.received_means]
        # A legal person's gift opens the reduction of article 238 bis, not that of article 200
        # (individuals' 66 % or 75 %): the beneficiary's status says so.
        declared = organisation.qualifying_status.strip()
        general_interest = "Œuvre ou organisme d'intérêt général (article 238 bis, 1 a du CGI)"
        legal_person["beneficiary_status"] = f"{declared} — {general_interest}" if declared else general_interest
        return _issue(
            sources=[_Source(None, None, pledge.received_cents, pledge.received_on, organisation.pk, pledge=pledge)],
            organisation=organisation,
            giver=None,
            identity=identity,
            email=pledge.partner.contact_email,
            nature=NATURE_CASH,
            legal_person=legal_person,
        )


def _lines_locked(line_ids: Iterable[int]) -> list[OrderLine]:
    """Lock the orders of ``line_ids`` then the lines themselves, each in primary-key order
    (the lock order of this module), inside the caller's transaction; the lines come back
    in primary-key order with what a source needs (order, fulfilment, campaign, item, seller)."""
    line_ids = sorted(set(line_ids))
    order_ids = sorted(set(OrderLine.objects.filter(pk__in=line_ids).values_list("order_id", flat=True)))
    list(Order.objects.select_for_update().filter(pk__in=order_ids).order_by("pk").values_list("pk", flat=True))
    return list(
        OrderLine.objects.select_for_update(of=("self",))
        .select_related("order", "fulfilment", "campaign__organisation", "item__owner")
        .filter(pk__in=line_ids)
        .order_by("pk")
    )


def receipt_issue_for_order_line(*, line_id: int, now: datetime | None = None) -> TaxReceipt | None:
    """Issue the SELLER's receipt for the price of one item whose sale is final
    (the buyer is never receipted): the line of the order that sold it."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lines_locked([line_id])
        if not locked:
            return None
        line = locked[0]
        source = _line_source(line, now=now)
        if source is None:
            return None
        seller = line.item.owner
        organisation = line.campaign.organisation
        if _wants_consolidated(giver=seller, organisation=organisation):
            return None
        return _issue(
            sources=[source],
            organisation=organisation,
            giver=seller,
            identity=_identity_of_user(seller) if seller else None,
            email=seller.email if seller else "",
            nature=NATURE_WAIVED_PROCEEDS,
        )


@task(timeout=240)
def receipts_issue_due(*, limit: int = 200) -> int:
    """Periodic job (settings.PERIODIC_JOBS): issue what is due (gifts paid,
    sales final, payments whose receipt was cancelled and are due again),
    and retry waiting ones. Delivery (PDF, email) is each receipt's own task,
    recorded with it (receipt_deliver)."""
    now = timezone.now()
    issued = 0
    # Yearly receipts are not issued one by one; payments waiting for their giver
    # come after the others, so that many waiting ones never starve new ones.
    gifts = gifts_due_receipt().exclude(campaign__organisation__receipts_consolidated=True)
    gifts = gifts.exclude(user__receipt_preference__consolidated=True).filter(recurring__isnull=True)
    for due_gifts in (gifts.filter(receipt_wait__isnull=True), gifts.filter(receipt_wait__isnull=False)):
        for gift_id in due_gifts.order_by("id").values_list("id", flat=True)[:limit]:
            issued += _safely(partial(receipt_issue_for_gift, gift_id=gift_id))
    lines = lines_due_receipt(now=now).exclude(campaign__organisation__receipts_consolidated=True)
    lines = lines.exclude(item__owner__receipt_preference__consolidated=True)
    for due_lines in (lines.filter(receipt_wait__isnull=True), lines.filter(receipt_wait__isnull=False)):
        for line_id in due_lines.order_by("id").values_list("id", flat=True)[:limit]:
            issued += _safely(partial(receipt_issue_for_order_line, line_id=line_id, now=now))
    for pledge_id in pledges_due_receipt().order_by("id").values_list("id", flat=True)[:limit]:
        issued += _safely(partial(receipt_issue_for_pledge, pledge_id=pledge_id))
    return issued


def _safely(job: Callable[[], object]) -> int:
    """One payment's (or line's) failure must not stop the others: log it; the next run retries."""
    try:
        return int(job() is not None)
    except Exception:
        logger.exception("receipts: job step failed")
        return 0


def receipts_issue_consolidated(*, year: int, organisation_id: int | None = None) -> list[TaxReceipt]:
    """One receipt per giver and organisation for the gifts and the items sold
    (lines of orders) paid in ``year`` that are receipted yearly (the
    organisation's or the giver's choice) and not receipted yet: a seller's
    items sold in several baskets, for one organisation, are summed on one receipt. Run in January for the past year
    (``manage.py receipts_consolidate --year``); running it again issues only what is new."""
    now = timezone.now()
    start, end = date(year, 1, 1), date(year, 12, 31)
    gifts = gifts_due_receipt().filter(paid_at__year=year)
    lines = lines_due_receipt(now=now).filter(order__paid_at__year=year)
    if organisation_id is not None:
        gifts = gifts.filter(campaign__organisation_id=organisation_id)
        lines = lines.filter(campaign__organisation_id=organisation_id)
    # One receipt per organisation, giver, email, nature, and typed details: the gifts a
    # guest made with the same email AND the same details are summed on one receipt;
    # different details (another name or address) mean another receipt, since one
    # receipt is issued to one identity. Money gifts and renounced sale prices are
    # never summed together: each receipt states one nature (receipts.document.GIFT_NATURES).
    groups: dict[_Group, list[tuple[str, int]]] = {}
    for gift in gifts.select_related("campaign__organisation", "user").order_by("id"):
        giver = _giver_of_gift(gift)
        if not _gift_yearly(gift, giver):
            continue
        details = _identity_of_gift(gift) if gift.receipt_requested else None
        giver_id = giver.pk if giver else None
        key = _Group(gift.campaign.organisation_id, giver_id, gift.email.lower(), NATURE_CASH, details)
        groups.setdefault(key, []).append(("gift", gift.pk))
    for line in lines.select_related("campaign__organisation", "item__owner").order_by("id"):
        seller = line.item.owner
        if seller is None or not _wants_consolidated(giver=seller, organisation=line.campaign.organisation):
            continue
        key = _Group(line.campaign.organisation_id, seller.pk, seller.email.lower(), NATURE_WAIVED_PROCEEDS, None)
        groups.setdefault(key, []).append(("line", line.pk))
    receipts = []
    for group, refs in groups.items():
        receipt = _issue_consolidated(group=group, refs=refs, period=(start, end), now=now)
        if receipt is not None:
            receipts.append(receipt)
    return receipts


@dataclass(frozen=True)
class _Group:
    """The payments one consolidated receipt covers: one organisation, giver, nature and identity."""

    organisation_id: int
    giver_id: int | None
    email: str
    nature: str
    details: GiverIdentity | None  # typed with the gifts; None: the account's profile at issuing


def _issue_consolidated(
    *,
    group: _Group,
    refs: Iterable[tuple[str, int]],
    period: tuple[date, date],
    now: datetime,
) -> TaxReceipt | None:
    refs = list(refs)
    with transaction.atomic():
        # Gifts, then orders, then lines, each in primary-key order: the lock order of this module.
        gifts = (
            Gift.objects.select_for_update()
            .select_related("campaign")
            .filter(pk__in=[pk for kind, pk in refs if kind == "gift"])
        )
        sources = [source for gift in gifts.order_by("pk") if (source := _gift_source(gift)) is not None]
        lines = _lines_locked(pk for kind, pk in refs if kind == "line")
        sources += [source for line in lines if (source := _line_source(line, now=now)) is not None]
        if not sources:
            return None
        organisation = Organisation.objects.get(pk=group.organisation_id)
        giver = User.objects.filter(pk=group.giver_id).first() if group.giver_id else None
        identity = group.details or (_identity_of_user(giver) if giver is not None else None)
        return _issue(
            sources=sources,
            organisation=organisation,
            giver=giver,
            identity=identity,
            email=group.email,
            nature=group.nature,
            period=period,
        )
