"""The desk over HTTP (Starlette's TestClient) on a real SQLite store: the security rules
(login, rate limit, CSRF, sessions, files only through the store's records) and each
page and form."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from desk.app import COOKIE, LOGIN_TRIES
from tests.desk_web import EMAIL, PASSWORD, app_for, csrf_of, desk_for
from triage.models import Application, Attachment, Correction, Event, OutboxMail
from triage.review import REVUE
from triage.store import Store


@pytest.fixture
def client(filed: Store) -> Iterator[TestClient]:
    with TestClient(app_for(desk_for(filed)), follow_redirects=False) as found:
        yield found


def login(client: TestClient, password: str = PASSWORD, email: str = EMAIL) -> object:
    token = csrf_of(client.get("/connexion").text)
    return client.post("/connexion", data={"csrf": token, "email": email, "password": password})


def plain(text: str) -> str:
    """The page's text with French no-break spaces as plain ones."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def token(client: TestClient, path: str = "/") -> str:
    return csrf_of(client.get(path).text)


def app_id(store: Store, name: str) -> int:
    with store.sessions() as session:
        return session.scalars(select(Application.id).where(Application.structure == name)).one()


def events(store: Store, kind: str) -> list[Event]:
    with store.sessions() as session:
        return list(session.scalars(select(Event).where(Event.kind == kind)))


# --- security ------------------------------------------------------------------------------


def test_logged_out_requests_are_refused(client: TestClient, filed: Store) -> None:
    assert client.get("/").headers["location"] == "/connexion"
    assert client.get("/candidatures/1").status_code == 303
    assert client.get("/candidatures/1/dossier").status_code == 303
    assert client.get("/etat").status_code == 303
    refused = client.post("/candidatures/1/decision", data={"decision": "retenu", "csrf": "x"})
    assert refused.status_code == 403
    with filed.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Correction)) == 0


def test_a_wrong_password_is_refused_and_logins_are_rate_limited(client: TestClient) -> None:
    wrong = login(client, "pas-le-bon-mot-de-passe")
    assert wrong.status_code == 401 and "Adresse ou mot de passe incorrect." in wrong.text
    assert COOKIE not in wrong.headers.get("set-cookie", "") or "uid" not in client.cookies
    assert client.get("/").status_code == 303
    unknown = login(client, PASSWORD, "personne@coopcity.test")
    assert unknown.status_code == 401  # same answer for an unknown address
    for _ in range(LOGIN_TRIES - 2):
        login(client, "encore-faux-encore-faux")
    blocked = login(client)  # even the right password, now
    assert blocked.status_code == 429 and "Trop de tentatives" in blocked.text


def test_login_sets_a_strict_httponly_cookie_and_logout_ends_it(client: TestClient) -> None:
    answer = login(client)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    stolen = client.cookies.get(COOKIE)
    assert client.get("/").status_code == 200
    out = client.post("/deconnexion", data={"csrf": token(client)})
    assert out.headers["location"] == "/connexion"
    client.cookies.set(COOKIE, stolen)  # the old cookie, replayed
    assert client.get("/").status_code == 303


def test_cookies_are_secure_behind_https(filed: Store) -> None:
    with TestClient(app_for(desk_for(filed, secure=True)), follow_redirects=False) as client:
        answer = login(client)
    assert "secure" in answer.headers["set-cookie"].lower()


def test_a_missing_or_wrong_csrf_token_is_refused(client: TestClient, filed: Store) -> None:
    no_token = client.post("/connexion", data={"email": EMAIL, "password": PASSWORD})
    assert no_token.status_code == 403 and "Jeton de sécurité" in no_token.text
    login(client)
    vs = app_id(filed, "Vélo Solidaire")
    for data in ({}, {"csrf": "faux"}):
        answer = client.post(
            f"/candidatures/{vs}/statut", data={**data, "statut": "retire", "raison": "x"}
        )
        assert answer.status_code == 403
    with filed.sessions() as session:
        assert session.get(Application, vs).status == "incomplet"


def test_files_only_through_the_store_records(client: TestClient, filed: Store) -> None:
    login(client)
    habitat, potager = app_id(filed, "Habitat Partagé"), app_id(filed, "Potager Partagé SC")
    with filed.sessions() as session:
        mine = session.scalars(
            select(Attachment)
            .join(Attachment.message)
            .where(
                Attachment.filename == "Statuts.pdf", Attachment.message.has(application_id=habitat)
            )
        ).one()
        theirs = session.scalars(
            select(Attachment)
            .join(Attachment.message)
            .where(Attachment.message.has(application_id=potager))
        ).first()
        sha, mine_id, theirs_id = mine.sha256, mine.id, theirs.id
    got = client.get(f"/candidatures/{habitat}/fichiers/{mine_id}")
    assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == sha
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["content-disposition"].startswith('attachment; filename="Statuts.pdf"')
    assert got.headers["x-content-type-options"] == "nosniff"
    # another application's file through this one, a path, a name: never
    assert client.get(f"/candidatures/{habitat}/fichiers/{theirs_id}").status_code == 404
    for path in (
        f"/candidatures/{habitat}/fichiers/..%2F..%2Fguichet.sqlite3",
        f"/candidatures/{habitat}/fichiers/Statuts.pdf",
        "/static/..%2F..%2Fapp.py",
        "/static/../app.py",
    ):
        assert client.get(path).status_code == 404, path
    dossier = client.get(f"/candidatures/{habitat}/dossier")
    assert dossier.status_code == 200 and dossier.content[:2] == b"PK"
    assert "Dossier Habitat Partag" in dossier.headers["content-disposition"]
    downloads = [e.detail for e in events(filed, "consultation")]
    assert sum("téléchargé" in d for d in downloads) == 2


# --- pages and forms -------------------------------------------------------------------------


def test_the_list_counts_filters_searches_and_sorts(client: TestClient) -> None:
    login(client)
    page = client.get("/").text
    assert "<strong>10</strong> en tout" in page and "<strong>5</strong> incomplètes" in page
    assert page.count('<th scope="row"') == 10
    only = client.get("/", params={"statut": "complet"}).text
    assert only.count('<th scope="row"') == 4 and "4 candidatures affichées sur 10" in only
    found = client.get("/", params={"q": "habitat"}).text
    assert found.count('<th scope="row"') == 1 and "Habitat Partagé" in found
    missing = client.get("/", params={"manque": "annexe.cv"}).text
    assert "Habitat Partagé" in missing and "Potager" not in missing
    by_name = client.get("/", params={"tri": "structure", "ordre": "asc"}).text
    names = re.findall(r'<a href="/candidatures/\d+">([^<]+)</a>', by_name)
    assert names == sorted(names, key=str.casefold) or names[0].startswith("ASBL")
    assert 'aria-sort="ascending"' in by_name


def test_one_application_shows_fields_files_timeline_and_logs_the_view(
    client: TestClient, filed: Store
) -> None:
    login(client)
    ressourcerie = app_id(filed, "Ressourcerie du Midi SC")
    page = client.get(f"/candidatures/{ressourcerie}")
    assert page.status_code == 200
    html = page.text
    assert html.index("Nom de l’entreprise") < html.index("Numéro d’entreprise")
    assert 'class="etat e-vide"' in html and "Statuts.pdf" in html and "Historique" in html
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert [e.application_id for e in events(filed, "consultation")] == [ressourcerie]
    assert client.get("/candidatures/999").status_code == 404


def test_correcting_a_field_through_the_form_changes_the_verdict_and_records_one_mail(
    client: TestClient, filed: Store
) -> None:
    from notifications.outbox import plan_and_record
    from tests.stores import BLOSSOM, NOW

    with filed.sessions.begin() as session:
        plan_and_record(session, filed.archive, BLOSSOM, NOW)  # acknowledgements first
    login(client)
    habitat = app_id(filed, "Habitat Partagé")
    with filed.sessions() as session:
        bilans = session.scalars(
            select(Attachment.id).where(Attachment.filename.startswith("Bilans"),
                                        Attachment.message.has(application_id=habitat))
        ).one()  # fmt: skip
    csrf = token(client, f"/candidatures/{habitat}")
    ok = client.post(
        f"/candidatures/{habitat}/piece", data={"csrf": csrf, "piece": str(bilans), "type": "cv"}
    )
    assert ok.status_code == 303
    page = client.get(f"/candidatures/{habitat}").text
    assert "Pièce reclassée." in page
    ressourcerie = app_id(filed, "Ressourcerie du Midi SC")
    with filed.sessions() as session:
        missing = session.get(Application, ressourcerie).missing
    for key in missing:
        client.post(
            f"/candidatures/{ressourcerie}/champ",
            data={"csrf": csrf, "champ": key, "valeur": "Relu sur le PDF", "raison": "mal lu"},
        )
    page = plain(client.get(f"/candidatures/{ressourcerie}").text)
    assert "Statut : Incomplet → Complet." in page and "Courriel au candidat préparé" in page
    again = client.post(
        f"/candidatures/{ressourcerie}/champ",
        data={"csrf": csrf, "champ": missing[-1], "valeur": "Relu sur le PDF"},
    )
    assert again.status_code == 303
    assert "Rien n’a changé" in client.get(f"/candidatures/{ressourcerie}").text
    with filed.sessions() as session:
        assert session.get(Application, ressourcerie).status == "complet"
        mails = session.scalars(
            select(OutboxMail).where(
                OutboxMail.kind == REVUE, OutboxMail.application_id == ressourcerie
            )
        ).all()
        assert len(mails) == 1
    bad = client.post(
        f"/candidatures/{ressourcerie}/champ",
        data={"csrf": csrf, "champ": "pas.un.champ", "valeur": "x"},
    )
    assert bad.status_code == 303
    assert "champ inconnu" in client.get(f"/candidatures/{ressourcerie}").text


def test_withdraw_decide_and_health_pages(client: TestClient, filed: Store) -> None:
    login(client)
    velo = app_id(filed, "Vélo Solidaire")
    csrf = token(client, f"/candidatures/{velo}")
    client.post(
        f"/candidatures/{velo}/statut", data={"csrf": csrf, "statut": "retire", "raison": ""}
    )
    assert "donnez la raison" in client.get(f"/candidatures/{velo}").text
    client.post(
        f"/candidatures/{velo}/statut",
        data={"csrf": csrf, "statut": "retire", "raison": "Retrait annoncé par téléphone"},
    )
    page = plain(client.get(f"/candidatures/{velo}").text)
    assert "Statut : Retiré." in page and "calculé : Incomplet" in page
    client.post(
        f"/candidatures/{velo}/decision",
        data={"csrf": csrf, "decision": "non_retenu", "note": "Retiré avant le jury"},
    )
    listed = client.get("/", params={"decision": "non_retenu"}).text
    assert "Vélo Solidaire" in listed and "Retiré avant le jury" in listed
    health = client.get("/etat")
    assert health.status_code == 200 and "Relevé des boîtes" in health.text
    assert "jamais relevée" in health.text


def test_after_login_back_to_the_page_asked_for(client: TestClient, filed: Store) -> None:
    habitat = app_id(filed, "Habitat Partagé")
    assert client.get(f"/candidatures/{habitat}/dossier").status_code == 303
    answer = login(client)
    assert answer.headers["location"] == f"/candidatures/{habitat}/dossier"
    assert client.get(answer.headers["location"]).content[:2] == b"PK"


def test_own_path_never_leads_elsewhere() -> None:
    from desk.app import _own_path

    assert _own_path("/candidatures/4?x=1") == "/candidatures/4?x=1"
    for bad in ("//evil.test/", "https://evil.test/", "/\\evil.test", None, 3):
        assert _own_path(bad) == "/"


def test_applicant_text_is_escaped(client: TestClient, filed: Store) -> None:
    evil = "<script>alert(1)</script>"
    with filed.sessions.begin() as session:
        session.get(Application, app_id(filed, "DigiCoop")).structure = evil
    login(client)
    for page in (client.get("/").text, client.get(f"/candidatures/{app_id(filed, evil)}").text):
        assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_health_page_shows_polls_errors_and_the_outbox(
    client: TestClient, filed: Store
) -> None:
    import datetime as dt

    from notifications.outbox import plan_and_record
    from tests.stores import BLOSSOM, NOW
    from triage.models import OUTBOX_ABANDONED, MailboxCheckpoint

    with filed.sessions.begin() as session:
        rows = plan_and_record(session, filed.archive, BLOSSOM, NOW)
        rows[0].state, rows[0].last_error = OUTBOX_ABANDONED, "550 boîte inconnue"
        session.add(
            MailboxCheckpoint(
                account=BLOSSOM.mailboxes[0].address, folder="INBOX", last_uid=12,
                last_poll_at=NOW, last_success_at=NOW - dt.timedelta(hours=3), failures=2,
                last_error="connexion refusée",
            )
        )  # fmt: skip
    login(client)
    page = client.get("/etat").text
    assert "connexion refusée" in page and "2 échecs de suite" in page and "en erreur" in page
    assert f"<strong>{len(rows) - 1}</strong> en attente d’envoi" in page
    assert "550 boîte inconnue" in page
    assert "Aucun battement enregistré" in page  # the worker never ran
    assert [e.kind for e in events(filed, "connexion")] == ["connexion"]


def test_the_health_page_shows_the_workers_heartbeat(client: TestClient, filed: Store) -> None:
    """The heartbeat ``guichet run`` writes after each cycle (issue #12): alive while a
    cycle succeeded within the alert's delay, silent after."""
    import datetime as dt

    from ingest.health import record_cycle
    from ingest.poll import CycleReport
    from tests.stores import BLOSSOM, NOW  # the desk's clock in these tests

    now = NOW
    with filed.sessions.begin() as session:
        record_cycle(session, BLOSSOM.id, CycleReport(), now - dt.timedelta(minutes=3), "w1")
    login(client)
    page = client.get("/etat").text
    assert "en vie" in page and "silencieux" not in page
    assert "dernier relevé réussi le" in page

    with filed.sessions.begin() as session:
        record_cycle(session, BLOSSOM.id, CycleReport(), now - dt.timedelta(hours=2), "w1")
    page = client.get("/etat").text
    assert "silencieux" in page and "en vie" not in page


def test_an_applicants_message_is_flagged_shown_and_marked_dealt_with(
    tmp_path: Path,
    checker: object,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A reply without a new file (issue #14, point 7) is a message to read: counted and
    flagged in the list, its text on the application's page, marked dealt with there
    (CSRF checked), then gone from both and kept in the timeline."""
    from tests.conftest import sqlite_settings
    from tests.mails import brussels, build
    from tests.stores import dossier_mail, file_mails
    from triage.messages import pending_messages
    from triage.store import open_store

    velo = "g03-mixed-labels-npar3"  # Vélo Solidaire
    thread = f"<{velo}@velosolidaire.be>"
    reply = build(sender="Fatima El Amrani <fatima@velosolidaire.be>",
                  subject="Re: Accusé de réception", message_id="<m1@v.be>", in_reply_to=thread,
                  body="Le numéro d’entreprise est faux, c’est 0123.456.789.\n\n"
                       "Le jeu. 3 sept. 2026 à 09:02, COOPCITY <info@coopcity.be> a écrit :\n"
                       "> Numéro d’entreprise : 0725.922.660\n")  # fmt: skip
    with open_store(sqlite_settings(tmp_path)) as store:
        mails = [(dossier_mail(velo), brussels(2026, 9, 3, 9, 0)), (reply, brussels(2026, 9, 4, 9, 0))]
        file_mails(store, mails, checker, brussels(2026, 9, 4, 10, 0))
        with store.sessions() as session:
            [pending] = pending_messages(session, "blossom-2026")
        assert pending.application_id is not None
        # a terminal shows it too (guichet show), with how to mark it
        monkeypatch.setenv("GUICHET_DATA_DIR", str(store.settings.data_dir))
        monkeypatch.setenv("GUICHET_DATABASE_URL", store.settings.database_url)
        monkeypatch.setenv("GUICHET_PROGRAMME", "blossom-2026")
        from guichet.cli import main

        assert main(["show", "Vélo Solidaire"]) == 0
        shown = capsys.readouterr().out
        assert f"Message à lire (n° {pending.message_id}, " in shown
        assert "Le numéro d’entreprise est faux" in shown
        assert f"guichet messages --lu {pending.message_id}" in shown
        with TestClient(app_for(desk_for(store)), follow_redirects=False) as client:
            login(client)
            listing = client.get("/").text
            assert "<strong>1</strong> message à lire" in listing
            assert "1 message à lire</span>" in listing
            only = client.get("/?messages=1").text
            assert f'href="/candidatures/{pending.application_id}"' in only
            assert "1 candidature affichée" in only

            page = client.get(f"/candidatures/{pending.application_id}").text
            assert "Messages à lire" in page
            assert "Le numéro d’entreprise est faux, c’est 0123.456.789." in page
            assert "0725.922.660" not in page.split("Messages à lire")[1].split("</section>")[0]
            action = f"/candidatures/{pending.application_id}/message"
            refused = client.post(action, data={"message": str(pending.message_id)})
            assert refused.status_code == 403  # no CSRF token
            done = client.post(
                action, data={"message": str(pending.message_id), "csrf": csrf_of(page)}
            )
            assert done.status_code == 303
            page = client.get(f"/candidatures/{pending.application_id}").text
            assert "Message marqué comme traité." in page
            assert "Messages à lire" not in page and "traité par marie@coopcity.test" in page
            assert "<strong>0</strong> messages à lire" in client.get("/").text
        with store.sessions() as session:
            assert pending_messages(session, "blossom-2026") == []
