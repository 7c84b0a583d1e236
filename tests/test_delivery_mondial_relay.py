"""Mondial Relay's client (delivery/mondial_relay.py) against a local fake of its
web service, a thread on 127.0.0.1 that answers with Mondial Relay's own shapes:

- the relay-point search answer is the one recorded from the real service in
  akretion/roulier, ``roulier/carriers/mondialrelay_fr/tests/cassettes/
  test_mondialrelay/test_mondialrelay_search_pickup_site.yaml`` (kept verbatim in
  tests/support/mondial_relay_search.xml);
- the label answer is the shape recorded in ``…/test_mondialrelay_label.yaml``
  (``STAT``, ``ExpeditionNum``, ``URL_Etiquette`` on www.mondialrelay.com);
- the tracing answer follows the WSDL recorded in the same cassettes
  (``ret_WSI2_TracingColisDetaille``: ``STAT``, ``Libelle01``, ``Relais_Libelle``,
  ``Relais_Num``, ``Libelle02``, ``Tracing`` of ``ret_WSI2_sub_TracingColisDetaille``),
  its codes from ``roulier/carriers/mondialrelay/statuses.py`` (80–83);
- the fake checks the ``Security`` hash as roulier's ``encoder.py`` computes it
  (MD5 of the values in order, then the private key, ISO-8859-1, upper case) and
  answers STAT 97 ("Clé de sécurité invalide") to a wrong one.

Asserted: what we send (account, weights, origin and destination postal codes, relay
id, the hash), how we read the answers, and that a server down, slow or answering
garbage is a CarrierError — a 503 at the API, never a 500."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient

from delivery import events
from delivery.carriers import (
    HOME,
    RELAY,
    Address,
    CarrierError,
    ParcelRequest,
    TrackingRefused,
    TrackingUpdate,
    carrier,
)
from delivery.models import Shipment, TrackingEvent
from delivery.mondial_relay import MondialRelay, MondialRelayConfig, plain, security
from delivery.services import shipments_track
from tests.components import free_port

pytestmark = pytest.mark.django_db

NS = "http://www.mondialrelay.fr/webservice/"
ENSEIGNE, KEY = "BDTEST13", "PrivateK"  # Mondial Relay's public test account, as roulier's tests use it
SEARCH_ANSWER = (Path(__file__).parent / "support" / "mondial_relay_search.xml").read_text()
LABEL_PATH = "/ww2/PDF/StickerMaker2.aspx"
PDF = b"%PDF-1.4\n% a label\n"


def envelope(action: str, inner: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        f'<soap:Body><{action}Response xmlns="{NS}"><{action}Result>{inner}</{action}Result>'
        f"</{action}Response></soap:Body></soap:Envelope>"
    )


@dataclass
class FakeMondialRelay:
    """What the fake received, and how it answers (``mode``: ok, slow, garbage, error, bomb)."""

    port: int
    mode: str = "ok"
    calls: list[dict[str, Any]] = field(default_factory=list)
    label_gets: list[dict[str, list[str]]] = field(default_factory=list)
    # Tracing answers by parcel number: (STAT, last step's Libelle).
    tracing: dict[str, tuple[str, str]] = field(default_factory=dict)
    next_expedition: int = 50554859

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self, timeout: float = 2.0) -> MondialRelayConfig:
        return MondialRelayConfig(
            enseigne=ENSEIGNE,
            private_key=KEY,
            api_url=f"{self.url}/Web_Services.asmx",
            label_base_url=self.url,
            timeout_seconds=timeout,
            tariff={RELAY: ((500, 450), (1_000, 520), (30_000, 2_690)), HOME: ((30_000, 3_490),)},
            sender_phone="+33482538457",
        )

    def answer(self, action: str, fields: dict[str, str]) -> str:
        if action == "WSI4_PointRelais_Recherche":
            if "NumPointRelais" not in fields:
                return SEARCH_ANSWER
            wanted = f"<Num>{fields['NumPointRelais']}</Num>"
            points = [p for p in SEARCH_ANSWER.split("<PointRelais_Details>")[1:] if wanted in p]
            inner = "".join("<PointRelais_Details>" + p.split("</PointsRelais>")[0] for p in points)
            return envelope(action, f"<STAT>0</STAT><PointsRelais>{inner}</PointsRelais>")
        if action == "WSI2_CreationEtiquette":
            number = str(self.next_expedition)
            self.next_expedition += 1
            url = f"{LABEL_PATH}?ens=BDTEST1311&amp;expedition={number}&amp;lg=FR&amp;format=A4&amp;crc=C4530F96"
            return envelope(
                action, f"<STAT>0</STAT><ExpeditionNum>{number}</ExpeditionNum><URL_Etiquette>{url}</URL_Etiquette>"
            )
        if action == "WSI2_TracingColisDetaille":
            stat, last = self.tracing.get(fields.get("Expedition", ""), ("94", ""))  # 94: "Colis Inexistant"
            steps = (
                "<ret_WSI2_sub_TracingColisDetaille><Libelle>PRISE EN CHARGE EN AGENCE</Libelle><Date>02/12/2026</Date>"
                "<Heure>09:12</Heure><Emplacement>LYON</Emplacement><Relais_Num /><Relais_Pays />"
                "</ret_WSI2_sub_TracingColisDetaille>"
                f"<ret_WSI2_sub_TracingColisDetaille><Libelle>{last}</Libelle><Date>03/12/2026</Date><Heure>14:40</Heure>"
                "<Emplacement>PARIS</Emplacement><Relais_Num>030613</Relais_Num><Relais_Pays>FR</Relais_Pays>"
                "</ret_WSI2_sub_TracingColisDetaille>"
            )
            return envelope(
                action,
                f"<STAT>{stat}</STAT><Libelle01>Suivi de votre colis</Libelle01><Relais_Libelle>ENI</Relais_Libelle>"
                f"<Relais_Num>030613</Relais_Num><Libelle02 /><Tracing>{steps}</Tracing>",
            )
        return envelope(action, "<STAT>99</STAT>")


@pytest.fixture
def fake() -> Iterator[FakeMondialRelay]:
    state = FakeMondialRelay(port=0)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != LABEL_PATH:
                return self._send(404, b"", "text/plain")
            state.label_gets.append(parse_qs(parts.query))
            self._send(200, PDF, "application/pdf")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state.mode == "slow":
                time.sleep(1.5)
            if state.mode == "error":
                return self._send(500, b"Server Error", "text/html")
            if state.mode == "garbage":
                return self._send(200, b"<html><body>Maintenance</body>", "text/html")
            if state.mode == "bomb":
                bomb = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
                bomb += b'<!ENTITY b "&a;&a;&a;&a;&a;">]><l>&b;</l>'
                return self._send(200, bomb, "text/xml")
            root = ElementTree.fromstring(body)
            call = next(iter(root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")))
            action = call.tag.removeprefix(f"{{{NS}}}")
            fields = {child.tag.removeprefix(f"{{{NS}}}"): child.text or "" for child in call}
            state.calls.append({"action": action, "fields": fields, "soap_action": self.headers["SOAPAction"]})
            signed = [value for name, value in fields.items() if name != "Security"]
            expected = hashlib.md5(("".join(signed) + KEY).encode("latin-1")).hexdigest().upper()
            if fields.get("Enseigne") != ENSEIGNE or fields.get("Security") != expected:
                answer = envelope(action, "<STAT>97</STAT>")  # "Clé de sécurité invalide"
            else:
                answer = state.answer(action, fields)
            self._send(200, answer.encode("utf-8"), "text/xml; charset=utf-8")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def received() -> Iterator[list[TrackingUpdate]]:
    previous = list(events._receiver)
    seen: list[TrackingUpdate] = []

    def receive(update: TrackingUpdate) -> bool:
        seen.append(update)
        return True

    events.receiver_set(receive)
    yield seen
    events._receiver[:] = previous


@pytest.fixture
def as_configured(settings: Any, fake: FakeMondialRelay) -> FakeMondialRelay:
    """The site configured for Mondial Relay, its web service being the fake."""
    settings.DELIVERY_CARRIER = "mondialrelay"
    settings.MONDIAL_RELAY_ENSEIGNE, settings.MONDIAL_RELAY_PRIVATE_KEY = ENSEIGNE, KEY
    settings.MONDIAL_RELAY_API_URL = f"{fake.url}/Web_Services.asmx"
    settings.MONDIAL_RELAY_LABEL_BASE_URL = fake.url
    settings.MONDIAL_RELAY_TIMEOUT_SECONDS = 1
    settings.MONDIAL_RELAY_SENDER_PHONE = "+33482538457"
    return fake


SENDER = Address(
    name="Emmaüs Défi", address_line1="6 rue Archereau", postal_code="75019", city="Paris", phone="+33140000000"
)


def relay_parcel(reference: str = "fulfilment-12") -> ParcelRequest:
    return ParcelRequest(
        reference=reference,
        method=RELAY,
        weight_grams=1_200,
        sender=SENDER,
        recipient_name="Hugo Victor",
        recipient_email="Hugo.Victor@example.com",
        relay_point_id="FR-030613",
    )


def test_the_hash_is_mondial_relays_md5_of_the_values_then_the_key() -> None:
    assert (
        security(["BDTEST13", "FR", "69100"], "PrivateK") == hashlib.md5(b"BDTEST13FR69100PrivateK").hexdigest().upper()
    )
    assert plain("Hügǒ  Vôsges\n") == "HUGO VOSGES"


def test_relay_points_are_read_from_the_recorded_answer(fake: FakeMondialRelay) -> None:
    points = MondialRelay(fake.config()).relay_points(postal_code="69100", limit=20)
    call = fake.calls[-1]
    assert call["action"] == "WSI4_PointRelais_Recherche"
    assert call["soap_action"] == f'"{NS}WSI4_PointRelais_Recherche"'
    assert [(name, call["fields"][name]) for name in ("Enseigne", "Pays", "CP", "NombreResultats")] == [
        ("Enseigne", "BDTEST13"),
        ("Pays", "FR"),
        ("CP", "69100"),
        ("NombreResultats", "20"),
    ]
    assert len(points) == 18
    first = points[0]
    assert (first.id, first.name, first.address_line1, first.postal_code, first.city, first.carrier) == (
        "FR-005680",
        "BUREAU COPY",
        "31 COURS ANDRE PHILIP",
        "69100",
        "VILLEURBANNE",
        "mondialrelay",
    )
    assert first.hours[0] == "lun. 09:00–12:30, 14:00–18:30"
    assert first.hours[-1] == "sam. 09:30–13:00"  # closed on Sunday: no line
    assert points[1].id == "FR-030613"


def test_one_relay_point_is_found_by_its_id_and_a_foreign_id_is_none(fake: FakeMondialRelay) -> None:
    mondial = MondialRelay(fake.config())
    point = mondial.relay_point("FR-030613")
    assert point is not None and point.name == "ENI 69100 VILLEURBANNE"
    assert fake.calls[-1]["fields"]["NumPointRelais"] == "030613"
    calls = len(fake.calls)
    for hostile in ("DEMO-75004-03", "FR-0306", "BE-030613", "FR-030613<x/>", ""):
        assert mondial.relay_point(hostile) is None
    assert len(fake.calls) == calls  # refused before asking the carrier
    assert mondial.relay_point("FR-999999") is None


def test_a_relay_label_sends_weight_origin_destination_and_relay_point_and_returns_the_10x15_pdf(
    fake: FakeMondialRelay,
) -> None:
    label = MondialRelay(fake.config()).label_create(relay_parcel())
    sent = next(call for call in fake.calls if call["action"] == "WSI2_CreationEtiquette")["fields"]
    assert label.tracking_number == "50554859" and label.pdf == PDF and label.carrier == "mondialrelay"
    assert sent["Enseigne"] == "BDTEST13"
    assert (sent["ModeCol"], sent["COL_Rel"], sent["ModeLiv"]) == ("REL", "AUTO", "24R")
    assert sent["Poids"] == "1200"
    assert (sent["Expe_CP"], sent["Expe_Ville"], sent["Expe_Ad1"], sent["Expe_Tel1"]) == (
        "75019",
        "PARIS",
        "EMMAUS DEFI",
        "+33140000000",
    )
    assert (sent["LIV_Rel_Pays"], sent["LIV_Rel"]) == ("FR", "030613")
    # The recipient's address is the relay point's: no home address leaves our hands.
    assert (sent["Dest_CP"], sent["Dest_Ad3"], sent["Dest_Ad1"]) == ("69100", "112 B RUE LEON BLUM", "HUGO VICTOR")
    assert sent["Dest_Mail"] == "hugo.victor@example.com"
    assert sent["NDossier"] == "FULFILMENT-12"
    assert fake.label_gets[-1]["format"] == ["10x15"] and fake.label_gets[-1]["expedition"] == ["50554859"]
    shipment = Shipment.objects.get()
    assert (shipment.carrier, shipment.reference, shipment.tracking_number) == (
        "mondialrelay",
        "fulfilment-12",
        "50554859",
    )


def test_a_retried_label_is_the_same_parcel_not_a_second_one(fake: FakeMondialRelay) -> None:
    mondial = MondialRelay(fake.config())
    first = mondial.label_create(relay_parcel())
    again = mondial.label_create(relay_parcel())
    assert first.tracking_number == again.tracking_number
    assert [call["action"] for call in fake.calls].count("WSI2_CreationEtiquette") == 1
    assert len(fake.label_gets) == 2


def test_a_home_parcel_sends_the_buyers_address_and_no_relay_point(fake: FakeMondialRelay) -> None:
    home = Address(name="Hugo Victor", address_line1="6 Place des Vôsges", postal_code="75004", city="Paris")
    parcel = ParcelRequest(
        reference="fulfilment-13",
        method=HOME,
        weight_grams=700,
        sender=Address(name="Emmaüs", address_line1="1 rue A", postal_code="69100", city="Villeurbanne"),
        recipient_name="Hugo Victor",
        recipient_email="hugo@example.com",
        recipient=home,
    )
    MondialRelay(fake.config()).label_create(parcel)
    sent = fake.calls[-1]["fields"]
    assert (sent["ModeLiv"], sent["Dest_Ad3"], sent["Dest_CP"], sent["Poids"]) == (
        "HOM",
        "6 PLACE DES VOSGES",
        "75004",
        "700",
    )
    assert "LIV_Rel" not in sent
    assert sent["Expe_Tel1"] == "+33482538457"  # the configured phone, the sender having none


def test_a_wrong_key_is_refused_by_the_carrier_and_is_a_carrier_error(fake: FakeMondialRelay) -> None:
    config = fake.config()
    wrong = MondialRelayConfig(**{**config.__dict__, "private_key": "NotTheKey"})
    with pytest.raises(CarrierError, match="STAT 97"):
        MondialRelay(wrong).relay_points(postal_code="69100")


@pytest.mark.parametrize("mode", ["slow", "error", "garbage", "bomb"])
def test_a_slow_failing_or_garbled_service_is_a_carrier_error_and_records_nothing(
    fake: FakeMondialRelay, mode: str
) -> None:
    fake.mode = mode
    mondial = MondialRelay(fake.config(timeout=0.5))
    started = time.monotonic()
    with pytest.raises(CarrierError):
        mondial.relay_points(postal_code="69100")
    with pytest.raises(CarrierError):
        mondial.label_create(relay_parcel())
    assert time.monotonic() - started < 5
    assert not Shipment.objects.exists()


def test_a_service_that_is_down_is_a_carrier_error() -> None:
    config = FakeMondialRelay(port=free_port()).config(timeout=0.5)
    with pytest.raises(CarrierError):
        MondialRelay(config).relay_points(postal_code="69100")


def test_a_label_url_on_another_host_is_refused(fake: FakeMondialRelay) -> None:
    mondial = MondialRelay(fake.config())
    with pytest.raises(CarrierError):
        mondial._label_url("//evil.example/steal?format=A4")


def test_the_api_lists_its_relay_points_and_asks_once_per_postal_code(as_configured: FakeMondialRelay) -> None:
    first = APIClient().get("/api/delivery/relay-points/", {"postal_code": "69100"})
    again = APIClient().get("/api/delivery/relay-points/", {"postal_code": "69 100"})
    assert first.status_code == again.status_code == 200
    assert first.json()[0] == {
        "id": "FR-005680",
        "name": "BUREAU COPY",
        "address_line1": "31 COURS ANDRE PHILIP",
        "postal_code": "69100",
        "city": "VILLEURBANNE",
        "carrier": "mondialrelay",
    }
    assert again.json() == first.json()
    assert len(as_configured.calls) == 1


@pytest.mark.parametrize("mode", ["slow", "error", "garbage"])
def test_the_api_answers_503_when_the_carrier_fails(as_configured: FakeMondialRelay, mode: str) -> None:
    as_configured.mode = mode
    response = APIClient().get("/api/delivery/relay-points/", {"postal_code": "69100"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 503
    assert response.json()["code"] == "carrier_unavailable"
    assert response.json()["detail"].startswith("The carrier")
    assert response["Retry-After"]
    as_configured.mode = "ok"  # nothing cached from the failure
    assert APIClient().get("/api/delivery/relay-points/", {"postal_code": "69100"}).status_code == 200


@pytest.mark.parametrize(
    ("stat", "libelle", "status"),
    [
        ("81", "EN COURS D'ACHEMINEMENT", "in_transit"),
        ("82", "COLIS LIVRE", "delivered"),
        ("83", "RETOUR EXPEDITEUR", "returned"),
    ],
)
def test_tracing_codes_become_our_statuses(fake: FakeMondialRelay, stat: str, libelle: str, status: str) -> None:
    fake.tracing["50554859"] = (stat, libelle)
    update = MondialRelay(fake.config()).tracking_fetch("50554859")
    assert update is not None
    assert (update.status, update.tracking_number, update.event_id) == (status, "50554859", f"50554859:{status}")
    assert fake.calls[-1]["fields"]["Expedition"] == "50554859"


@pytest.mark.parametrize(("stat", "libelle"), [("80", "COLIS ENREGISTRE"), ("83", "ADRESSE INCOMPLETE")])
def test_a_registered_parcel_or_another_anomaly_reports_nothing(
    fake: FakeMondialRelay, stat: str, libelle: str
) -> None:
    fake.tracing["50554859"] = (stat, libelle)
    assert MondialRelay(fake.config()).tracking_fetch("50554859") is None


def test_an_unknown_parcel_is_a_carrier_error(fake: FakeMondialRelay) -> None:
    with pytest.raises(CarrierError, match="STAT 94"):
        MondialRelay(fake.config()).tracking_fetch("12345678")
    with pytest.raises(CarrierError):
        MondialRelay(fake.config()).tracking_fetch("12<x/>")


def test_mondial_relay_pushes_nothing_so_every_tracking_call_is_refused(fake: FakeMondialRelay, rf: Any) -> None:
    with pytest.raises(TrackingRefused):
        MondialRelay(fake.config()).tracking_parse(rf.post("/delivery/mondialrelay/tracking/", {}))


def test_there_is_no_tracking_endpoint_to_forge_for_a_polled_carrier(as_configured: FakeMondialRelay) -> None:
    assert APIClient().post("/delivery/mondialrelay/tracking/", {}, format="json").status_code == 404


def test_polling_records_each_status_once_and_stops_asking_when_final(
    as_configured: FakeMondialRelay, received: list[TrackingUpdate]
) -> None:
    number = carrier().label_create(relay_parcel()).tracking_number
    as_configured.tracing[number] = ("80", "COLIS ENREGISTRE")
    assert shipments_track() == 0
    as_configured.tracing[number] = ("81", "EN COURS D'ACHEMINEMENT")
    assert shipments_track() == 1
    assert shipments_track() == 0  # the same status on the next poll: nothing new
    as_configured.tracing[number] = ("82", "COLIS LIVRE")
    assert shipments_track() == 1
    asked = len(as_configured.calls)
    assert shipments_track() == 0
    assert len(as_configured.calls) == asked  # delivered: no longer asked
    assert [update.status for update in received] == ["in_transit", "delivered"]
    assert list(TrackingEvent.objects.values_list("status", flat=True)) == ["in_transit", "delivered"]
    assert Shipment.objects.get().final


def test_polling_while_the_carrier_is_down_records_nothing_and_tries_again_later(
    as_configured: FakeMondialRelay, received: list[TrackingUpdate]
) -> None:
    number = carrier().label_create(relay_parcel()).tracking_number
    as_configured.tracing[number] = ("82", "COLIS LIVRE")
    as_configured.mode = "error"
    assert shipments_track() == 0
    assert received == [] and not TrackingEvent.objects.exists()
    as_configured.mode = "ok"
    assert shipments_track() == 1


def test_an_update_nobody_knows_is_recorded_and_not_processed(as_configured: FakeMondialRelay) -> None:
    previous = list(events._receiver)
    events.receiver_set(lambda update: False)
    try:
        number = carrier().label_create(relay_parcel()).tracking_number
        as_configured.tracing[number] = ("82", "COLIS LIVRE")
        assert shipments_track() == 1
    finally:
        events._receiver[:] = previous
    assert TrackingEvent.objects.get().processed_at is None


def test_a_receiver_that_fails_records_nothing_and_the_next_poll_applies_it(
    as_configured: FakeMondialRelay, received: list[TrackingUpdate]
) -> None:
    number = carrier().label_create(relay_parcel()).tracking_number
    as_configured.tracing[number] = ("82", "COLIS LIVRE")
    broken = list(events._receiver)

    def fail(update: TrackingUpdate) -> bool:
        raise RuntimeError("receiver down")

    events.receiver_set(fail)
    assert shipments_track() == 0
    assert not TrackingEvent.objects.exists()
    events._receiver[:] = broken
    assert shipments_track() == 1


def test_the_demo_carrier_is_not_polled(received: list[TrackingUpdate]) -> None:
    assert shipments_track() == 0


def test_an_unknown_carrier_name_is_refused(settings: Any) -> None:
    settings.DELIVERY_CARRIER = "pigeon"
    with pytest.raises(ImproperlyConfigured):
        carrier()


def test_two_requests_labelling_one_parcel_at_once_keep_the_first_number(fake: FakeMondialRelay) -> None:
    """The other request recorded the parcel while ours was at the carrier: ours is
    dropped (never handed over, so never dropped off) and both labels are the first's."""
    mondial = MondialRelay(fake.config())
    parameters = mondial._label_parameters

    def meanwhile(parcel: ParcelRequest) -> list[tuple[str, str]]:
        Shipment.objects.create(
            carrier="mondialrelay",
            reference=parcel.reference,
            tracking_number="40000001",
            method=RELAY,
            weight_grams=1,
            label_url=f"{fake.url}{LABEL_PATH}?expedition=40000001&format=10x15",
        )
        return parameters(parcel)

    mondial._label_parameters = meanwhile  # type: ignore[method-assign]
    label = mondial.label_create(relay_parcel())
    assert label.tracking_number == "40000001"
    assert fake.label_gets[-1]["expedition"] == ["40000001"]
    assert Shipment.objects.count() == 1
