"""`guichet list`, `guichet show` and `guichet users`, through ``main``, on a real SQLite
store holding the varied season."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from guichet import cli
from tests.stores import BLOSSOM
from triage.models import DeskUser, Event
from triage.store import Store, open_store

PASSWORD = "cheval-agrafe-batterie"


@pytest.fixture
def filed(filed: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    """The varied season (conftest), named to the command line by its environment."""
    monkeypatch.setenv("GUICHET_DATA_DIR", str(filed.settings.data_dir))
    monkeypatch.setenv("GUICHET_DATABASE_URL", filed.settings.database_url)
    monkeypatch.setenv("GUICHET_PROGRAMME", BLOSSOM.id)
    return filed


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_counts_and_filters(filed: Store, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list")
    assert code == 0
    assert out.splitlines()[0].startswith("10 candidature(s) : 4 complète(s), 5 incomplète(s)")
    code, out, _ = run(capsys, "list", "--status", "incomplet")
    lines = out.splitlines()[1:]
    assert len(lines) == 5 and all("Incomplet" in line for line in lines)
    code, out, _ = run(capsys, "list", "--search", "velo solidaire")
    assert [line.split()[1:3] for line in out.splitlines()[1:]] == [["Incomplet", "Vélo"]]
    code, out, _ = run(capsys, "list", "--missing", "annexe.cv")
    assert "Habitat Partagé" in out and "Potager" not in out


def test_list_refuses_an_unknown_status(filed: Store, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "list", "--status", "parfait")
    assert code == 13 and err.startswith("guichet : statut inconnu : « parfait »")


def test_show_gives_fields_verdict_and_timeline_and_logs_the_view(
    filed: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "show", "ressourcerie du midi")
    assert code == 0
    assert out.startswith("« Ressourcerie du Midi SC » – candidature n° 4")
    assert "Statut : Incomplet" in out
    fields = out.split("Champs du formulaire :")[1].split("Pièces :")[0]
    assert "[vide]" in fields
    assert fields.index("Nom de l’entreprise") < fields.index("Numéro d’entreprise")
    assert "Courriels :" in out and "←" in out
    with filed.sessions() as session:
        views = session.scalars(select(Event).where(Event.kind == "consultation")).all()
    assert len(views) == 1 and views[0].application_id == 4


def test_users_add_list_remove_reads_the_password_from_stdin(
    filed: Store, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code, out, _ = run(capsys, "users", "add", "Marie@CoopCity.test")
    assert code == 0 and out.strip() == "Compte marie@coopcity.test créé."
    with open_store(filed.settings) as store, store.sessions() as session:
        user = session.scalars(select(DeskUser)).one()
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    code, out, _ = run(capsys, "users", "list")
    assert out.startswith("marie@coopcity.test")
    monkeypatch.setattr("sys.stdin", io.StringIO("court\n"))
    code, _, err = run(capsys, "users", "add", "paul@coopcity.test")
    assert code == 13 and "trop court" in err
    code, out, _ = run(capsys, "users", "remove", "marie@coopcity.test")
    assert code == 0
    code, _, err = run(capsys, "users", "remove", "marie@coopcity.test")
    assert code == 13 and "aucun compte" in err


def test_the_password_is_never_an_argument(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["users", "add", "marie@coopcity.test", PASSWORD])
    assert "arguments inconnus" in capsys.readouterr().err


def test_guichet_web_serves_the_login_page_on_loopback(filed: Store, tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "GUICHET_DESK_PORT": str(port), "GUICHET_DESK_SECRET": "k" * 40}
    server = subprocess.Popen(
        [sys.executable, "-m", "guichet.cli", "web"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline, page = time.monotonic() + 30, None
        while page is None and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/connexion", timeout=2) as r:
                    page = r.read().decode()
            except OSError:
                time.sleep(0.2)
        assert page is not None, server.stderr.read() if server.poll() is not None else "no answer"
        assert "<h1>Connexion</h1>" in page and 'name="csrf"' in page
    finally:
        server.terminate()
        out, err = server.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/" in out  # bound to loopback by default
    assert "GUICHET_DESK_SECRET" not in err  # a key was given: no warning
