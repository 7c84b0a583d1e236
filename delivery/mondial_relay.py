"""Mondial Relay, a real carrier behind ``delivery.carriers.Carrier``: its SOAP
web service (``https://api.mondialrelay.com/Web_Services.asmx``) for relay-point
search (``WSI4_PointRelais_Recherche``), labels (``WSI2_CreationEtiquette``) and
tracking (``WSI2_TracingColisDetaille``). The request and answer shapes, the
status codes and the ``Security`` hash follow Mondial Relay's WSDL and the
client of akretion/roulier (AGPL, used by Odoo's delivery modules):
``roulier/carriers/mondialrelay/encoder.py``, ``…/mondialrelay_fr/schema.py``,
``…/constants.py`` and the recorded exchanges in ``…/mondialrelay_fr/tests/cassettes/``.

Three things this carrier does not do, and what we do instead:
- it has no price call (prices are the shipper's contract): ``quote_cents`` reads
  the tariff grid configured in MONDIAL_RELAY_TARIFF_RELAY / _HOME;
- it pushes no tracking: ``shipments_track`` (delivery.services, a periodic job)
  asks it about each parcel, and ``tracking_parse`` refuses every call;
- its label answer is a URL on its site: we fetch the 10×15 PDF from there.

Every call has a timeout; a network failure, an HTTP error, an answer that is not
its XML or a refusal (``STAT`` other than 0) is a ``CarrierError``. The XML is
read with defusedxml (no entities, no external references)."""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit
from xml.etree.ElementTree import Element  # types only: parsing is defusedxml's
from xml.sax.saxutils import escape  # writing, not parsing

import httpx
from defusedxml import ElementTree as SafeElementTree
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from delivery.carriers import (
    DELIVERED,
    HOME,
    IN_TRANSIT,
    RELAY,
    RETURNED,
    CarrierError,
    Label,
    ParcelRequest,
    RelayPoint,
    TrackingRefused,
    TrackingUpdate,
)
from delivery.models import Shipment

logger = logging.getLogger(__name__)

NAME = "mondialrelay"
NS = "http://www.mondialrelay.fr/webservice/"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
COUNTRY = "FR"
# ``ModeLiv``: "24R" a relay point, "HOM" the recipient's home. ``ModeCol`` "REL" with ``COL_Rel`` "AUTO":
# the sender drops the parcel at any relay point (a private giver or an organisation alike).
MODE_DELIVERY = {RELAY: "24R", HOME: "HOM"}
# ``STAT`` of a tracing answer (roulier's constants.py): 80 registered, 81 on its way, 82 delivered, 83 anomaly.
TRACING_REGISTERED, TRACING_MOVING, TRACING_DELIVERED, TRACING_ANOMALY = "80", "81", "82", "83"
# ``STAT`` of an unknown relay point (70 "Numéro de Point Relais invalide") or parcel (24, 94).
UNKNOWN_RELAY_POINT = {"70"}
DAYS = (
    ("Lundi", "lun."),
    ("Mardi", "mar."),
    ("Mercredi", "mer."),
    ("Jeudi", "jeu."),
    ("Vendredi", "ven."),
    ("Samedi", "sam."),
    ("Dimanche", "dim."),
)
# How long each field may be, as Mondial Relay's web service checks them (addresses 32, town 26, email 70).
FIELD_MAX = {"Ad1": 32, "Ad2": 32, "Ad3": 32, "Ad4": 32, "Ville": 26, "Mail": 70, "Tel1": 20, "NDossier": 15}
RELAY_POINT_ID = re.compile(r"(?P<country>[A-Z]{2})-(?P<number>[0-9]{6})")


@dataclass(frozen=True)
class MondialRelayConfig:
    enseigne: str  # the shipper's account ("code enseigne"), e.g. BDTEST13 for Mondial Relay's test account
    private_key: str
    api_url: str
    label_base_url: str
    timeout_seconds: float
    tariff: dict[str, tuple[tuple[int, int], ...]]
    sender_phone: str

    @classmethod
    def from_settings(cls) -> MondialRelayConfig:
        return cls(
            enseigne=settings.MONDIAL_RELAY_ENSEIGNE,
            private_key=settings.MONDIAL_RELAY_PRIVATE_KEY,
            api_url=settings.MONDIAL_RELAY_API_URL,
            label_base_url=settings.MONDIAL_RELAY_LABEL_BASE_URL,
            timeout_seconds=settings.MONDIAL_RELAY_TIMEOUT_SECONDS,
            tariff={RELAY: settings.MONDIAL_RELAY_TARIFF_RELAY, HOME: settings.MONDIAL_RELAY_TARIFF_HOME},
            sender_phone=settings.MONDIAL_RELAY_SENDER_PHONE,
        )


def plain(value: str, field: str = "") -> str:
    """What Mondial Relay accepts in a field: no accents (its hash is computed on ISO-8859-1 text),
    no control characters, upper case, within the field's length."""
    decomposed = unicodedata.normalize("NFD", value)
    text = "".join(c for c in decomposed if unicodedata.category(c) != "Mn" and c.isprintable())
    text = " ".join(text.encode("latin-1", "ignore").decode("latin-1").split())
    kind = field.split("_", 1)[-1]
    text = text.lower() if kind == "Mail" else text.upper()
    limit = FIELD_MAX.get(kind, 0)
    return text[:limit] if limit else text


def security(values: list[str], private_key: str) -> str:
    """Mondial Relay's ``Security``: the MD5, in upper-case hexadecimal, of the values sent (in the
    WSDL's order) followed by the private key, as ISO-8859-1 (roulier's encoder.py: "and not utf-8")."""
    digest = hashlib.md5(("".join(values) + private_key).encode("latin-1"), usedforsecurity=False)
    return digest.hexdigest().upper()


def _text(element: Element | None, tag: str) -> str:
    found = element.find(f"{{{NS}}}{tag}") if element is not None else None
    return (found.text or "").strip() if found is not None else ""


class MondialRelay:
    name = NAME

    def __init__(self, config: MondialRelayConfig | None = None, *, transport: httpx.BaseTransport | None = None):
        self.config = config or MondialRelayConfig.from_settings()
        self._transport = transport

    # --- the web service ----------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        return httpx.Client(timeout=self.config.timeout_seconds, transport=self._transport, follow_redirects=False)

    def _call(self, action: str, parameters: list[tuple[str, str]]) -> tuple[str, Element]:
        """Call ``action`` with ``parameters`` (in the WSDL's order; empty ones left out, as roulier
        does) and return its ``STAT`` and its result element."""
        sent = [("Enseigne", self.config.enseigne)] + [(key, value) for key, value in parameters if value != ""]
        sent.append(("Security", security([value for _key, value in sent], self.config.private_key)))
        fields = "".join(f"<{key}>{escape(value)}</{key}>" for key, value in sent)
        body = (
            "<?xml version='1.0' encoding='utf-8'?>"
            f'<soap-env:Envelope xmlns:soap-env="{SOAP_NS}" xmlns="{NS}">'
            f"<soap-env:Body><{action}>{fields}</{action}></soap-env:Body></soap-env:Envelope>"
        )
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}{action}"'}
        try:
            with self._client() as client:
                response = client.post(self.config.api_url, content=body.encode("utf-8"), headers=headers)
        except httpx.HTTPError as error:
            raise CarrierError(f"{action}: {type(error).__name__}") from error
        if response.status_code != 200:
            raise CarrierError(f"{action}: HTTP {response.status_code}")
        try:
            root = SafeElementTree.fromstring(response.content)
        except Exception as error:  # defusedxml's refusals and ParseError alike: not its answer
            raise CarrierError(f"{action}: unreadable answer ({type(error).__name__})") from None
        result = root.find(f".//{{{NS}}}{action}Result")
        if result is None:
            raise CarrierError(f"{action}: no {action}Result in the answer")
        return _text(result, "STAT"), result

    # --- the Carrier interface ----------------------------------------------------------------

    def quote_cents(self, *, method: str, weight_grams: int, origin_postal_code: str, postal_code: str) -> int:
        for up_to, cents in self.config.tariff.get(method, ()):
            if weight_grams <= up_to:
                return cents
        raise CarrierError(f"no {method} tariff for {weight_grams} g")

    def _relay_points(self, parameters: list[tuple[str, str]]) -> list[RelayPoint]:
        stat, result = self._call("WSI4_PointRelais_Recherche", [("Pays", COUNTRY), *parameters])
        if stat in UNKNOWN_RELAY_POINT:
            return []
        if stat != "0":
            raise CarrierError(f"WSI4_PointRelais_Recherche: STAT {stat}")
        points = []
        for detail in result.iter(f"{{{NS}}}PointRelais_Details"):
            number, country = _text(detail, "Num"), _text(detail, "Pays") or COUNTRY
            if not number:
                continue
            points.append(
                RelayPoint(
                    id=f"{country}-{number}",
                    name=" ".join(filter(None, (_text(detail, "LgAdr1"), _text(detail, "LgAdr2")))),
                    address_line1=" ".join(filter(None, (_text(detail, "LgAdr3"), _text(detail, "LgAdr4")))),
                    postal_code=_text(detail, "CP"),
                    city=_text(detail, "Ville"),
                    carrier=NAME,
                    hours=_hours(detail),
                )
            )
        return points

    def relay_points(self, *, postal_code: str, limit: int = 20) -> list[RelayPoint]:
        # NumPointRelais, Ville come before CP in the WSDL; NombreResultats last (at most 30).
        return self._relay_points([("CP", postal_code), ("NombreResultats", str(max(1, min(limit, 30))))])[:limit]

    def relay_point(self, relay_point_id: str) -> RelayPoint | None:
        match = RELAY_POINT_ID.fullmatch(relay_point_id)
        if match is None or match["country"] != COUNTRY:
            return None
        found = self._relay_points([("NumPointRelais", match["number"])])
        return next((point for point in found if point.id == relay_point_id), None)

    def label_create(self, parcel: ParcelRequest) -> Label:
        """Register the parcel (``WSI2_CreationEtiquette``) and fetch its 10×15 label. A parcel
        already registered under the same reference gets its label again, not a second shipment."""
        known = Shipment.objects.filter(carrier=NAME, reference=parcel.reference).first()
        if known is not None:
            return Label(carrier=NAME, tracking_number=known.tracking_number, pdf=self._label_pdf(known.label_url))
        stat, result = self._call("WSI2_CreationEtiquette", self._label_parameters(parcel))
        if stat != "0":
            raise CarrierError(f"WSI2_CreationEtiquette: STAT {stat}")
        number, url = _text(result, "ExpeditionNum"), _text(result, "URL_Etiquette")
        if not number.isdigit() or not url.startswith("/"):
            raise CarrierError("WSI2_CreationEtiquette: no parcel number or label in the answer")
        label_url = self._label_url(url)
        try:
            with transaction.atomic():
                Shipment.objects.create(
                    carrier=NAME,
                    reference=parcel.reference,
                    tracking_number=number,
                    method=parcel.method,
                    weight_grams=parcel.weight_grams,
                    label_url=label_url,
                )
        except IntegrityError:
            # The same parcel labelled twice at once: the first one recorded is the one we keep
            # (the other number is never handed over, so never dropped off, never charged).
            known = Shipment.objects.get(carrier=NAME, reference=parcel.reference)
            number, label_url = known.tracking_number, known.label_url
        return Label(carrier=NAME, tracking_number=number, pdf=self._label_pdf(label_url))

    def _label_parameters(self, parcel: ParcelRequest) -> list[tuple[str, str]]:
        if parcel.weight_grams <= 0 or not parcel.reference:
            raise CarrierError("a parcel needs a reference and a weight")
        if parcel.method not in MODE_DELIVERY:
            raise CarrierError(f"no {parcel.method!r} delivery")
        sender = parcel.sender
        if parcel.method == RELAY:
            relay = RELAY_POINT_ID.fullmatch(parcel.relay_point_id)
            if relay is None:
                raise CarrierError(f"not a Mondial Relay point: {parcel.relay_point_id!r}")
            point = self.relay_point(parcel.relay_point_id)
            if point is None:
                raise CarrierError(f"unknown relay point {parcel.relay_point_id!r}")
            # The recipient's address is the relay point's: no buyer's home address is needed, nor sent.
            destination = (point.address_line1, "", point.postal_code, point.city, relay["country"])
            relay_fields = [("LIV_Rel_Pays", relay["country"]), ("LIV_Rel", relay["number"])]
        else:
            home = parcel.recipient
            if home is None:
                raise CarrierError("a home parcel needs an address")
            destination = (home.address_line1, home.address_line2, home.postal_code, home.city, home.country)
            relay_fields = []
        reference = re.sub(r"[^0-9A-Z_ -]", "", parcel.reference.upper().replace(".", "-"))
        fields = [
            ("ModeCol", "REL"),
            ("ModeLiv", MODE_DELIVERY[parcel.method]),
            ("NDossier", reference),
            ("Expe_Langage", "FR"),
            ("Expe_Ad1", sender.name),
            ("Expe_Ad3", sender.address_line1),
            ("Expe_Ad4", sender.address_line2),
            ("Expe_Ville", sender.city),
            ("Expe_CP", sender.postal_code),
            ("Expe_Pays", sender.country),
            ("Expe_Tel1", sender.phone or self.config.sender_phone),
            ("Dest_Langage", "FR"),
            ("Dest_Ad1", parcel.recipient_name),
            ("Dest_Ad3", destination[0]),
            ("Dest_Ad4", destination[1]),
            ("Dest_Ville", destination[3]),
            ("Dest_CP", destination[2]),
            ("Dest_Pays", destination[4]),
            ("Dest_Mail", parcel.recipient_email),
            ("Poids", str(parcel.weight_grams)),
            ("NbColis", "1"),
            ("CRT_Valeur", "0"),
            ("CRT_Devise", "EUR"),
            ("Exp_Devise", "EUR"),
            ("COL_Rel_Pays", COUNTRY),
            ("COL_Rel", "AUTO"),
            *relay_fields,
        ]
        return [(key, plain(value, key) if not value.isdigit() else value) for key, value in fields]

    def _label_url(self, path: str) -> str:
        """The label's address on Mondial Relay's site, in the 10×15 format (its ``format`` parameter:
        A4, A5 or 10x15), and only ever on that site: the answer's path never names another host."""
        parts = urlsplit(urljoin(self.config.label_base_url, path))
        base = urlsplit(self.config.label_base_url)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            raise CarrierError("label URL outside the carrier's site")
        query = [(key, "10x15" if key.lower() == "format" else value) for key, value in parse_qsl(parts.query)]
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))

    def _label_pdf(self, url: str) -> bytes:
        try:
            with self._client() as client:
                response = client.get(url)
        except httpx.HTTPError as error:
            raise CarrierError(f"label: {type(error).__name__}") from error
        if response.status_code != 200 or not response.content.startswith(b"%PDF"):
            raise CarrierError(f"label: HTTP {response.status_code}, not a PDF")
        return response.content

    def tracking_fetch(self, tracking_number: str) -> TrackingUpdate | None:
        """Ask ``WSI2_TracingColisDetaille`` about one parcel. Its ``STAT`` is the parcel's state:
        81 on its way, 82 delivered; 83 (an anomaly) is a return when its last step says so
        ("retour"); 80 (registered, not dropped off yet) and other anomalies report nothing."""
        if not tracking_number.isdigit():
            raise CarrierError(f"not a Mondial Relay parcel number: {tracking_number!r}")
        stat, result = self._call("WSI2_TracingColisDetaille", [("Expedition", tracking_number), ("Langue", "FR")])
        steps = [
            {key: _text(step, key) for key in ("Libelle", "Date", "Heure", "Emplacement", "Relais_Num")}
            for step in result.iter(f"{{{NS}}}ret_WSI2_sub_TracingColisDetaille")
        ]
        steps = [step for step in steps if step["Libelle"]]
        if stat == TRACING_MOVING:
            status = IN_TRANSIT
        elif stat == TRACING_DELIVERED:
            status = DELIVERED
        elif stat == TRACING_ANOMALY and steps and "RETOUR" in plain(steps[-1]["Libelle"]):
            status = RETURNED
        elif stat in (TRACING_REGISTERED, TRACING_ANOMALY):
            return None
        else:
            raise CarrierError(f"WSI2_TracingColisDetaille: STAT {stat}")
        payload: dict[str, Any] = {"stat": stat, "label": _text(result, "Libelle01"), "steps": steps[-10:]}
        # One event per parcel and status: seen again on the next poll, it is the same event (recorded once).
        return TrackingUpdate(
            carrier=NAME,
            event_id=f"{tracking_number}:{status}",
            tracking_number=tracking_number,
            status=status,
            payload=payload,
        )

    def tracking_parse(self, request: HttpRequest) -> list[TrackingUpdate]:
        raise TrackingRefused("Mondial Relay pushes no tracking: it is polled (delivery.services.shipments_track)")


def _hours(detail: Element) -> tuple[str, ...]:
    """``("lun. 09:00–12:30, 14:00–18:30", …)`` from ``Horaires_Lundi`` … (pairs of HHMM; 0000 closed)."""
    lines = []
    for tag, short in DAYS:
        day = detail.find(f"{{{NS}}}Horaires_{tag}")
        times = [(node.text or "").strip() for node in day.iter(f"{{{NS}}}string")] if day is not None else []
        slots = [
            f"{start[:2]}:{start[2:]}–{end[:2]}:{end[2:]}"
            for start, end in zip(times[::2], times[1::2], strict=False)
            if start.isdigit() and end.isdigit() and len(start) == len(end) == 4 and start != "0000" and end != "0000"
        ]
        if slots:
            lines.append(f"{short} {', '.join(slots)}")
    return tuple(lines)
