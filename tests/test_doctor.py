"""`guichet doctor` against real servers on loopback (Dovecot, aiosmtpd) and a real store:
all good, then each usual mistake gives its ✗ line, with the fix, and a non-zero exit."""

from __future__ import annotations

import datetime as dt
import email
import os
from pathlib import Path

import pytest

from guichet.checkup import check_data_dir, check_store, kernel_clock_synchronised
from guichet.cli import main
from guichet.commands.doctor import diagnose
from tests.conftest import Accounts, sqlite_settings
from tests.servers import DovecotServer, SmtpRelay, free_port, guichet_smtp_env
from triage.models import OutboxMail
from triage.store import StoreSettings, make_engine, open_store, upgrade

NOW = dt.datetime(2026, 9, 10, 9, 0, tzinfo=dt.UTC)


def settings_env(
    accounts: Accounts, relay: SmtpRelay, data: Path, **changes: str
) -> dict[str, str]:
    env = {
        **accounts.env,
        "GUICHET_PROGRAMME": "blossom-2026",
        "GUICHET_DATA_DIR": str(data),
        **guichet_smtp_env(relay),
    }
    env.update(changes)
    return env


def run_cli(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *args: str) -> int:
    for name in list(os.environ):
        if name.startswith("GUICHET_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return main(["doctor", *args])


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data folder with a store at the head revision (as ``guichet run`` leaves it)."""
    settings = sqlite_settings(tmp_path)
    open_store(settings).close()
    return settings.data_dir


def test_everything_right_says_so_line_by_line(
    accounts: Accounts, smtp_relay: SmtpRelay, data: Path
) -> None:
    lines: list[str] = []
    env = settings_env(accounts, smtp_relay, data)
    problems = diagnose(env, None, NOW, synchronised=lambda: True, say=lines.append)
    assert problems == 0, "\n".join(lines)
    assert lines[-1] == "Tout est en ordre."
    assert all(line.startswith("✓ ") for line in lines[:-1])
    for box in ("info", "programme"):
        for step in ("DNS", "connexion", "TLS", "identification", "dossier", "mots-clés", "IDLE"):
            assert any(line.startswith(f"✓ boîte « {box} » : {step} : ") for line in lines), step
    text = "\n".join(lines)
    assert "✓ boîte « info » : TLS : TLSv1." in text and "certificat vérifié" in text
    assert "✓ boîte « info » : mots-clés : « guichet-traite » peut être posé" in text
    assert "✓ base de données : à jour (révision 0005" in text
    assert "✓ envoi (SMTP) : connexion : 127.0.0.1:" in text
    assert "✓ modèles de courriels : " in text and "✓ LibreOffice : LibreOffice " in text
    assert "✓ fuseau horaire : Europe/Brussels : il y est 11:00 (UTC+02:00)" in text
    assert "secret" not in text  # never a password


@pytest.mark.parametrize(
    ("change", "expected", "fix"),
    [
        (
            {"PORT": "closed"},
            "✗ boîte « info » : connexion : connexion refusée sur localhost:",
            "→ vérifier GUICHET_IMAP_INFO_PORT (993 en ssl, 143 en starttls)",
        ),
        (
            {"HOST": "imap.nulle-part.invalid"},
            "✗ boîte « info » : DNS : nom inconnu : « imap.nulle-part.invalid »",
            "→ vérifier GUICHET_IMAP_INFO_HOST",
        ),
        (
            {"PASSWORD": "pas-le-bon"},
            "✗ boîte « info » : identification : identifiant ou mot de passe refusé",
            "→ vérifier GUICHET_IMAP_INFO_USER et le mot de passe (GUICHET_IMAP_INFO_PASSWORD_FILE)",
        ),
        (
            {"FOLDER": "Candidatures"},
            "✗ boîte « info » : dossier : « Candidatures » introuvable ou inaccessible",
            "→ vérifier GUICHET_IMAP_INFO_FOLDER (INBOX par défaut)",
        ),
        (
            {"PORT": "plain-imap"},  # TLS spoken to the plain IMAP port
            "✗ boîte « info » : TLS : échec de la négociation TLS",
            "→ ce port attend-il STARTTLS ? régler GUICHET_IMAP_INFO_SECURITY ou GUICHET_IMAP_INFO_PORT",
        ),
    ],
    ids=["wrong-port", "unknown-host", "wrong-password", "missing-folder", "no-tls-there"],
)
def test_each_mistake_has_its_line_and_a_failing_exit(
    accounts: Accounts,
    smtp_relay: SmtpRelay,
    dovecot: DovecotServer,
    data: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, str],
    expected: str,
    fix: str,
) -> None:
    values = {
        key: {"closed": str(free_port()), "plain-imap": str(dovecot.imap_port)}.get(value, value)
        for key, value in change.items()
    }
    env = settings_env(
        accounts, smtp_relay, data, **{f"GUICHET_IMAP_INFO_{k}": v for k, v in values.items()}
    )
    assert run_cli(monkeypatch, env) == 1
    out = capsys.readouterr().out.splitlines()
    [line] = [line for line in out if line.startswith("✗ boîte « info »")]
    assert line.startswith(expected), line
    assert fix in line, line
    # the other mailbox is fine, step by step, and the summary counts the problems
    assert "✓ boîte « programme » : IDLE : proposé" in out
    assert out[-1].endswith("point(s) à corriger (✗).")
    assert "pas-le-bon" not in "\n".join(out)


def test_a_smtp_server_that_is_not_there(
    accounts: Accounts, smtp_relay: SmtpRelay, data: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    env = settings_env(accounts, smtp_relay, data, GUICHET_SMTP_PORT=str(free_port()))
    assert run_cli(monkeypatch, env) == 1
    out = capsys.readouterr().out
    assert "✗ envoi (SMTP) : connexion : connexion refusée sur 127.0.0.1:" in out
    assert "→ vérifier GUICHET_SMTP_PORT (465 en ssl, 587 en starttls)" in out


def test_send_test_goes_through_the_outbox_and_smtp(
    accounts: Accounts, smtp_relay: SmtpRelay, dovecot: DovecotServer, applicant: str,
    data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    env = settings_env(accounts, smtp_relay, data)
    run_cli(monkeypatch, env, "--send-test", applicant)  # the clock may be unsynchronised here
    out = capsys.readouterr().out
    assert f"✓ courriel d’essai : remis au serveur pour {applicant}" in out
    with dovecot.mailbox(applicant) as box:
        box.folder.set("INBOX")
        [mail] = list(box.fetch(mark_seen=False, bulk=True))
    assert " ".join(mail.subject.split()) == "Guichet BLOSSOM 2026-2027 : courriel d’essai"
    raw = email.message_from_bytes(mail.obj.as_bytes())
    assert raw["Auto-Submitted"] == "auto-generated"
    with open_store(StoreSettings.from_env(env), migrate=False) as store, store.sessions() as s:
        [row] = s.query(OutboxMail).all()
        assert (row.kind, row.state, row.recipient) == ("essai", "envoye", applicant)


def test_send_test_refuses_a_bad_address(
    accounts: Accounts, smtp_relay: SmtpRelay, data: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    env = settings_env(accounts, smtp_relay, data)
    assert run_cli(monkeypatch, env, "--send-test", "pas une adresse") == 1
    assert "✗ courriel d’essai : adresse invalide : « pas une adresse »" in capsys.readouterr().out


def test_nothing_configured_names_every_missing_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli(monkeypatch, {"GUICHET_PROGRAMME": "blossom-2026"}) == 1
    out = capsys.readouterr().out
    assert (
        f"✗ dossier des données : GUICHET_DATA_DIR n'est pas défini (les commandes utiliseraient {tmp_path.resolve()}/var)"
        in out
    )
    assert (
        "✗ boîte « info » : réglages : GUICHET_IMAP_INFO_HOST n'est pas défini → définir GUICHET_IMAP_INFO_HOST"
        in out
    )
    assert "✗ boîtes : aucune boîte configurée : guichet run refuse de démarrer" in out
    assert "✗ envoi (SMTP) : GUICHET_SMTP_HOST n'est pas défini" in out
    assert not (tmp_path / "var").exists()  # the doctor creates nothing


def test_a_store_behind_the_code_is_named_with_its_fix(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)
    settings.data_dir.mkdir(mode=0o700)
    engine = make_engine(settings.database_url)
    upgrade(engine, "0004")
    engine.dispose()
    state = check_store(settings)
    assert not state.current
    assert state.check.line() == (
        "✗ base de données : révision 0004, attendue 0005 → redémarrer le service "
        "(sudo systemctl restart guichet) : la mise à jour se fait au démarrage"
    )


def test_a_data_folder_others_can_read_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "donnees"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    line = check_data_dir({"GUICHET_DATA_DIR": str(folder)}).line()
    assert (
        line
        == f"✗ dossier des données : {folder} est lisible par d’autres (mode 755) → chmod 700 {folder}"
    )
    folder.chmod(0o700)
    assert check_data_dir({"GUICHET_DATA_DIR": str(folder)}).ok


def test_an_unsynchronised_clock_is_a_problem(
    accounts: Accounts, smtp_relay: SmtpRelay, data: Path
) -> None:
    lines: list[str] = []
    env = settings_env(accounts, smtp_relay, data)
    assert diagnose(env, None, NOW, synchronised=lambda: False, say=lines.append) == 1
    [line] = [line for line in lines if line.startswith("✗")]
    assert line.startswith("✗ horloge : 10/09/2026 09:00:00 UTC, non synchronisée (NTP)")
    assert line.endswith("→ sudo timedatectl set-ntp true (ou installer chrony)")


def test_the_kernel_is_asked_about_the_clock() -> None:
    assert kernel_clock_synchronised() in (True, False)  # Linux: adjtimex answers


def test_starttls_on_the_plain_port_is_checked_step_by_step(
    accounts: Accounts, smtp_relay: SmtpRelay, dovecot: DovecotServer, data: Path
) -> None:
    lines: list[str] = []
    env = settings_env(
        accounts,
        smtp_relay,
        data,
        GUICHET_IMAP_PROGRAMME_SECURITY="starttls",
        GUICHET_IMAP_PROGRAMME_PORT=str(dovecot.imap_port),
    )
    assert diagnose(env, None, NOW, synchronised=lambda: True, say=lines.append) == 0, lines
    [tls] = [line for line in lines if line.startswith("✓ boîte « programme » : TLS : ")]
    assert tls.startswith("✓ boîte « programme » : TLS : TLSv1.") and "certificat vérifié" in tls


class Accepting:
    """aiosmtpd authenticator: one user, one password."""

    def __call__(self, server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            b"info@coopcity.test",
            b"bon-mot-de-passe",
        )
        return AuthResult(success=ok, handled=False)  # a refusal answered 535


@pytest.mark.parametrize(("password", "ok"), [("bon-mot-de-passe", True), ("mauvais", False)])
def test_smtp_sign_in_is_checked_with_the_worker_s_code(
    accounts: Accounts, smtp_relay: SmtpRelay, data: Path, password: str, ok: bool
) -> None:
    from aiosmtpd.controller import Controller

    from tests.servers import LOOPBACK, LmtpHandler

    port = free_port()
    handler = LmtpHandler(smtp_relay.dovecot.host, smtp_relay.dovecot.lmtp_port)
    controller = Controller(
        handler, hostname=LOOPBACK, port=port, authenticator=Accepting(), auth_require_tls=False
    )
    controller.start()
    try:
        lines: list[str] = []
        env = settings_env(
            accounts,
            smtp_relay,
            data,
            GUICHET_SMTP_PORT=str(port),
            GUICHET_SMTP_USER="info@coopcity.test",
            GUICHET_SMTP_PASSWORD=password,
        )
        problems = diagnose(env, None, NOW, synchronised=lambda: True, say=lines.append)
    finally:
        controller.stop()
    [line] = [
        line for line in lines if line.startswith(("✓", "✗")) and "SMTP) : identification" in line
    ]
    if ok:
        assert problems == 0
        assert line == "✓ envoi (SMTP) : identification : acceptée pour info@coopcity.test"
    else:
        assert problems == 1
        assert line.startswith(
            "✗ envoi (SMTP) : identification : refusée pour info@coopcity.test ("
        )
        assert line.endswith(
            "→ vérifier GUICHET_SMTP_USER et le mot de passe (GUICHET_SMTP_PASSWORD_FILE)"
        )
        assert "mauvais" not in "\n".join(lines)


def test_the_store_on_postgresql_empty_current_or_unreachable(
    postgres_url: str, tmp_path: Path
) -> None:
    settings = StoreSettings(data_dir=tmp_path / "var", database_url=postgres_url)
    assert check_store(settings).check.line().startswith("✓ base de données : vide (postgresql")
    open_store(settings).close()
    state = check_store(settings)
    assert state.current and state.check.line().startswith(
        "✓ base de données : à jour (révision 0005, postgresql"
    )
    nowhere = f"postgresql+psycopg://guichet:motdepasse@127.0.0.1:{free_port()}/guichet"
    line = check_store(StoreSettings(tmp_path / "var", nowhere)).check.line()
    assert line.startswith("✗ base de données : inaccessible (postgresql+psycopg://guichet:***@")
    assert line.endswith("→ vérifier GUICHET_DATA_DIR ou GUICHET_DATABASE_URL")
    assert "motdepasse" not in line
