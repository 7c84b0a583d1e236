"""Benchmark of QR rendering and of the printable sheet: ``python -m bench.qr``.

Prints codes per second for SVG and PNG through the bare qrcode library and
through our code (cold: each code rendered for the first time; warm: served
from the cache), so the ratio shows our overhead and what the cache saves; then
the time to render the sheet of a 50-item window. Runs on a throw-away SQLite
database and the local-memory cache; nothing else is needed.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _rate(label: str, count: int, work: Callable[[int], object]) -> float:
    start = time.perf_counter()
    for index in range(count):
        work(index)
    elapsed = time.perf_counter() - start
    rate = count / elapsed
    print(f"  {label:<42} {rate:9.1f} /s   ({elapsed * 1000 / count:6.2f} ms each)")
    return rate


def _setup_django(folder: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tremma.settings")
    os.environ.setdefault("DEBUG", "true")
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ["TREMMA_VAR_DIR"] = str(folder)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    import logging

    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bench_rendering(count: int) -> None:
    import qrcode
    from django.core.cache import cache
    from qrcode.image.svg import SvgPathImage

    from qr.rendering import ERROR_CORRECTION, QUIET_ZONE, render_qr

    url = "https://tremma.example/q/{:07d}"

    def bare(index: int, svg: bool) -> bytes:
        code = qrcode.QRCode(error_correction=ERROR_CORRECTION, border=QUIET_ZONE, box_size=10)
        code.add_data(url.format(index))
        code.make(fit=True)
        buffer = io.BytesIO()
        if svg:
            code.make_image(image_factory=SvgPathImage).save(buffer)
        else:
            code.make_image().save(buffer)
        return buffer.getvalue()

    print(f"QR rendering, {count} distinct codes each:")
    bare_svg = _rate("bare qrcode, SVG (path image)", count, lambda i: bare(i, svg=True))
    cache.clear()
    ours_svg = _rate("ours, SVG, cold (rendered + cached)", count, lambda i: render_qr(url.format(i), fmt="svg"))
    warm_svg = _rate("ours, SVG, warm (from the cache)", count, lambda i: render_qr(url.format(i), fmt="svg"))
    bare_png = _rate("bare qrcode, PNG (box 10)", count, lambda i: bare(i, svg=False))
    cache.clear()
    ours_png = _rate("ours, PNG 512 px, cold", count, lambda i: render_qr(url.format(i), fmt="png", size=512))
    warm_png = _rate("ours, PNG 512 px, warm", count, lambda i: render_qr(url.format(i), fmt="png", size=512))
    print(f"  overhead, cold: SVG ×{bare_svg / ours_svg:.2f}, PNG ×{bare_png / ours_png:.2f} the bare library's time")
    print(f"  cache speed-up: SVG ×{warm_svg / ours_svg:.0f}, PNG ×{warm_png / ours_png:.0f}")


def bench_sheet(items: int) -> None:
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from campaigns.models import Campaign, Organisation
    from donations.models import Item, ItemPhoto, ItemStatus
    from donations.services import item_transition
    from pages.management.commands.seed_demo import ITEMS, draw_photo
    from qr.selectors import window_public_queryset
    from qr.services import placement_add, window_create
    from qr.sheets import window_sheet_pdf

    now = timezone.now()
    organisation = Organisation.objects.create(
        name="Banc d'essai",
        slug="banc",
        legal_name="Banc",
        legal_form="association",
        rna="W000000001",
        address_line1="1 rue",
        postal_code="75001",
        city="Paris",
        contact_email="banc@example.org",
    )
    campaign = Campaign.objects.create(
        organisation=organisation,
        slug="banc",
        title="Projet",
        summary="Projet",
        goal_cents=1_000_000,
        status=Campaign.Status.LIVE,
        starts_at=now - timedelta(days=1),
    )
    window = window_create(organisation=organisation, name="Vitrine", place="Boutique", starts_at=now)
    for index in range(items):
        title, description, condition, category, price = ITEMS[index % len(ITEMS)]
        item = Item.objects.create(
            campaign=campaign,
            title=title,
            description=description,
            condition=condition,
            category=category,
            price_cents=price,
        )
        item_transition(item=item, to=ItemStatus.IN_REVIEW)
        item_transition(item=item, to=ItemStatus.LISTED)
        photo = ItemPhoto(item=item, width=800, height=600)
        photo.image.save(f"bench-{item.pk}.webp", ContentFile(draw_photo(title)), save=True)
        placement_add(window=window, item=item)
    fetched = window_public_queryset().get(pk=window.pk)
    start = time.perf_counter()
    pdf = window_sheet_pdf(window=fetched)
    cold = time.perf_counter() - start
    fetched = window_public_queryset().get(pk=window.pk)
    start = time.perf_counter()
    window_sheet_pdf(window=fetched)
    warm = time.perf_counter() - start
    print(f"Sheet of a {items}-item window ({len(pdf) // 1024} KiB, {-(-items // 4)} pages):")
    print(f"  first render {cold:.2f} s, again (the same cards, from the cache) {warm:.3f} s")


def measure(report: object, *, quick: bool, pairs: int) -> None:
    """The QR scenario of ``make bench``: our rendering next to the bare library, the cache, and a sheet."""
    import qrcode
    from django.conf import settings
    from django.core.cache import cache
    from qrcode.image.svg import SvgPathImage

    from bench.ceilings import ratio_figure
    from bench.harness import Figure, Repeated
    from bench.pairs import alternate
    from qr.rendering import ERROR_CORRECTION, QUIET_ZONE, render_qr

    settings.MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="tremma-bench-media-"))
    count = 40 if quick else 150
    url = "https://tremma.example/q/{:07d}"

    def bare_svg(index: int) -> bytes:
        code = qrcode.QRCode(error_correction=ERROR_CORRECTION, border=QUIET_ZONE, box_size=10)
        code.add_data(url.format(index))
        code.make(fit=True)
        buffer = io.BytesIO()
        code.make_image(image_factory=SvgPathImage).save(buffer)
        return buffer.getvalue()

    runs = [0]

    def library() -> dict[str, float]:
        offset = runs[0] * 10_000  # distinct codes each round: a first render is really a first render
        return {"bare.rate": _rate("bare qrcode, SVG", count, lambda i: bare_svg(offset + i))}

    def ours() -> dict[str, float]:
        offset = runs[0] * 10_000
        runs[0] += 1
        cache.clear()
        cold = _rate("ours, SVG, first render", count, lambda i: render_qr(url.format(offset + i), fmt="svg"))
        warm = _rate("ours, SVG, cached", count, lambda i: render_qr(url.format(offset + i), fmt="svg"))
        return {"cold.rate": cold, "warm.rate": warm}

    rounds = alternate(
        [("bare", library), ("ours", ours)],
        pairs=pairs,
        ratios=[("cold.rate", "bare.rate"), ("warm.rate", "cold.rate")],
    )
    report.pair_sets["qr"] = rounds.as_dict()  # type: ignore[attr-defined]
    add = report.add  # type: ignore[attr-defined]
    add(
        ratio_figure(
            rounds,
            "qr",
            "SVG first render, ours vs bare qrcode",
            "codes/s",
            "cold.rate",
            "bare.rate",
            target=1 / 1.2,
            notes="ours ≤ 1.2 × the bare library's time",
        )
    )
    add(
        ratio_figure(
            rounds,
            "qr",
            "SVG cached vs first render, ours",
            "codes/s",
            "warm.rate",
            "cold.rate",
            target=20,
            notes="a cached code ≥ 20 × faster than a first render",
        )
    )
    start = time.perf_counter()
    bench_sheet(8 if quick else 50)
    add(
        Figure(
            "qr",
            f"sheet PDF of a {8 if quick else 50}-item window (build + 2 renders)",
            "s",
            Repeated([time.perf_counter() - start]),
        )
    )


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with tempfile.TemporaryDirectory() as folder:
        _setup_django(Path(folder))
        from django.conf import settings

        settings.MEDIA_ROOT = Path(folder) / "media"
        bench_rendering(count)
        bench_sheet(50)


if __name__ == "__main__":
    main()
