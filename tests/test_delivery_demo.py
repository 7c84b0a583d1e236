"""The demo carrier: real 10×15 cm labels (with a Code128 barcode that reads back),
the same tracking number for the same parcel, and its tracking call
``POST /delivery/demo/track/`` played through the same processing as a real
carrier's, each hostile body answered with a field error, never a 500."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from pypdf import PdfReader

from delivery import events
from delivery.carriers import HOME, RELAY, Address, CarrierError, ParcelRequest, TrackingUpdate, carrier
from delivery.demo_carrier import DemoCarrier
from delivery.models import Shipment, TrackingEvent
from tests.support.decoding import rasterise_pdf

pytestmark = pytest.mark.django_db

SENDER = Address(name="Emmaüs Lyon", address_line1="12 rue Sainte-Catherine", postal_code="69001", city="Lyon")
TRACK = "/delivery/demo/track/"


def relay_parcel(reference: str = "fulfilment-12", weight_grams: int = 1_250) -> ParcelRequest:
    return ParcelRequest(
        reference=reference,
        method=RELAY,
        weight_grams=weight_grams,
        sender=SENDER,
        recipient_name="Camille Martin",
        recipient_email="camille@example.org",
        relay_point_id="DEMO-75004-03",
    )


@pytest.fixture
def received() -> Iterator[list[TrackingUpdate]]:
    """A test receiver in place of checkout's (restored after): it knows every parcel."""
    previous = list(events._receiver)
    seen: list[TrackingUpdate] = []

    def receive(update: TrackingUpdate) -> bool:
        seen.append(update)
        return True

    events.receiver_set(receive)
    yield seen
    events._receiver[:] = previous


def post_json(client: Client, body: Any, **headers: str) -> Any:
    return client.post(TRACK, json.dumps(body) if not isinstance(body, bytes) else body, "application/json", **headers)


def test_the_configured_carrier_is_the_demo_one_by_default() -> None:
    assert carrier().name == "demo"


def test_a_relay_label_is_one_10x15_page_naming_sender_recipient_relay_point_weight_reference_and_number() -> None:
    label = DemoCarrier().label_create(relay_parcel())
    assert label.carrier == "demo" and label.pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(label.pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (100, 150)
    text = reader.pages[0].extract_text()
    relay_point = DemoCarrier().relay_point("DEMO-75004-03")
    assert relay_point is not None
    for expected in (
        "Emmaüs Lyon",
        "69001 Lyon",
        "Camille Martin",
        "DEMO-75004-03",
        relay_point.name,
        "1,25 kg",
        "fulfilment-12",
        label.tracking_number,
    ):
        assert expected in text


def test_the_labels_barcode_reads_back_as_the_tracking_number() -> None:
    import zxingcpp

    label = DemoCarrier().label_create(relay_parcel())
    page = rasterise_pdf(label.pdf, dpi=300)[0]
    found = zxingcpp.read_barcodes(page.convert("L"), formats=zxingcpp.BarcodeFormat.Code128)
    assert [code.text for code in found] == [label.tracking_number]


def test_a_home_label_prints_the_address() -> None:
    home = Address(name="Camille Martin", address_line1="4 place des Vosges", postal_code="75004", city="Paris")
    parcel = ParcelRequest(
        reference="fulfilment-13",
        method=HOME,
        weight_grams=400,
        sender=SENDER,
        recipient_name="Camille Martin",
        recipient_email="camille@example.org",
        recipient=home,
    )
    text = PdfReader(io.BytesIO(DemoCarrier().label_create(parcel).pdf)).pages[0].extract_text()
    assert "4 place des Vosges" in text and "75004 Paris" in text and "0,4 kg" in text


def test_the_same_reference_gets_the_same_tracking_number_and_another_a_new_unguessable_one() -> None:
    demo = DemoCarrier()
    first = demo.label_create(relay_parcel())
    again = demo.label_create(relay_parcel())
    other = demo.label_create(relay_parcel("fulfilment-99"))
    assert first.tracking_number == again.tracking_number != other.tracking_number
    assert Shipment.objects.filter(carrier="demo").count() == 2
    # "DEMO" and 16 random hexadecimal digits: nothing derived from the reference or a counter.
    assert len(first.tracking_number) == 20 and first.tracking_number.startswith("DEMO")
    int(first.tracking_number[4:], 16)


@pytest.mark.parametrize(
    "change",
    [
        {"relay_point_id": "DEMO-75004-99"},
        {"relay_point_id": "'; DROP TABLE--"},
        {"method": HOME},  # no address
        {"method": "drone"},
        {"weight_grams": 0},
        {"weight_grams": 30_001},
        {"reference": ""},
    ],
)
def test_a_label_the_carrier_cannot_make_is_a_carrier_error_and_records_nothing(change: dict[str, Any]) -> None:
    parcel = relay_parcel()
    parcel = ParcelRequest(**{**parcel.__dict__, **change})
    with pytest.raises(CarrierError):
        DemoCarrier().label_create(parcel)
    assert not Shipment.objects.exists()


def test_a_tracking_call_is_recorded_and_handed_to_the_receiver(received: list[TrackingUpdate]) -> None:
    number = DemoCarrier().label_create(relay_parcel()).tracking_number
    response = post_json(Client(), {"tracking_number": number, "status": "delivered"})
    assert response.status_code == 200
    assert response.json() == {"tracking_number": number, "status": "delivered"}
    assert [(update.carrier, update.tracking_number, update.status) for update in received] == [
        ("demo", number, "delivered")
    ]
    event = TrackingEvent.objects.get()
    assert (event.tracking_number, event.status, event.processed_at is not None) == (number, "delivered", True)
    shipment = Shipment.objects.get()
    assert (shipment.status, shipment.final) == ("delivered", True)


def test_each_call_is_a_new_event_as_each_scan_of_a_parcel_is(received: list[TrackingUpdate]) -> None:
    number = DemoCarrier().label_create(relay_parcel()).tracking_number
    for status in ("in_transit", "in_transit", "returned"):
        assert post_json(Client(), {"tracking_number": number, "status": status}).status_code == 200
    assert len({update.event_id for update in received}) == 3
    assert TrackingEvent.objects.count() == 3


def test_an_update_the_receiver_does_not_know_is_recorded_and_not_processed() -> None:
    previous = list(events._receiver)
    events.receiver_set(lambda update: False)
    try:
        number = DemoCarrier().label_create(relay_parcel()).tracking_number
        assert post_json(Client(), {"tracking_number": number, "status": "in_transit"}).status_code == 200
    finally:
        events._receiver[:] = previous
    assert TrackingEvent.objects.get().processed_at is None


def test_a_forged_call_about_a_number_the_demo_never_issued_is_a_404(received: list[TrackingUpdate]) -> None:
    DemoCarrier().label_create(relay_parcel())
    response = post_json(Client(), {"tracking_number": "DEMO0000000000000000", "status": "delivered"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert received == [] and not TrackingEvent.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tracking_number": "X1", "status": "lost"}, "status"),
        ({"tracking_number": "X1", "status": None}, "status"),
        ({"tracking_number": "X1", "status": ["delivered"]}, "status"),
        ({"status": "delivered"}, "tracking_number"),
        ({"tracking_number": "", "status": "delivered"}, "tracking_number"),
        ({"tracking_number": 42, "status": "delivered"}, "tracking_number"),
        ({"tracking_number": "A" * 65, "status": "delivered"}, "tracking_number"),
        ({"tracking_number": "DEMO\u0000", "status": "delivered"}, "tracking_number"),
        ({"tracking_number": "../../etc", "status": "delivered"}, "tracking_number"),
        ({"tracking_number": "DÉMO1", "status": "delivered"}, "tracking_number"),
        (["delivered"], "non_field_errors"),
        ("delivered", "non_field_errors"),
        (b"{not json", "non_field_errors"),
        (b"\xff\xfe", "non_field_errors"),
    ],
)
def test_a_malformed_body_gets_a_field_error_and_records_nothing(
    received: list[TrackingUpdate], body: Any, field: str
) -> None:
    response = post_json(Client(), body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["fields"]
    assert received == [] and not TrackingEvent.objects.exists()


def test_errors_are_in_the_callers_language() -> None:
    french = post_json(Client(), {"tracking_number": "X1", "status": "lost"}, HTTP_ACCEPT_LANGUAGE="fr")
    english = post_json(Client(), {"tracking_number": "X1", "status": "lost"}, HTTP_ACCEPT_LANGUAGE="en")
    assert french.json()["fields"]["status"][0].startswith("Statut inconnu")
    assert english.json()["fields"]["status"][0].startswith("Unknown status")


def test_a_cross_site_form_post_is_refused_for_want_of_a_json_body(received: list[TrackingUpdate]) -> None:
    number = DemoCarrier().label_create(relay_parcel()).tracking_number
    response = Client(enforce_csrf_checks=True).post(
        TRACK, {"tracking_number": number, "status": "delivered"}, HTTP_ORIGIN="https://evil.example"
    )
    assert response.status_code == 415
    assert received == []


def test_only_post_is_allowed() -> None:
    assert Client().get(TRACK).status_code == 405


def test_the_demo_tracking_call_does_not_exist_with_a_real_carrier(settings: Any) -> None:
    settings.DELIVERY_CARRIER = "mondialrelay"
    response = post_json(Client(), {"tracking_number": "DEMO0000000000000000", "status": "delivered"})
    assert response.status_code == 404


def test_two_requests_labelling_one_parcel_at_once_get_one_tracking_number(monkeypatch: pytest.MonkeyPatch) -> None:
    """The other request's row lands between our lookup and our insert: the unique
    reference refuses ours, and its number is the one both labels carry."""
    from delivery import demo_carrier

    original = demo_carrier.tracking_number_new

    def meanwhile() -> str:
        Shipment.objects.create(
            carrier="demo",
            reference="fulfilment-12",
            tracking_number="DEMOAAAABBBBCCCCDDDD",
            method=RELAY,
            weight_grams=1,
        )
        return original()

    monkeypatch.setattr(demo_carrier, "tracking_number_new", meanwhile)
    label = DemoCarrier().label_create(relay_parcel())
    assert label.tracking_number == "DEMOAAAABBBBCCCCDDDD"
    assert Shipment.objects.count() == 1
