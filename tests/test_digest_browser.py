"""The digest's HTML in a real browser: Debian's headless Chromium draws it (the screenshot
is kept in ``test-artifacts/digest.png``, and at a phone's 390 px in
``test-artifacts/digest-390.png``) and its DOM has one row per application."""

from __future__ import annotations

import datetime as dt
import html as markup
import json
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import lxml.html
import pytest
from sqlalchemy import select

from notifications.digest import gather_digest, render_digest
from notifications.wording import one_line
from tests.conftest import _need, sqlite_settings
from tests.stores import BLOSSOM
from tests.mails import brussels, build
from tests.stores import file_mails
from tests.test_digest import CALLS, LATER, _seed
from triage.check import CheckResult
from triage.models import Application
from triage.store import open_store

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
SCREENSHOT = ARTIFACTS / "digest.png"
PHONE_SCREENSHOT = ARTIFACTS / "digest-390.png"
WIDTH, HEIGHT = 1280, 2400
PHONE = 390  # CSS pixels, an iPhone 12 to 15 held upright
EVIL = "<script>alert(1)</script>"
HUGE = "Coopérative " + "très " * 400 + "longue"  # about 2,000 characters

Checker = Callable[[bytes, dt.datetime | None, str | None], CheckResult]
# A reply to Vélo Solidaire's acknowledgement that brings no file: « Messages à lire »
MESSAGE = (
    "Bonjour, le numéro d’entreprise indiqué est <b>faux</b> : c’est 0123.456.789. Et notre "
    "siège a déménagé rue Haute 5, 1000 Bruxelles, depuis le mois d’août. Merci de corriger."
)
REPLY = build(
    sender="Fatima El Amrani <fatima@velosolidaire.be>",
    subject="RE: Accusé de réception – Vélo Solidaire – BLOSSOM 2026-2027",
    message_id="<g03-re@velosolidaire.be>",
    in_reply_to="<g03-mixed-labels-npar3@velosolidaire.be>",
    body=MESSAGE
    + "\n\nLe 3 sept. 2026 à 09:02, COOPCITY <info@coopcity.be> a écrit :\n> Bonjour,\n",
)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    _need("Chromium", [] if found else ["chromium"])
    assert found is not None
    return found


def _run(
    browser: str, profile: Path, *args: str, width: int = WIDTH
) -> subprocess.CompletedProcess[str]:
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={width},{HEIGHT}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, checker: Checker) -> tuple[Path, list[str]]:
    """The seeded store's digest (two structures renamed: a script tag and a huge name)
    written to a file; returns the file and the structure names the table should show."""
    folder = tmp_path_factory.mktemp("digest-browser")
    with open_store(sqlite_settings(folder)) as store:
        _seed(store, checker)
        file_mails(store, [(REPLY, brussels(2026, 9, 14, 11, 0))], checker, now=LATER)
        with store.sessions.begin() as session:
            applications = session.scalars(select(Application).order_by(Application.id)).all()
            applications[0].structure = EVIL
            applications[1].structure = HUGE
            names = [one_line(a.structure, 80) for a in applications]
        with store.sessions.begin() as session:
            data = gather_digest(session, BLOSSOM, CALLS)
    path = folder / "digest.html"
    path.write_text(render_digest(data, BLOSSOM).html, encoding="utf-8")
    return path, names


def test_screenshot(page: tuple[Path, list[str]], tmp_path: Path) -> None:
    browser = _chromium()
    path, _ = page
    ARTIFACTS.mkdir(exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    _run(browser, tmp_path / "profile", f"--screenshot={SCREENSHOT}", path.as_uri())
    png = SCREENSHOT.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert (width, height) == (WIDTH, HEIGHT)
    assert len(png) > 50_000  # a drawn page, not a blank one


def test_dom_has_one_row_per_application(page: tuple[Path, list[str]], tmp_path: Path) -> None:
    browser = _chromium()
    path, names = page
    dom = lxml.html.fromstring(
        _run(browser, tmp_path / "profile", "--dump-dom", path.as_uri()).stdout
    )
    rows = dom.xpath('//table[@id="candidatures"]/tbody/tr')
    assert len(rows) == len(names) == 11
    shown = [row.xpath("./td[1]")[0].text_content() for row in rows]
    assert sorted(shown) == sorted(names)
    assert EVIL in shown  # drawn as text…
    assert dom.xpath("//script") == []  # …never run
    assert all(len(name) <= 80 for name in shown)
    ids = [row.get("data-application") for row in rows]
    assert len(set(ids)) == 11
    calls = dom.xpath('//table[@id="appels"]//tr[td]')
    assert len(calls) == 5  # the incomplete applications, during the call period


def test_messages_to_read_are_shown_as_text(page: tuple[Path, list[str]], tmp_path: Path) -> None:
    """Issue #14, point 7: the reply is listed under « Messages à lire », its markup drawn
    as text, the quoted acknowledgement cut."""
    browser = _chromium()
    path, _ = page
    dom = lxml.html.fromstring(
        _run(browser, tmp_path / "profile", "--dump-dom", path.as_uri()).stdout
    )
    [row] = dom.xpath('//table[@id="messages"]//tr[@data-message]')
    text = " ".join(row.text_content().split())
    assert "fatima@velosolidaire.be" in text and "reçu le 14/09/2026 11:00" in text
    assert "<b>faux</b>" in text and "a écrit" not in text
    assert dom.xpath('//table[@id="messages"]//b') == []


# Run in a copy of the page only (the digest itself never carries a script), drawn in a
# 390 px frame (headless Chromium's window is at least 500 px wide): what sticks out to the
# right of the viewport, and how wide the page scrolls, written into the outer page.
_MEASURE = """<script>
(function () {
  var width = document.documentElement.clientWidth;
  var over = [];
  document.querySelectorAll("body *").forEach(function (e) {
    var box = e.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 0.5) {
      over.push(e.tagName + " " + Math.round(box.right) + " " + e.textContent.slice(0, 60));
    }
  });
  var out = document.createElement("pre");
  out.id = "measure";
  out.textContent = JSON.stringify(
    {width: width, scroll: document.documentElement.scrollWidth, over: over});
  parent.document.body.appendChild(out);
})();
</script>"""


def test_phone_width_nothing_overflows(page: tuple[Path, list[str]], tmp_path: Path) -> None:
    """Issue #14, point 9: at 390 px each application is a stacked block; no table, phone
    number or address sticks out of the screen, and the screenshot shows it."""
    browser = _chromium()
    path, names = page
    ARTIFACTS.mkdir(exist_ok=True)
    PHONE_SCREENSHOT.unlink(missing_ok=True)
    _run(browser, tmp_path / "shot", f"--screenshot={PHONE_SCREENSHOT}", path.as_uri(),
         width=PHONE)  # fmt: skip
    png = PHONE_SCREENSHOT.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (PHONE, HEIGHT)
    assert len(png) > 20_000

    measured = tmp_path / "measured.html"
    digest = path.read_text(encoding="utf-8").replace("</body>", _MEASURE + "</body>")
    measured.write_text(
        f'<!DOCTYPE html><html><body style="margin:0"><iframe id="phone" style="border:0;'
        f'width:{PHONE}px;height:{HEIGHT}px" srcdoc="{markup.escape(digest)}"></iframe>'
        "</body></html>",
        encoding="utf-8",
    )
    outer = lxml.html.fromstring(
        _run(browser, tmp_path / "dom", "--dump-dom", measured.as_uri()).stdout
    )
    facts = json.loads(outer.get_element_by_id("measure").text_content())
    dom = lxml.html.fromstring(digest)
    assert facts["width"] == PHONE
    assert facts["scroll"] <= PHONE and facts["over"] == []
    rows = dom.xpath('//table[@id="candidatures"]/tbody/tr')
    assert len(rows) == len(names)
    for row in rows:  # a name, then the rest of the application under it, not beside it
        name, rest = row.xpath("./td")
        assert name.text_content() in names and rest.text_content().strip()
