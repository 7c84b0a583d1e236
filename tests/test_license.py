"""The licence the project declares (pyproject.toml) is the one it ships: LICENSE holds the text of the GNU
Affero General Public License, version 3 (copied from SPDX's license list, not retyped)."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_declared_licence_is_the_shipped_one() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    text = (ROOT / "LICENSE").read_text()
    assert declared == "AGPL-3.0-or-later"
    assert text.startswith("GNU AFFERO GENERAL PUBLIC LICENSE\nVersion 3, 19 November 2007\n")
    assert "13. Remote Network Interaction; Use with the GNU General Public License." in text
    assert text.rstrip().endswith("see <http://www.gnu.org/licenses/>.")
    # The exact text of SPDX's AGPL-3.0-or-later entry (spdx-license-list 6.12.0): any retyping changes it.
    assert hashlib.sha256(text.encode()).hexdigest() == EXPECTED_SHA256


EXPECTED_SHA256 = "d8a6cc31abc16b6748c7a21f21611f5a1ec33f67d22ca23d7da1c19b95496bee"
