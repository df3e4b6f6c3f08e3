"""The digest's HTML in a real browser: Debian's headless Chromium draws it (the screenshot
is kept in ``test-artifacts/digest.png``) and its DOM has one row per application."""

from __future__ import annotations

import datetime as dt
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
from tests.test_digest import CALLS, _seed
from triage.check import CheckResult
from triage.models import Application
from triage.store import open_store

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
SCREENSHOT = ARTIFACTS / "digest.png"
WIDTH, HEIGHT = 1280, 2400
EVIL = "<script>alert(1)</script>"
HUGE = "Coopérative " + "très " * 400 + "longue"  # about 2,000 characters

Checker = Callable[[bytes, dt.datetime | None, str | None], CheckResult]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    _need("Chromium", [] if found else ["chromium"])
    assert found is not None
    return found


def _run(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{HEIGHT}",
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
