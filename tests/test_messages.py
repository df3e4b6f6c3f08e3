"""Messages for the coordinators, the pure parts: what counts as a new file
(``triage.messages``), and when a message gets « Message reçu » (``notifications.plan``)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from config.programme import load_programme
from notifications.plan import (
    ACCUSE,
    MESSAGE_RECU,
    RELANCE,
    ApplicationFacts,
    MailFacts,
    due_mails,
    message_ack,
)
from notifications.compose import render
from parsers.message import Attachment, read_message
from tests.mails import JPEG, brussels
from tests.test_compose import context
from triage.messages import brings_new_file, is_new_file

BLOSSOM = load_programme("blossom-2026")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
VCARD = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Fatima El Amrani\r\nEND:VCARD\r\n"


def file(name: str, data: bytes, kind: str, content_type: str) -> Attachment:
    return Attachment(filename=name, data=data, kind=kind, content_type=content_type)


@pytest.mark.parametrize(
    ("attachment", "new"),
    [
        (file("Fatima El Amrani.vcf", VCARD, "text", "text/x-vcard"), False),
        (file("contact", VCARD, "text", "text/vcard"), False),
        (file("invite.ics", b"BEGIN:VCALENDAR", "text", "text/calendar"), False),
        (file("logo.png", PNG + bytes(20_000), "png", "image/png"), False),
        (file("IMG_2041.jpg", JPEG + bytes(400_000), "jpeg", "image/jpeg"), True),  # a scan
        (file("CV.pdf", b"%PDF-1.4 cv", "pdf", "application/pdf"), True),
        (file("notes.txt", b"mes notes", "text", "text/plain"), True),  # unknown: a file
    ],
)
def test_what_counts_as_a_new_file(attachment: Attachment, new: bool) -> None:
    assert is_new_file(attachment) is new


def reply(*parts: tuple[bytes, str, str, str | None, bool]) -> bytes:
    """A reply with an HTML body and the parts given (data, type, name, content id, inline)."""
    msg = EmailMessage()
    msg["From"] = "fatima@velosolidaire.be"
    msg["To"] = "info@coopcity.be"
    msg["Subject"] = "Re: Accusé de réception – Vélo Solidaire – BLOSSOM 2026-2027"
    msg.set_content("Le numéro d’entreprise est faux.\n")
    msg.add_alternative("<p>Le numéro d’entreprise est faux.</p><img src='cid:logo'>", "html")
    for data, ctype, name, cid, inline in parts:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name,
                           disposition="inline" if inline else "attachment")  # fmt: skip
        if cid:
            msg.get_payload()[-1]["Content-ID"] = f"<{cid}>"
    return msg.as_bytes()


def test_a_reply_with_a_signature_logo_and_a_vcard_brings_no_new_file() -> None:
    raw = reply(
        (PNG + bytes(90_000), "image/png", "image001.png", "logo", True),
        (VCARD, "text/x-vcard", "Fatima El Amrani.vcf", None, False),
        (PNG + bytes(9_000), "image/png", "facebook.png", None, False),
    )
    assert not brings_new_file(read_message(raw).attachments)


def test_a_reply_with_the_cv_brings_a_new_file() -> None:
    raw = reply(
        (VCARD, "text/x-vcard", "Fatima El Amrani.vcf", None, False),
        (b"%PDF-1.4 cv", "application/pdf", "CV référente.pdf", None, False),
    )
    assert brings_new_file(read_message(raw).attachments)


# --- « Message reçu » ---------------------------------------------------------------------

DOSSIER = MailFacts(1, brussels(2026, 9, 3, 9, 0))
ACK = brussels(2026, 9, 3, 9, 2)  # our acknowledgement of it


def facts(messages: list[MailFacts], **over: object) -> ApplicationFacts:
    values: dict[str, object] = dict(
        id=7, status="incomplet", mails=(DOSSIER,), covered=frozenset({1}),
        keys=frozenset({"accuse:7:1"}), last_written_at=ACK, missing=frozenset({"annexe.cv"}),
        messages=tuple(messages), answered_at=ACK,
    )  # fmt: skip
    values.update(over)
    return ApplicationFacts(**values)  # type: ignore[arg-type]


def test_a_message_after_our_last_answer_gets_one_message_recu_threaded_to_it() -> None:
    first = MailFacts(2, brussels(2026, 9, 4, 10, 0))
    second = MailFacts(3, brussels(2026, 9, 4, 10, 30))
    due = message_ack(facts([first, second]))
    assert due is not None
    assert (due.kind, due.key, due.answers) == (MESSAGE_RECU, "message_recu:7:3", 3)


def test_a_message_our_answer_followed_gets_none() -> None:
    before = MailFacts(2, brussels(2026, 9, 3, 9, 1))  # arrived with the dossier
    assert message_ack(facts([before])) is None


def test_a_message_a_coordinator_dealt_with_gets_none() -> None:
    message = MailFacts(2, brussels(2026, 9, 4, 10, 0))
    assert message_ack(facts([message], dealt=frozenset({2}))) is None


def test_at_most_one_message_recu_a_day() -> None:
    acked = brussels(2026, 9, 4, 10, 2)
    soon = MailFacts(3, brussels(2026, 9, 4, 16, 0))
    next_day = MailFacts(4, brussels(2026, 9, 5, 10, 3))
    over = dict(answered_at=acked, message_ack_at=acked)
    assert message_ack(facts([MailFacts(2, brussels(2026, 9, 4, 10, 0)), soon], **over)) is None
    due = message_ack(facts([soon, next_day], **over))
    assert due is not None and due.answers == 4


def test_an_answer_comes_before_a_message_recu_and_a_message_recu_before_a_chaser() -> None:
    now = brussels(2026, 9, 7, 10, 0)  # the follow-up is due (4 days after the dossier)
    message = MailFacts(2, brussels(2026, 9, 7, 9, 0))
    assert [d.kind for d in due_mails(facts([]), BLOSSOM, now)] == [RELANCE]
    assert [d.kind for d in due_mails(facts([message]), BLOSSOM, now)] == [MESSAGE_RECU]
    supplement = MailFacts(5, brussels(2026, 9, 7, 9, 30))
    both = facts([message], mails=(DOSSIER, supplement))
    assert [d.kind for d in due_mails(both, BLOSSOM, now)] == ["complement"]
    assert ACCUSE not in [d.kind for d in due_mails(both, BLOSSOM, now)]


def test_message_recu_asks_for_no_file_after_the_deadline() -> None:
    before = render(MESSAGE_RECU, context())
    after = render(MESSAGE_RECU, context(deadline_passed=True))
    assert "Pour ajouter une pièce" in before.text and "Pour ajouter une pièce" in before.html
    assert "Pour ajouter une pièce" not in after.text + after.html
    assert "Nous avons bien reçu votre message" in " ".join(after.text.split())
