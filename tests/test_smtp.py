"""SMTP settings and the sender against aiosmtpd on loopback: implicit TLS, STARTTLS with
authentication, certificate checks, and how refusals are classed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from guichet.errors import ConfigError
from notifications.smtp import SendFailed, SmtpSender, SmtpSettings
from tests.servers import HOSTNAME, free_port, self_signed_certificate

RAW = b"From: info@coopcity.be\r\nTo: a@example.org\r\nSubject: test\r\n\r\nBonjour\r\n"


class Recorder:
    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("refuse"):
            return "550 5.1.1 no such user"
        if address.startswith("later"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("smtp-tls"))


def _server_context(certificate: tuple[Path, Path]) -> Any:
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult

    return AuthResult(success=auth_data.login == b"info" and auth_data.password == b"s3cret")


@pytest.fixture
def implicit_tls(certificate: tuple[Path, Path]) -> Iterator[tuple[Any, Recorder]]:
    from aiosmtpd.controller import Controller

    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(),
                            ssl_context=_server_context(certificate))  # fmt: skip
    controller.start()
    yield controller, recorder
    controller.stop()


@pytest.fixture
def starttls(certificate: tuple[Path, Path]) -> Iterator[tuple[Any, Recorder]]:
    from aiosmtpd.controller import Controller

    recorder = Recorder()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=free_port(), tls_context=_server_context(certificate),
        require_starttls=True, authenticator=_authenticator, auth_required=True,
    )  # fmt: skip
    controller.start()
    yield controller, recorder
    controller.stop()


def settings(port: int, **over: Any) -> SmtpSettings:
    return SmtpSettings(**{"host": HOSTNAME, "port": port, "timeout": 10, **over})


def test_settings_come_from_the_environment_with_safe_defaults(tmp_path: Path) -> None:
    secret = tmp_path / "smtp"
    secret.write_text("s3cret\n")
    found = SmtpSettings.from_env({"GUICHET_SMTP_HOST": "smtp.example.org", "GUICHET_SMTP_USER": "info",
                                   "GUICHET_SMTP_PASSWORD_FILE": str(secret)})  # fmt: skip
    assert (found.port, found.security, found.verify, found.password) == (
        465,
        "ssl",
        True,
        "s3cret",
    )
    assert "s3cret" not in repr(found)
    assert (
        SmtpSettings.from_env({"GUICHET_SMTP_HOST": "h", "GUICHET_SMTP_SECURITY": "starttls"}).port
        == 587
    )


@pytest.mark.parametrize(("env", "words"), [
    ({}, "GUICHET_SMTP_HOST"),
    ({"GUICHET_SMTP_HOST": "smtp.example.org", "GUICHET_SMTP_SECURITY": "plain"}, "machine locale"),
    ({"GUICHET_SMTP_HOST": "h", "GUICHET_SMTP_SECURITY": "tls13"}, "inconnu"),
    ({"GUICHET_SMTP_HOST": "h", "GUICHET_SMTP_PORT": "smtp"}, "n'est pas un port"),
    ({"GUICHET_SMTP_HOST": "h", "GUICHET_SMTP_USER": "u"}, "PASSWORD_FILE"),
])  # fmt: skip
def test_bad_settings_are_named(env: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        SmtpSettings.from_env(env)


def test_implicit_tls_with_a_verified_certificate(
    implicit_tls: tuple[Any, Recorder], certificate: tuple[Path, Path]
) -> None:
    controller, recorder = implicit_tls
    SmtpSender(settings(controller.port, cafile=str(certificate[0]))).send(
        "info@coopcity.be", ["a@example.org"], RAW
    )
    assert recorder.mails == [("info@coopcity.be", ["a@example.org"], RAW)]


def test_an_unknown_certificate_is_refused_and_retried_later(
    implicit_tls: tuple[Any, Recorder],
) -> None:
    controller, recorder = implicit_tls
    with pytest.raises(SendFailed, match="certificat refusé") as failed:
        SmtpSender(settings(controller.port)).send("info@coopcity.be", ["a@example.org"], RAW)
    assert failed.value.temporary and recorder.mails == []


def test_starttls_with_authentication(
    starttls: tuple[Any, Recorder], certificate: tuple[Path, Path]
) -> None:
    controller, recorder = starttls
    good = settings(controller.port, security="starttls", cafile=str(certificate[0]), user="info",
                    password="s3cret")  # fmt: skip
    SmtpSender(good).send("info@coopcity.be", ["a@example.org"], RAW)
    assert len(recorder.mails) == 1
    # aiosmtpd leaves smtplib's second mechanism unanswered: a short timeout ends it.
    wrong = settings(controller.port, security="starttls", cafile=str(certificate[0]), user="info",
                     password="nope", timeout=1)  # fmt: skip
    with pytest.raises(SendFailed, match="identifiants") as failed:
        SmtpSender(wrong).send("info@coopcity.be", ["a@example.org"], RAW)
    assert failed.value.temporary  # a wrong setting is fixed, the mail must not be lost


def test_a_server_requiring_starttls_refuses_plain_for_now_not_for_good(
    starttls: tuple[Any, Recorder],
) -> None:
    controller, recorder = starttls
    with pytest.raises(SendFailed) as failed:
        SmtpSender(settings(controller.port, security="plain", host="127.0.0.1")).send(
            "info@coopcity.be", ["a@example.org"], RAW
        )
    assert failed.value.temporary and recorder.mails == []


@pytest.mark.parametrize(
    ("recipient", "temporary"), [("refuse@example.org", False), ("later@example.org", True)]
)
def test_recipient_refusals_are_classed_by_their_code(
    implicit_tls: tuple[Any, Recorder],
    certificate: tuple[Path, Path],
    recipient: str,
    temporary: bool,
) -> None:
    controller, _ = implicit_tls
    sender = SmtpSender(settings(controller.port, cafile=str(certificate[0])))
    with pytest.raises(SendFailed, match="destinataire refusé") as failed:
        sender.send("info@coopcity.be", [recipient], RAW)
    assert failed.value.temporary is temporary


def test_a_server_that_is_down_is_temporary() -> None:
    with pytest.raises(SendFailed, match="injoignable") as failed:
        SmtpSender(settings(free_port(), security="plain", host="127.0.0.1")).send(
            "info@coopcity.be", ["a@example.org"], RAW
        )
    assert failed.value.temporary


def test_an_address_with_a_line_break_never_reaches_the_server() -> None:
    with pytest.raises(SendFailed, match="adresse invalide") as failed:
        SmtpSender(settings(free_port())).send(
            "info@coopcity.be", ["a@example.org\r\nRCPT TO:<b@c.d>"], RAW
        )
    assert not failed.value.temporary
