"""The demo carrier's label: one 10×15 cm page (the size of thermal label
printers and of the carriers' own labels) with the sender, the recipient, the
relay point or the home address, the weight, our reference and the tracking
number, written and as a Code128 barcode. Drawn from an HTML template by
kernel.pdf (WeasyPrint, its safe fetcher); the barcode is an inline SVG."""

from __future__ import annotations

import base64
import io

from django.template.loader import render_to_string
from django.utils import translation

from delivery.carriers import Address, ParcelRequest, RelayPoint
from kernel.pdf import html_to_pdf


def barcode_svg(text: str) -> bytes:
    """``text`` as a Code128 barcode, in SVG (python-barcode's own writer: no image library)."""
    from barcode import Code128
    from barcode.writer import SVGWriter

    out = io.BytesIO()
    # No text under the bars: the label prints the number itself, larger.
    Code128(text, writer=SVGWriter()).write(out, options={"write_text": False, "module_height": 18.0, "quiet_zone": 4})
    return out.getvalue()


def weight_text(grams: int) -> str:
    """``1,25 kg`` (French decimal comma, no float: integer grams)."""
    kilos, rest = divmod(grams, 1000)
    decimals = f"{rest:03d}".rstrip("0")
    return f"{kilos},{decimals} kg" if decimals else f"{kilos} kg"


def label_pdf(
    *, parcel: ParcelRequest, tracking_number: str, carrier_name: str, relay_point: RelayPoint | None
) -> bytes:
    """The label of ``parcel`` (one 10×15 cm page)."""
    svg = base64.b64encode(barcode_svg(tracking_number)).decode("ascii")
    recipient: Address | None = parcel.recipient
    context = {
        "parcel": parcel,
        "sender": parcel.sender,
        "recipient": recipient,
        "relay_point": relay_point,
        "tracking_number": tracking_number,
        "carrier_name": carrier_name,
        "weight": weight_text(parcel.weight_grams),
        "barcode": f"data:image/svg+xml;base64,{svg}",
    }
    # A label is read by the carrier's French sorting staff, whatever the language of who prints it.
    with translation.override("fr"):
        html = render_to_string("delivery/label.html", context)
    return html_to_pdf(html)
