"""The English translation is complete and shipped compiled.

Every source string is French; English visitors get the catalogues under
``locale/`` and ``<app>/locale/``. These tests fail when a string has no English
(empty or fuzzy entry), when a French string added to the code is missing from
the catalogue (``makemessages`` run on a copy of the sources), when a committed
``.mo`` is older than its ``.po``, and when key pages still show French to an
English browser."""

from __future__ import annotations

import ast
import gettext
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.components import require
from tests.factories import CampaignFactory, ItemFactory

ROOT = Path(__file__).resolve().parent.parent
APPS = (
    "kernel",
    "delivery",
    "accounts",
    "campaigns",
    "donations",
    "ledger",
    "payments",
    "delivery",
    "qr",
    "receipts",
    "news",
    "alerts",
    "checkout",
    "pages",
    "realtime",
    "frontend",
    "tremma",
)
SKIPPED_DIRS = {".venv", "var", "node_modules", ".git", "tests", "bench"}
MAKEMESSAGES_IGNORES = ("--ignore=.venv", "--ignore=var", "--ignore=tests", "--ignore=bench")


@dataclass
class Entry:
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def translated(self) -> bool:
        wanted = range(2) if self.msgid_plural is not None else range(1)
        return all(self.msgstr.get(index) for index in wanted)

    def __str__(self) -> str:
        context = f"[{self.msgctxt}] " if self.msgctxt is not None else ""
        return f"line {self.line}: {context}{self.msgid!r}"


def parse_po(path: Path) -> list[Entry]:
    """The live entries of a .po file (header and obsolete ``#~`` entries left out)."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int | None] | None = None

    def finish() -> None:
        if current is not None and (current.msgid or current.msgctxt is not None):
            entries.append(current)

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:  # a blank line ends an entry
            finish()
            current, target = None, None
            continue
        if line.startswith(("#~", "#|", "#:", "#.", "# ")) or line == "#":
            continue
        if line.startswith("#,"):
            if current is not None and target is not None:
                finish()
                current, target = None, None
            current = current or Entry(line=number)
            current.flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            assert current is not None and target is not None, f"{path}:{number}: stray string"
            text = ast.literal_eval(line)
            name, index = target
            if name == "msgstr":
                current.msgstr[index or 0] = current.msgstr.get(index or 0, "") + text
            else:
                setattr(current, name, (getattr(current, name) or "") + text)
            continue
        if keyword in ("msgctxt", "msgid") and current is not None and target is not None and target[0] == "msgstr":
            finish()
            current = None
        current = current or Entry(line=number)
        text = ast.literal_eval(rest)
        if keyword.startswith("msgstr["):
            index = int(keyword[len("msgstr[") : -1])
            current.msgstr[index] = text
            target = ("msgstr", index)
        elif keyword == "msgstr":
            current.msgstr[0] = text
            target = ("msgstr", None)
        elif keyword in ("msgctxt", "msgid", "msgid_plural"):
            setattr(current, keyword, text)
            target = (keyword, None)
        else:
            raise AssertionError(f"{path}:{number}: unexpected line {raw!r}")
    finish()
    return entries


def catalogues(root: Path = ROOT) -> list[Path]:
    found = []
    for path in sorted(root.rglob("locale/*/LC_MESSAGES/django.po")):
        if not SKIPPED_DIRS.intersection(path.relative_to(root).parts):
            found.append(path)
    return found


def problems(path: Path) -> list[str]:
    bad = []
    for entry in parse_po(path):
        if "fuzzy" in entry.flags:
            bad.append(f"fuzzy {entry}")
        elif not entry.translated:
            bad.append(f"untranslated {entry}")
    return bad


def test_the_parser_reads_contexts_plurals_and_flags(tmp_path: Path) -> None:
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: en\\n"\n\n'
        '#: a.py:1\n#, python-format\nmsgctxt "réservation"\nmsgid "En cours"\nmsgstr "Active"\n\n'
        'msgid "%(n)s soutien"\nmsgid_plural "%(n)s soutiens"\nmsgstr[0] "%(n)s backer"\nmsgstr[1] ""\n\n'
        '#, fuzzy\nmsgid ""\n"Long "\n"texte"\nmsgstr "Long text"\n\n'
        '#~ msgid "Ancien"\n#~ msgstr ""\n',
        encoding="utf-8",
    )
    active, plural, fuzzy = parse_po(po)
    assert (active.msgctxt, active.msgid, active.msgstr, active.translated) == (
        "réservation",
        "En cours",
        {0: "Active"},
        True,
    )
    assert plural.msgid_plural == "%(n)s soutiens" and not plural.translated
    assert fuzzy.msgid == "Long texte" and "fuzzy" in fuzzy.flags
    assert problems(po) == [f"untranslated {plural}", f"fuzzy {fuzzy}"]


def test_there_is_an_english_catalogue_for_the_project_and_the_qr_app() -> None:
    found = {path.relative_to(ROOT).as_posix() for path in catalogues()}
    assert {"locale/en/LC_MESSAGES/django.po", "qr/locale/en/LC_MESSAGES/django.po"} <= found


@pytest.mark.parametrize("po", catalogues(), ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_catalogue_entry_has_a_checked_translation(po: Path) -> None:
    bad = problems(po)
    assert not bad, f"{po.relative_to(ROOT)}: {len(bad)} entries without a checked translation:\n" + "\n".join(bad)


@pytest.mark.parametrize("po", catalogues(), ids=lambda path: path.relative_to(ROOT).as_posix())
def test_translations_keep_placeholders_and_tags(po: Path) -> None:
    pieces = re.compile(r"%\(\w+\)[sdif]|%[sd]|</?[a-z][^>]*>")
    bad = []
    for entry in parse_po(po):
        sources = [entry.msgid] + ([entry.msgid_plural] if entry.msgid_plural is not None else [])
        for index, text in entry.msgstr.items():
            source = sources[min(index, len(sources) - 1)]
            if text and sorted(pieces.findall(source)) != sorted(pieces.findall(text)):
                bad.append(f"{entry}: {text!r}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("po", catalogues(), ids=lambda path: path.relative_to(ROOT).as_posix())
def test_the_committed_mo_matches_its_po(po: Path) -> None:
    """What Django loads at run time (the .mo, no msgfmt needed) is what the .po says."""
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo.relative_to(ROOT)} missing: run manage.py compilemessages and commit it"
    with mo.open("rb") as handle:
        loaded = gettext.GNUTranslations(handle)
    compiled = {key: value for key, value in loaded._catalog.items() if key != ""}  # type: ignore[attr-defined]
    expected: dict[object, str] = {}
    for entry in parse_po(po):
        if "fuzzy" in entry.flags or not entry.translated:
            continue  # msgfmt leaves these out; the test above reports them
        msgid = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural is None:
            expected[msgid] = entry.msgstr[0]
        else:
            for index, text in entry.msgstr.items():
                expected[(msgid, index)] = text
    stale = sorted(str(key) for key in expected.keys() ^ compiled.keys())
    stale += sorted(str(key) for key in expected.keys() & compiled.keys() if expected[key] != compiled[key])
    assert not stale, (
        f"{mo.relative_to(ROOT)} is out of date with its .po (run manage.py compilemessages): " + "\n".join(stale)
    )


@pytest.mark.parametrize("po", [path for path in catalogues() if path.parts[-3] == "en"], ids=str)
def test_every_plural_has_its_french_entry_so_french_plural_rules_apply(po: Path) -> None:
    """French is the source language, but without a French entry gettext picks
    a plural form by n != 1 ("0 soutiens"); French says 0 and 1 are singular."""
    french = po.parent.parent.parent / "fr" / "LC_MESSAGES" / "django.po"
    have = {(entry.msgctxt, entry.msgid): entry for entry in parse_po(french)} if french.exists() else {}
    missing = []
    for entry in parse_po(po):
        if entry.msgid_plural is None:
            continue
        mine = have.get((entry.msgctxt, entry.msgid))
        if mine is None or mine.msgstr != {0: entry.msgid, 1: entry.msgid_plural}:
            missing.append(f"{entry.msgid!r} / {entry.msgid_plural!r}")
    assert not missing, (
        f"add to {french.relative_to(ROOT)} (msgstr[0] = msgid, msgstr[1] = msgid_plural):\n" + "\n".join(missing)
    )


def test_no_french_string_in_the_code_lacks_its_english(tmp_path: Path) -> None:
    """makemessages on a copy of the sources adds no entry that is empty or fuzzy."""
    tools = all(shutil.which(tool) for tool in ("xgettext", "msgmerge", "msguniq"))
    require("gettext", tools, "xgettext, msgmerge and msguniq are needed (apt-get install gettext)")
    copy = tmp_path / "src"
    for app in APPS:
        for path in (ROOT / app).rglob("*"):
            relative = path.relative_to(ROOT)
            if SKIPPED_DIRS.intersection(relative.parts) or "__pycache__" in relative.parts or not path.is_file():
                continue
            if path.suffix in (".py", ".html", ".txt") or relative.parts[-2] == "LC_MESSAGES":
                (copy / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, copy / relative)
    shutil.copytree(ROOT / "locale", copy / "locale")
    shutil.copy2(ROOT / "manage.py", copy / "manage.py")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tremma.settings",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "translations-test-secret-key-0123456789"),
        "DEBUG": "true",
        "PYTHONPATH": str(copy),
    }
    result = subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "en", *MAKEMESSAGES_IGNORES],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    found = catalogues(copy)
    assert len(found) == len(catalogues())
    bad = [f"{po.relative_to(copy)}: {problem}" for po in found for problem in problems(po)]
    assert not bad, (
        "French strings without English (translate them in the .po, then run manage.py compilemessages):\n"
        + "\n".join(bad)
    )


# Key pages, seen by an English browser.


@pytest.mark.django_db
def test_the_home_page_is_in_english(client: Client) -> None:
    CampaignFactory()
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Community projects near you" in html and "Sign in" in html
    assert "Des projets solidaires" not in html and "Se connecter" not in html


@pytest.mark.django_db
def test_an_item_page_is_in_english(client: Client) -> None:
    item = ItemFactory(price_cents=2500)
    html = client.get(item.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Buy this item" in html and "The full price goes to the project" in html
    assert "Acheter cet objet" not in html and "Le prix va entièrement" not in html


@pytest.mark.django_db
def test_the_sign_in_page_is_in_english(client: Client) -> None:
    html = client.get("/comptes/connexion/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Forgotten your password?" in html and "Create an account" in html
    assert "Mot de passe oublié" not in html and "Créer un compte" not in html


@pytest.mark.django_db
def test_an_api_validation_error_is_in_english(api: APIClient) -> None:
    english = api.get("/api/items/?status=lost", HTTP_ACCEPT_LANGUAGE="en").json()
    french = api.get("/api/items/?status=lost", HTTP_ACCEPT_LANGUAGE="fr").json()
    assert english["detail"] == "Some information is not valid."
    assert french["detail"] == "Certaines informations ne sont pas valides."
