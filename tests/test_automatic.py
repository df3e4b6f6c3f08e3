"""Automatic mail is never answered (triage.automatic): RFC 3834 and helpdesk lore."""

from __future__ import annotations

import pytest

from parsers.message import read_message
from triage.automatic import automatic_reason

BASE = {
    "From": "Marie Dupont <marie@asbl-exemple.be>",
    "To": "matthias@coopcity.be",
    "Subject": "Dossier de candidature – COOPCITY 2026 – ASBL Exemple",
    "Date": "Wed, 09 Sep 2026 14:00:00 +0200",
    "Message-ID": "<x@asbl-exemple.be>",
}


def mail(
    body: str = "Bonjour.\n", content_type: str = "text/plain; charset=utf-8", **headers: str
) -> bytes:
    fields = dict(BASE)
    for name, value in headers.items():
        name = name.replace("_", "-")
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    head = "".join(f"{k}: {v}\n" for k, v in fields.items())
    return f"{head}MIME-Version: 1.0\nContent-Type: {content_type}\n\n{body}".encode()


def reason(raw: bytes) -> str | None:
    return automatic_reason(read_message(raw))


def test_a_person_writing_is_not_automatic() -> None:
    assert reason(mail()) is None


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Auto_Submitted": "auto-generated"},
        {"Auto_Submitted": "auto-notified; owner-email=x@y"},
        {"Precedence": "bulk"},
        {"Precedence": "junk"},
        {"Precedence": "list"},
        {"Precedence": "auto_reply"},
        {"List_Id": "Newsletter <news.example.org>"},
        {"List_Unsubscribe": "<mailto:unsubscribe@example.org>"},
        {"Return_Path": "<>"},
        {"X_Auto_Response_Suppress": "All"},
        {"X_Autoreply": "yes"},
        {"X_Autorespond": "Je suis absente"},
        {"From": "MAILER-DAEMON@mx.example.org"},
        {"From": "Mail Delivery Subsystem <postmaster@example.org>"},
        {"From": "COOPCITY <noreply@example.org>"},
        {"From": "Plateforme <no-reply@example.org>"},
        {"From": "Gmail Team <gmail-noreply@google.com>"},
        {"From": "<ne-pas-repondre@example.fr>"},
        {"Subject": "Réponse automatique : Dossier de candidature"},
        {"Subject": "Absence du bureau"},
        {"Subject": "Out of Office: dossier"},
        {"Subject": "Automatic reply: Dossier de candidature"},
        {"Subject": "Undeliverable: Dossier de candidature"},
        {"Subject": "Delivery Status Notification (Failure)"},
        {"Subject": "Non remis : Dossier de candidature"},
        {"Subject": "RE: Réponse automatique : absente"},
        {"Subject": "Accusé de réception", "X_Loop": "marie@asbl-exemple.be"},
    ],
)
def test_automatic(headers: dict[str, str]) -> None:
    assert reason(mail(**headers)) is not None


def test_auto_submitted_no_is_a_person() -> None:
    assert reason(mail(Auto_Submitted="no")) is None


def test_a_person_asking_for_an_acknowledgement_is_answered() -> None:
    assert reason(mail(Subject="Accusé de réception ?")) is None


def test_names_that_merely_contain_robot_words_are_people() -> None:
    assert reason(mail(From="Noémie Replyson <noemie.reply@example.be>")) is None
    assert reason(mail(From="Bounce Asbl <contact@bounce-asbl.be>")) is None


def test_delivery_report() -> None:
    body = (
        "--b\nContent-Type: text/plain\n\nFailed.\n"
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
        "Final-Recipient: rfc822; a@b.c\nAction: failed\nStatus: 5.1.1\n--b--\n"
    )
    raw = mail(
        body,
        'multipart/report; report-type=delivery-status; boundary="b"',
        From="Mail System <mail@example.org>",
        Subject="Problème",
    )
    assert "rapport" in reason(raw)


def test_read_receipt_report() -> None:
    body = (
        "--b\nContent-Type: text/plain\n\nLu.\n"
        "--b\nContent-Type: message/disposition-notification\n\nFinal-Recipient: rfc822; a@b.c\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\n--b--\n"
    )
    raw = mail(
        body,
        'multipart/report; report-type=disposition-notification; boundary="b"',
        Subject="Lu : Dossier",
    )
    assert reason(raw) is not None
