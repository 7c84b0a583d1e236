"""The stylesheet's colour pairs meet WCAG AA, and keyboard focus stays visible."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parent.parent / "frontend/static/frontend/site.css").read_text()

# (text, background, minimum): 4.5 for text, 3 for borders of fields and the focus ring (WCAG 1.4.3, 1.4.11).
PAIRS = [
    ("--ink", "--bg", 4.5),
    ("--ink", "--card", 4.5),
    ("--muted", "--bg", 4.5),
    ("--muted", "--card", 4.5),
    ("--accent", "--bg", 4.5),  # errors, brand, secondary buttons
    ("--accent", "--card", 4.5),
    ("--accent", "--err-bg", 4.5),
    ("--link", "--bg", 4.5),
    ("--link", "--card", 4.5),
    ("--link", "--info-bg", 4.5),
    ("--ink", "--info-bg", 4.5),
    ("--ink", "--warn-bg", 4.5),
    ("--warn", "--warn-bg", 4.5),
    ("--ok", "--ok-bg", 4.5),
    ("--ink", "--off", 4.5),
    ("--muted", "--off", 4.5),  # disabled buttons stay readable though WCAG exempts them
    ("#ffffff", "--accent", 4.5),  # primary buttons
    ("#ffffff", "--ink", 4.5),  # badges
    ("--field", "--card", 3.0),
    ("--link", "--bg", 3.0),  # the focus ring
]


def colours() -> dict[str, str]:
    root = re.search(r":root\{(.*?)\}", CSS, re.S)
    assert root is not None
    return dict(re.findall(r"(--[\w-]+):(#[0-9a-fA-F]{6})", root.group(1)))


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_is_computed_as_wcag_defines_it() -> None:
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54  # the well-known lightest AA grey on white


@pytest.mark.parametrize(("text", "background", "minimum"), PAIRS)
def test_colour_pairs_of_the_stylesheet_meet_wcag_aa(text: str, background: str, minimum: float) -> None:
    palette = colours()
    first = palette.get(text, text)
    second = palette.get(background, background)
    assert contrast(first, second) >= minimum, f"{text} on {background}: {contrast(first, second):.2f}"


def test_keyboard_focus_is_always_visible() -> None:
    assert re.search(r":focus-visible\{outline:3px solid", CSS)
    assert not re.search(r"outline:\s*(none|0)\b", CSS)
