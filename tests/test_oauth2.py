"""OAuth2 sign-in for real, on loopback: Dovecot's oauth2 passdb and an aiosmtpd relay
check each token with the local token server (guichet.loopback.tokens), which MSAL and
google-auth are pointed at. First token, use, expiry, refresh, revocation."""

from __future__ import annotations

import itertools
import json
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from config.programme import MailboxSpec
from guichet.errors import MailboxError
from guichet.loopback.servers import HOSTNAME, DovecotServer, SmtpRelay
from guichet.loopback.tokens import JWT_BEARER_GRANT, TokenServer
from ingest import oauth2
from ingest.mailbox import ImapSession, env_name, settings_from_env
from notifications.smtp import SendFailed, SmtpSender, SmtpSettings
from tests.conftest import _need

USERS = [f"boite{n}@coopcity.test" for n in range(1, 81)]
_n = itertools.count(1)


@pytest.fixture(scope="module")
def tokens() -> Iterator[TokenServer]:
    with TokenServer() as server:
        yield server


def oauth2_dovecot(tokens: TokenServer, **options: Any) -> DovecotServer:
    """A Dovecot that checks OAuth2 tokens with ``tokens`` (and passwords, unless told)."""
    _need("Dovecot", DovecotServer.missing())
    return DovecotServer(
        users=dict.fromkeys(USERS, "secret"),
        oauth2_introspection_url=tokens.introspection_url,
        oauth2_cafile=tokens.cafile,
        **options,
    )


@pytest.fixture(scope="module")
def oauth_dovecot(tokens: TokenServer) -> Iterator[DovecotServer]:
    with oauth2_dovecot(tokens) as server:
        yield server


@pytest.fixture(scope="module")
def oauth_relay(oauth_dovecot: DovecotServer, tokens: TokenServer) -> Iterator[SmtpRelay]:
    _need("aiosmtpd", SmtpRelay.missing())
    with SmtpRelay(
        oauth_dovecot,
        oauth2_introspection_url=tokens.introspection_url,
        oauth2_cafile=tokens.cafile,
        password_login=False,
    ) as relay:
        yield relay


@pytest.fixture(autouse=True)
def _fresh_sources() -> Iterator[None]:
    oauth2.forget_sources()
    yield
    oauth2.forget_sources()


def user() -> str:
    return USERS[next(_n) - 1]


def imap_env(dovecot: DovecotServer, tokens: TokenServer, who: str, data: Path, **extra: str):
    """The variables of mailbox ``info`` signing in to ``who`` with OAuth2."""
    values = {
        "HOST": HOSTNAME,
        "PORT": str(dovecot.imaps_port),
        "USER": who,
        "CAFILE": str(dovecot.cafile),
        "TOKEN_CAFILE": str(tokens.cafile),
        **{k.upper(): v for k, v in extra.items()},
    }
    env = {env_name("info", k): v for k, v in values.items()}
    env["GUICHET_DATA_DIR"] = str(data)
    return env


def microsoft_app(tokens: TokenServer, who: str) -> dict[str, str]:
    client = f"app-{next(_n)}"
    tokens.add_client(client, "s3cret", mailboxes=(who,))
    return {
        "AUTH": "oauth2-microsoft",
        "AUTHORITY": tokens.authority,
        "CLIENT_ID": client,
        "CLIENT_SECRET": "s3cret",
    }


def open_info(env: dict[str, str]) -> ImapSession:
    """The session on mailbox ``info`` (opened by ``with``, or by ``open()``)."""
    spec = MailboxSpec(id="info", address=env[env_name("info", "USER")])
    return ImapSession(settings_from_env(spec, env))


def deliver(dovecot: DovecotServer, who: str, subject: str) -> None:
    raw = f"From: a@exemple.test\r\nTo: {who}\r\nSubject: {subject}\r\n\r\nbonjour\r\n"
    dovecot.deliver("a@exemple.test", who, raw.encode())


def subjects(session: ImapSession) -> list[bytes]:
    uids = session.uids_after(0)
    return [m.raw.split(b"Subject: ")[1].split(b"\r\n")[0] for m in session.fetch(uids)]


# --- Microsoft 365: the application signs in as itself (client credentials) ---------------


def test_microsoft_app_reads_the_mailbox_keeps_its_token_and_gets_a_new_one_after_expiry(
    oauth_dovecot: DovecotServer, tokens: TokenServer, tmp_path: Path
) -> None:
    who = user()
    deliver(oauth_dovecot, who, "Candidature 1")
    env = imap_env(oauth_dovecot, tokens, who, tmp_path, **microsoft_app(tokens, who))
    client = env[env_name("info", "CLIENT_ID")]

    def asked() -> int:
        return sum(1 for i in tokens.issued.values() if i.client_id == client)

    with open_info(env) as session:
        assert subjects(session) == [b"Candidature 1"]
    assert asked() == 1
    with open_info(env) as session:  # the token is kept for its hour
        assert session.folder_state().messages == 1
    assert asked() == 1
    tokens.expire(who)  # the hour has passed (or the token was revoked early)
    with open_info(env) as session:  # refused once, a fresh one taken
        assert session.folder_state().messages == 1
    assert asked() == 2
    assert f"user=<{who}>, method=XOAUTH2" in (oauth_dovecot.directory / "dovecot.log").read_text()


def test_a_revoked_application_is_told_as_a_refused_token_never_a_password(
    oauth_dovecot: DovecotServer, tokens: TokenServer, tmp_path: Path
) -> None:
    who = user()
    env = imap_env(oauth_dovecot, tokens, who, tmp_path, **microsoft_app(tokens, who))
    open_info(env).open().close()
    tokens.revoke(client_id=env[env_name("info", "CLIENT_ID")])
    with pytest.raises(MailboxError) as refused:
        open_info(env).open()
    message = refused.value.message
    assert "jeton OAuth2 refusé" in message
    assert "GUICHET_IMAP_INFO_CLIENT_SECRET" in message
    assert "mot de passe" not in message


def test_a_wrong_client_secret_names_the_variables_to_check(
    oauth_dovecot: DovecotServer, tokens: TokenServer, tmp_path: Path
) -> None:
    who = user()
    settings = microsoft_app(tokens, who) | {"CLIENT_SECRET": "wrong"}
    with pytest.raises(MailboxError) as refused:
        open_info(imap_env(oauth_dovecot, tokens, who, tmp_path, **settings)).open()
    message = refused.value.message
    assert message.startswith(f"boîte « info » ({who}) : jeton OAuth2 refusé par le serveur de jetons")
    assert "invalid_client" in message and "GUICHET_IMAP_INFO_CLIENT_ID" in message


def test_a_token_for_another_mailbox_is_refused_by_the_mail_server_with_what_to_check(
    oauth_dovecot: DovecotServer, tokens: TokenServer, tmp_path: Path
) -> None:
    granted, wanted = user(), user()
    env = imap_env(oauth_dovecot, tokens, wanted, tmp_path, **microsoft_app(tokens, granted))
    with pytest.raises(MailboxError) as refused:
        open_info(env).open()
    message = refused.value.message
    assert "jeton OAuth2 refusé par le serveur" in message
    assert "IMAP.AccessAsApp" in message and wanted in message
    assert "mot de passe" not in message


def test_the_application_may_sign_in_with_a_certificate(
    oauth_dovecot: DovecotServer, tokens: TokenServer, tmp_path: Path
) -> None:
    from guichet.loopback.servers import self_signed_certificate

    who = user()
    cert, key = self_signed_certificate(tmp_path)
    bundle = tmp_path / "app.pem"
    bundle.write_bytes(key.read_bytes() + cert.read_bytes())
    client = f"app-cert-{next(_n)}"
    tokens.add_client(client, mailboxes=(who,), certificate_pem=cert.read_bytes())
    env = imap_env(oauth_dovecot, tokens, who, tmp_path, AUTH="oauth2-microsoft",
                   AUTHORITY=tokens.authority, CLIENT_ID=client,
                   CLIENT_CERTIFICATE=str(bundle))  # fmt: skip
    with open_info(env) as session:
        assert session.folder_state().messages == 0
    assert [i.user for i in tokens.issued.values() if i.client_id == client] == [who]


def test_an_unknown_tenant_or_an_unreachable_token_server_is_said_as_such(
    oauth_dovecot: DovecotServer, tokens: TokenServer, tmp_path: Path
) -> None:
    from guichet.loopback.servers import free_port

    who = user()
    app = microsoft_app(tokens, who)
    wrong_tenant = app | {"AUTHORITY": f"{tokens.url}/another-tenant"}
    with pytest.raises(MailboxError) as unknown:
        open_info(imap_env(oauth_dovecot, tokens, who, tmp_path, **wrong_tenant)).open()
    assert "locataire Microsoft inconnu" in unknown.value.message
    assert "GUICHET_IMAP_INFO_TENANT" in unknown.value.message

    nobody = app | {"AUTHORITY": f"https://{HOSTNAME}:{free_port()}/{tokens.tenant}"}
    with pytest.raises(MailboxError) as unreachable:
        open_info(imap_env(oauth_dovecot, tokens, who, tmp_path, **nobody)).open()
    assert "serveur de jetons OAuth2 injoignable" in unreachable.value.message
    assert "jeton OAuth2 refusé" not in unreachable.value.message


def test_a_mail_server_that_cannot_check_tokens_for_now_is_no_refused_token(
    oauth_dovecot: DovecotServer,
    tokens: TokenServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    who = user()
    env = imap_env(oauth_dovecot, tokens, who, tmp_path, **microsoft_app(tokens, who))
    open_info(env).open().close()
    monkeypatch.setattr(tokens, "unavailable", True)  # guichet's token still good, unchecked
    with pytest.raises(MailboxError) as unavailable:
        open_info(env).open()
    message = unavailable.value.message
    assert "ne peut pas vérifier le jeton OAuth2 pour l'instant" in message
    assert "UNAVAILABLE" in message and "refusé" not in message


# --- Microsoft 365: a person signs in once (device code), guichet refreshes --------------


def test_guichet_login_then_the_worker_refreshes_before_expiry_until_the_sign_in_is_revoked(
    oauth_dovecot: DovecotServer,
    tokens: TokenServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from guichet.cli import main

    who = user()
    client = f"public-{next(_n)}"
    tokens.add_client(client)  # no secret: a public client, delegated sign-in
    env = imap_env(oauth_dovecot, tokens, who, tmp_path, AUTH="oauth2-microsoft",
                   AUTHORITY=tokens.authority, CLIENT_ID=client)  # fmt: skip
    deliver(oauth_dovecot, who, "Dossier")
    with pytest.raises(MailboxError) as not_yet:
        open_info(env).open()
    assert "aucune connexion OAuth2 enregistrée" in not_yet.value.message
    assert "« guichet login info »" in not_yet.value.message

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GUICHET_PROGRAMME", "blossom-2026")
    monkeypatch.setattr(tokens, "device_user", who)
    assert main(["login", "info"]) == 0
    out = capsys.readouterr().out
    assert f"Ouvrir {tokens.url}/devicelogin dans un navigateur et saisir le code " in out
    assert re.search(r"saisir le code \d{4}-\d{4}\n", out) and f"Connecté : {who}." in out
    cache = next((tmp_path / "oauth2").glob("microsoft-*.json"))
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert "rt-" in cache.read_text()  # the refresh token, kept for the worker

    with open_info(env) as session:  # the token the sign-in gave
        assert subjects(session) == [b"Dossier"]
    assert tokens.grants("refresh_token") == []

    monkeypatch.setattr(tokens, "lifetime", 120)  # tokens now expire within MSAL's margin
    tokens.expire(who)
    with open_info(env) as session:  # refreshed with the kept refresh token
        assert session.folder_state().messages == 1
    with open_info(env) as session:  # 120 s left is too little: refreshed again, before expiry
        assert session.folder_state().messages == 1
    assert len(tokens.grants("refresh_token")) == 2

    tokens.revoke(user=who)
    with pytest.raises(MailboxError) as revoked:
        open_info(env).open()
    message = revoked.value.message
    assert "jeton OAuth2 refusé" in message and "« guichet login info »" in message
    assert "mot de passe" not in message


def test_guichet_login_with_another_account_keeps_nothing(
    tokens: TokenServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from guichet.cli import main

    who, someone_else = user(), user()
    client = f"public-{next(_n)}"
    tokens.add_client(client)
    env = {"GUICHET_SMTP_HOST": "127.0.0.1", "GUICHET_SMTP_SECURITY": "plain",
           "GUICHET_SMTP_USER": who, "GUICHET_SMTP_AUTH": "oauth2-microsoft",
           "GUICHET_SMTP_AUTHORITY": tokens.authority, "GUICHET_SMTP_CLIENT_ID": client,
           "GUICHET_SMTP_TOKEN_CAFILE": str(tokens.cafile), "GUICHET_DATA_DIR": str(tmp_path)}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(tokens, "device_user", someone_else)
    assert main(["login", "smtp"]) == 10
    err = capsys.readouterr().err
    assert f"connecté comme {someone_else}, pas comme {who}" in err
    assert "« guichet login smtp »" in err
    assert not list((tmp_path / "oauth2").glob("*.json"))


# --- Google Workspace -------------------------------------------------------------------


def service_account(tokens: TokenServer, folder: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    email = f"guichet-{next(_n)}@coopcity-test.iam.gserviceaccount.com"
    tokens.add_service_account(
        email,
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    path = folder / "service-account.json"
    path.write_text(json.dumps({
        "type": "service_account",
        "project_id": "coopcity-test",
        "private_key_id": "k1",
        "private_key": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        "client_email": email,
        "client_id": "1234",
        "token_uri": "https://oauth2.googleapis.com/token",
    }))  # fmt: skip
    return path


def test_google_service_account_acts_as_the_mailbox_and_signs_again_after_expiry(
    oauth_dovecot: DovecotServer, tokens: TokenServer, tmp_path: Path
) -> None:
    who = user()
    deliver(oauth_dovecot, who, "Par Google")
    account = service_account(tokens, tmp_path)
    env = imap_env(oauth_dovecot, tokens, who, tmp_path, AUTH="oauth2-google",
                   SERVICE_ACCOUNT_FILE=str(account), TOKEN_URI=tokens.token_uri)  # fmt: skip
    before = len(tokens.grants(JWT_BEARER_GRANT))
    with open_info(env) as session:
        assert subjects(session) == [b"Par Google"]
    tokens.expire(who)
    with open_info(env) as session:
        assert session.folder_state().messages == 1
    assert len(tokens.grants(JWT_BEARER_GRANT)) - before == 2
    assert {i.scope for i in tokens.tokens_for(who)} == {"https://mail.google.com/"}

    tokens.revoke(client_id=json.loads(account.read_text())["client_email"])
    with pytest.raises(MailboxError) as refused:
        open_info(env).open()
    assert "jeton OAuth2 refusé" in refused.value.message
    assert "GUICHET_IMAP_INFO_SERVICE_ACCOUNT_FILE" in refused.value.message


def test_google_user_refresh_token_signs_in_until_it_is_revoked(
    oauth_dovecot: DovecotServer, tokens: TokenServer, tmp_path: Path
) -> None:
    who = user()
    client = f"google-client-{next(_n)}"
    tokens.add_client(client, "gsecret")
    refresh = tokens.refresh_token_for(who, client, "https://mail.google.com/")
    secret_file = tmp_path / "refresh-token"
    secret_file.write_text(refresh + "\n")
    env = imap_env(oauth_dovecot, tokens, who, tmp_path, AUTH="oauth2-google",
                   CLIENT_ID=client, CLIENT_SECRET="gsecret",
                   REFRESH_TOKEN_FILE=str(secret_file), TOKEN_URI=tokens.token_uri)  # fmt: skip
    with open_info(env) as session:
        assert session.folder_state().messages == 0
    tokens.revoke(user=who)
    with pytest.raises(MailboxError) as refused:
        open_info(env).open()
    message = refused.value.message
    assert "jeton OAuth2 refusé" in message and "GUICHET_IMAP_INFO_REFRESH_TOKEN" in message


# --- servers that want OAuth2, or offer only OAUTHBEARER ---------------------------------


@pytest.fixture(scope="module")
def oauth_only_dovecot(tokens: TokenServer) -> Iterator[DovecotServer]:
    """Like Microsoft 365 since 2022: LOGIN refused, only OAUTHBEARER… and XOAUTH2 here."""
    with oauth2_dovecot(tokens, oauth2_mechanisms=("oauthbearer",), password_login=False) as server:
        yield server


def test_a_password_against_a_server_that_wants_oauth2_says_which_variable_to_set(
    oauth_only_dovecot: DovecotServer, tokens: TokenServer, tmp_path: Path
) -> None:
    who = user()
    env = imap_env(oauth_only_dovecot, tokens, who, tmp_path, PASSWORD="secret")
    with pytest.raises(MailboxError) as refused:
        open_info(env).open()
    message = refused.value.message
    assert "demande OAuth2 (OAUTHBEARER)" in message
    assert "GUICHET_IMAP_INFO_AUTH=oauth2-microsoft" in message
    assert "identifiant ou mot de passe refusé" not in message


def test_oauthbearer_is_used_where_xoauth2_is_not_offered(
    oauth_only_dovecot: DovecotServer, tokens: TokenServer, tmp_path: Path
) -> None:
    who = user()
    deliver(oauth_only_dovecot, who, "Bearer")
    env = imap_env(oauth_only_dovecot, tokens, who, tmp_path, **microsoft_app(tokens, who))
    with open_info(env) as session:
        assert subjects(session) == [b"Bearer"]
    log = (oauth_only_dovecot.directory / "dovecot.log").read_text()
    assert f"user=<{who}>, method=OAUTHBEARER" in log


@pytest.fixture(scope="module")
def xoauth2_only_dovecot(tokens: TokenServer) -> Iterator[DovecotServer]:
    """What the issue met: AUTH=XOAUTH2 offered, LOGIN refused (LOGINDISABLED)."""
    with oauth2_dovecot(tokens, oauth2_mechanisms=("xoauth2",), password_login=False) as server:
        yield server


def test_a_right_password_refused_by_an_xoauth2_server_is_not_called_a_wrong_password(
    xoauth2_only_dovecot: DovecotServer, tokens: TokenServer, tmp_path: Path
) -> None:
    who = user()
    env = imap_env(xoauth2_only_dovecot, tokens, who, tmp_path, PASSWORD="secret")
    with pytest.raises(MailboxError) as refused:
        open_info(env).open()
    assert refused.value.message == (
        f"boîte « info » ({who}) : le serveur n'accepte pas de mot de passe et demande OAuth2 "
        "(XOAUTH2) : régler GUICHET_IMAP_INFO_AUTH=oauth2-microsoft ou oauth2-google selon "
        "l'hébergeur (voir le README)"
    )


def test_oauth2_set_against_servers_without_it_says_to_go_back_to_a_password(
    dovecot: DovecotServer, smtp_relay: SmtpRelay, tokens: TokenServer, tmp_path: Path
) -> None:
    who = "info1@coopcity.test"
    env = imap_env(dovecot, tokens, who, tmp_path, **microsoft_app(tokens, who))
    with pytest.raises(MailboxError) as imap_refused:
        open_info(env).open()
    assert "ne propose pas OAuth2" in imap_refused.value.message
    assert "GUICHET_IMAP_INFO_AUTH=password" in imap_refused.value.message
    env = smtp_env(smtp_relay, tokens, who, tmp_path, **microsoft_app(tokens, who))
    with pytest.raises(SendFailed) as smtp_refused:
        SmtpSender(SmtpSettings.from_env(env)).send(who, [who], b"Subject: x\r\n\r\nx\r\n")
    assert "ne propose pas OAuth2" in smtp_refused.value.message
    assert "GUICHET_SMTP_AUTH=password" in smtp_refused.value.message
    assert not tokens.tokens_for(who)  # no token asked for a server that takes none


# --- SMTP -------------------------------------------------------------------------------


def smtp_env(relay: SmtpRelay, tokens: TokenServer, who: str, data: Path, **extra: str):
    values = {"HOST": "127.0.0.1", "PORT": str(relay.port), "SECURITY": "plain", "USER": who,
              "TOKEN_CAFILE": str(tokens.cafile), **extra}  # fmt: skip
    return {f"GUICHET_SMTP_{k}": v for k, v in values.items()} | {"GUICHET_DATA_DIR": str(data)}


def test_smtp_sends_with_xoauth2_and_a_revoked_application_is_a_refused_token(
    oauth_relay: SmtpRelay, oauth_dovecot: DovecotServer, tokens: TokenServer, tmp_path: Path
) -> None:
    who, rcpt = user(), user()
    env = smtp_env(oauth_relay, tokens, who, tmp_path, **microsoft_app(tokens, who))
    sender = SmtpSender(SmtpSettings.from_env(env))
    raw = f"From: {who}\r\nTo: {rcpt}\r\nSubject: Accuse\r\n\r\nbien recu\r\n".encode()
    sender.send(who, [rcpt], raw)
    assert ("XOAUTH2", who) in oauth_relay.handler.signed_in
    with oauth_dovecot.mailbox(rcpt) as box:
        box.folder.set("INBOX")
        assert [m.subject for m in box.fetch(mark_seen=False)] == ["Accuse"]

    tokens.revoke(client_id=env["GUICHET_SMTP_CLIENT_ID"])
    with pytest.raises(SendFailed) as refused:
        sender.send(who, [rcpt], raw)
    assert refused.value.temporary
    assert "jeton OAuth2 refusé" in refused.value.message
    assert "par le serveur de jetons (invalid_client" in refused.value.message
    assert "GUICHET_SMTP_CLIENT_SECRET" in refused.value.message
    assert "mot de passe" not in refused.value.message


def test_smtp_password_against_a_server_that_wants_oauth2_says_which_variable_to_set(
    oauth_relay: SmtpRelay, tokens: TokenServer, tmp_path: Path
) -> None:
    who = user()
    env = smtp_env(oauth_relay, tokens, who, tmp_path, PASSWORD="secret")
    with pytest.raises(SendFailed) as refused:
        SmtpSender(SmtpSettings.from_env(env)).send(who, [who], b"Subject: x\r\n\r\nx\r\n")
    message = refused.value.message
    assert "demande OAuth2 (" in message and "XOAUTH2" in message
    assert "GUICHET_SMTP_AUTH=oauth2-microsoft" in message
    assert "identifiants SMTP refusés" not in message


def test_smtp_token_refused_by_the_server_after_a_fresh_try(
    oauth_relay: SmtpRelay, tokens: TokenServer, tmp_path: Path
) -> None:
    granted, wanted = user(), user()
    env = smtp_env(oauth_relay, tokens, wanted, tmp_path, **microsoft_app(tokens, granted))
    with pytest.raises(SendFailed) as refused:
        SmtpSender(SmtpSettings.from_env(env)).send(wanted, [wanted], b"Subject: x\r\n\r\nx\r\n")
    assert "jeton OAuth2 refusé par le serveur" in refused.value.message
    assert "SMTP.SendAsApp" in refused.value.message
    client = env["GUICHET_SMTP_CLIENT_ID"]
    assert len([i for i in tokens.issued.values() if i.client_id == client]) == 2


# --- the whole cycle ----------------------------------------------------------------------


def test_poll_once_over_a_microsoft_and_a_google_mailbox(
    oauth_dovecot: DovecotServer,
    tokens: TokenServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from guichet.cli import main
    from tests.mails import brussels, sample

    info, programme = user(), user()
    oauth_dovecot.append(info, sample("pe004"), brussels(2026, 9, 2, 11, 30))
    oauth_dovecot.append(programme, sample("pe005"), brussels(2026, 9, 10, 8, 0, 12))
    env = imap_env(oauth_dovecot, tokens, info, tmp_path / "var", **microsoft_app(tokens, info))
    google = imap_env(oauth_dovecot, tokens, programme, tmp_path / "var", AUTH="oauth2-google",
                      SERVICE_ACCOUNT_FILE=str(service_account(tokens, tmp_path)),
                      TOKEN_URI=tokens.token_uri)  # fmt: skip
    env |= {k.replace("_INFO_", "_PROGRAMME_"): v for k, v in google.items()}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GUICHET_DATABASE_URL", raising=False)
    monkeypatch.setenv("GUICHET_PROGRAMME", "blossom-2026")
    assert main(["poll", "--once"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Boîte « info » (info@coopcity.be) : 1 nouveau courriel")
    assert out[1].startswith("Boîte « programme » (matthias@coopcity.be) : 1 nouveau courriel")
    assert {i.user for i in tokens.issued.values()} >= {info, programme}


# --- guichet doctor on OAuth2 mailboxes ------------------------------------------------------


def test_doctor_signs_in_with_oauth2_and_a_revoked_token_is_never_a_password_to_check(
    oauth_dovecot: DovecotServer, oauth_relay: SmtpRelay, tokens: TokenServer, tmp_path: Path
) -> None:
    from guichet.checkup import check_mailbox, check_smtp

    who = user()
    env = imap_env(oauth_dovecot, tokens, who, tmp_path, **microsoft_app(tokens, who))
    spec = MailboxSpec(id="info", address=who)
    smtp = smtp_env(oauth_relay, tokens, who, tmp_path, **microsoft_app(tokens, who))

    checks = check_mailbox(settings_from_env(spec, env)) + check_smtp(smtp)
    assert all(c.ok for c in checks), [c.line() for c in checks if not c.ok]
    assert any("identification" in c.what and who in c.detail for c in checks)

    tokens.revoke(client_id=env[env_name("info", "CLIENT_ID")])
    tokens.revoke(client_id=smtp["GUICHET_SMTP_CLIENT_ID"])
    oauth2.forget_sources()
    refused = [
        c for c in check_mailbox(settings_from_env(spec, env)) + check_smtp(smtp) if not c.ok
    ]
    assert [c.what for c in refused] == ["boîte « info » : identification", "envoi (SMTP) : identification"]
    for check in refused:
        text = check.detail + " " + (check.fix or "")
        assert "jeton OAuth2 refusé" in check.detail
        assert "mot de passe" not in text
        assert "guichet login" in (check.fix or "")
