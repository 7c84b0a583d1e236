"""Independent reading of our QR codes: zxing-cpp decodes, poppler rasterises PDFs."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image

from tests.components import require


def decode(image: Image.Image) -> list[Any]:
    import zxingcpp

    return list(zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode))


def decode_png(content: bytes) -> list[Any]:
    return decode(Image.open(io.BytesIO(content)))


def rasterise_pdf(content: bytes, *, dpi: int = 150, first: int = 1, last: int = 1) -> list[Image.Image]:
    """Pages of a PDF as images, through poppler's pdftoppm (CI installs poppler-utils)."""
    require("poppler", shutil.which("pdftoppm") is not None, "pdftoppm (poppler-utils) is not installed")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(content)
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-f", str(first), "-l", str(last), "-png", str(source), f"{folder}/page"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return [Image.open(path).copy() for path in sorted(Path(folder).glob("page*.png"))]


def svg_to_image(svg: bytes, *, dpi: int = 150) -> Image.Image:
    """An SVG drawn to pixels by a renderer that is not the one that wrote it (WeasyPrint, then poppler)."""
    import base64

    from weasyprint import HTML

    uri = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
    html = f'<html><body style="margin:0"><img src="{uri}" style="width:60mm;height:60mm"></body></html>'
    pdf = HTML(string=html).write_pdf()
    return rasterise_pdf(pdf, dpi=dpi)[0]
