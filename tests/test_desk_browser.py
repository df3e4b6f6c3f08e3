"""The desk in a real browser: Playwright drives Debian's Chromium (``executable_path``, no
browser download) against ``guichet web``'s application served by uvicorn on loopback,
over a real SQLite store. A coordinator logs in (after a wrong password), filters,
searches, opens an application, downloads its dossier, corrects fields and sees the
verdict change with the applicant's mail recorded once, withdraws one, decides, logs out.
Screenshots of the list and of one application go to ``test-artifacts/`` (desktop and
390 px); the pages pass a basic accessibility check (labels, contrast, keyboard)."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select

from desk.app import create_app
from notifications.outbox import plan_and_record
from tests.conftest import _need
from tests.desk_web import EMAIL, PASSWORD, desk_for
from tests.servers import free_port
from tests.stores import BLOSSOM, NOW
from triage.models import Application, OutboxMail
from triage.review import REVUE
from triage.store import Store

playwright_api = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PHONE = 390

# Every visible form control has a label; text and badges have a contrast of 4.5:1 at least.
A11Y = """() => {
  const problems = [];
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden') continue;
    if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label')) problems.push('label: ' + (el.id || el.name));
  }
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = el => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3); } return [255, 255, 255]; };
  for (const el of document.querySelectorAll('a, button, th, td, p, li, span, label, summary, h1, h2, h3, dt, dd')) {
    if (!el.offsetParent || !el.textContent.trim()) continue;
    const a = lum(rgb(getComputedStyle(el).color).slice(0, 3)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) problems.push('contrast ' + ratio.toFixed(2) + ': ' + el.textContent.trim().slice(0, 40));
  }
  return problems;
}"""


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    _need("Chromium", [] if found else ["chromium"])
    assert found is not None
    return found


@pytest.fixture
def served(filed: Store) -> Iterator[tuple[str, Store]]:
    store = filed
    with store.sessions.begin() as session:
        plan_and_record(session, store.archive, BLOSSOM, NOW)  # the acknowledgements
    port = free_port()
    config = uvicorn.Config(
        create_app(desk_for(store)), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}", store
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def browser() -> Iterator[object]:
    executable = _chromium()
    with playwright_api.sync_playwright() as p:
        found = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield found
        finally:
            found.close()


def _plain(text: str) -> str:
    """French no-break spaces as plain ones."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def _rows(page: object) -> int:
    return page.locator("table.liste tbody th[scope=row]").count()


def _check_page(page: object, name: str) -> None:
    """Accessible, and usable at a phone's width (nothing wider than the screen)."""
    assert page.evaluate(A11Y) == [], name
    page.set_viewport_size({"width": PHONE, "height": 844})
    overflow = page.evaluate("() => document.documentElement.scrollWidth")
    assert overflow <= PHONE, f"{name}: {overflow}px wide at {PHONE}px"
    page.screenshot(path=str(ARTIFACTS / f"{name}-390.png"), full_page=False)
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.slow
def test_a_coordinator_works_through_the_desk(
    served: tuple[str, Store], browser: object, tmp_path: Path
) -> None:
    url, store = served
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()

    # Logged out: sent to the login page; a wrong password refused.
    page.goto(url + "/")
    assert page.url == url + "/connexion"
    page.keyboard.press("Tab")  # keyboard: the skip link comes first
    assert page.evaluate("() => document.activeElement.textContent") == "Aller au contenu"
    page.get_by_label("Adresse e-mail").fill(EMAIL)
    page.get_by_label("Mot de passe").fill("pas-le-bon-mot-de-passe")
    page.get_by_role("button", name="Se connecter").click()
    assert page.get_by_role("alert").inner_text() == "Adresse ou mot de passe incorrect."
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_label("Mot de passe").press("Enter")  # keyboard only
    page.wait_for_url(url + "/")
    assert _rows(page) == 10
    _check_page(page, "bureau-liste")
    page.screenshot(path=str(ARTIFACTS / "bureau-liste.png"), full_page=True)

    # Filter, then search.
    page.get_by_label("Statut").select_option("incomplet")
    page.get_by_role("button", name="Filtrer").click()
    assert _rows(page) == 5
    page.get_by_role("link", name="Tout afficher").click()
    page.get_by_label("Rechercher").fill("habitat")
    page.get_by_role("button", name="Filtrer").click()
    assert _rows(page) == 1

    # Open it; download its dossier.
    page.get_by_role("link", name="Habitat Partagé").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Habitat Partagé")
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger le dossier").click()
    saved = tmp_path / "dossier.docx"
    download.value.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK" and download.value.suggested_filename.endswith(".docx")

    # Correct the fields read blank in another: the verdict changes, one mail recorded.
    with store.sessions() as session:
        target = session.scalars(
            select(Application).where(Application.structure == "Ressourcerie du Midi SC")
        ).one()
        target_id, missing = target.id, list(target.missing)
    page.goto(f"{url}/candidatures/{target_id}")
    assert page.locator(".resume .statut").first.inner_text() == "Incomplet"
    for key in missing:
        row = page.locator(f'[id="champ-{key}"]')
        row.locator("summary").click()
        row.get_by_label("Valeur corrigée").fill("Relu sur le PDF envoyé")
        row.get_by_label("Raison").fill("mal lu")
        row.get_by_role("button", name="Enregistrer la correction").click()
        page.wait_for_load_state()
    status = _plain(page.get_by_role("status").inner_text())
    assert "Incomplet → Complet" in status and "Courriel au candidat préparé" in status
    assert page.locator(".resume .statut").first.inner_text() == "Complet"
    _check_page(page, "bureau-candidature")
    page.screenshot(path=str(ARTIFACTS / "bureau-candidature.png"), full_page=True)
    with store.sessions() as session:
        mails = session.scalars(
            select(OutboxMail).where(
                OutboxMail.kind == REVUE, OutboxMail.application_id == target_id
            )
        ).all()
    assert len(mails) == 1

    # Decide, with a note.
    page.get_by_label("Retenu", exact=True).check()
    page.get_by_label("Note").fill("Projet solide")
    page.get_by_role("button", name="Enregistrer la décision").click()
    assert _plain(page.get_by_role("status").inner_text()) == "Décision enregistrée : Retenu."

    # Withdraw one.
    page.goto(url + "/?q=velo")
    page.get_by_role("link", name="Vélo Solidaire").click()
    page.get_by_label("Raison du retrait").fill("Retrait annoncé par téléphone")
    page.get_by_role("button", name="Marquer « retiré »").click()
    assert _plain(page.get_by_role("status").inner_text()) == "Statut : Retiré."

    # A form posted without its CSRF token is refused, even logged in.
    refused = context.request.post(
        page.url + "/decision", form={"decision": "retenu"}, max_redirects=0
    )
    assert refused.status == 403

    # Log out: the desk is closed again.
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(url + "/connexion")
    page.goto(f"{url}/candidatures/{target_id}")
    assert page.url == url + "/connexion"
    context.close()
