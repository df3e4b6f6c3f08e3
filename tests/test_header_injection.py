"""No applicant text can add a header to a mail guichet sends, whatever the Python version
(issue #11, point 1; CVE-2024-6923: before 3.11.10 the serialiser decoded an RFC 2047
word and wrote the line break it hid). Every test reads the bytes built: header lines
are printable ASCII, end in CRLF, and are only the ones guichet sets."""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import io
import re
import zipfile
from typing import Any

import pytest

from config.programme import load_programme
from guichet.errors import DeliveryError
from notifications.compose import (
    Rendered,
    bare_address,
    build_mail,
    check_headers,
    message_ids,
    new_message_id,
    render,
)
from notifications.outbox import writable
from notifications.plan import APPLICANT_KINDS
from notifications.wording import header_text, one_line
from tests.test_compose import context

BLOSSOM = load_programme("blossom-2026")
INJECTED = b"Evil\r\nBcc: attacker@example.net\r\nX-Injected: yes"
EVIL_B = "Coop =?utf-8?B?" + base64.b64encode(INJECTED).decode() + "?="
EVIL_Q = "Coop =?utf-8?q?Evil=0D=0ABcc:_attacker@example.net=0D=0AX-Injected:_yes?="
HOSTILE = [
    EVIL_B,
    EVIL_Q,
    "Coop=?utf-8?B?" + base64.b64encode(INJECTED).decode() + "?=suite",  # inside a word
    "Coop =\x00?utf-8?B?" + base64.b64encode(INJECTED).decode() + "?=",  # « =?» once NUL goes
    "Coop\r\nBcc: attacker@example.net\r\nX-Injected: yes",
    "Coop\nBcc: attacker@example.net",
    "Coop\rBcc: attacker@example.net",
    "Coop\x00Bcc: attacker@example.net",
    "Coop\u2028Bcc: attacker@example.net\u2029X-Injected: yes",
    "Coop\x85Bcc: attacker@example.net",  # NEL, a C1 control
    "Coop \u202egnp.exe\u200b\ufeff",  # bidirectional override, zero-width characters
]
DATE = dt.datetime(2026, 9, 3, 9, 5, tzinfo=dt.UTC)
# printable ASCII only, the header name first; a continuation starts with a blank
HEADER_LINE = re.compile(rb"[!-9;-~]+:[\t -~]*")
CONTINUATION = re.compile(rb"[\t ][\t -~]*")


def header_blocks(raw: bytes) -> list[list[bytes]]:
    """The header lines of the mail and of each of its parts, as serialised."""
    assert b"\r\n\r\n" in raw
    top, body = raw.split(b"\r\n\r\n", 1)
    blocks = [top.split(b"\r\n")]
    for boundary in re.findall(rb'boundary="([^"]+)"', raw):
        for chunk in body.split(b"--" + boundary + b"\r\n")[1:]:
            blocks.append(chunk.split(b"\r\n\r\n", 1)[0].split(b"\r\n"))
    return blocks


def assert_safe(raw: bytes) -> email.message.EmailMessage:
    """Every header line of ``raw`` is safe; the mail as a client reads it."""
    assert b"\x00" not in raw
    assert not re.search(rb"\r(?!\n)|(?<!\r)\n", raw), "a bare CR or LF"
    for block in header_blocks(raw):
        for line in block:
            assert HEADER_LINE.fullmatch(line) or CONTINUATION.fullmatch(line), line
            assert not re.match(rb"(?i)(bcc|cc|x-injected)\s*:", line), line
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    for part in parsed.walk():
        assert not {"bcc", "cc", "x-injected"} & {k.lower() for k in part.keys()}
        for name, value in part.items():
            text = str(value)
            assert not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202e\u200b\ufeff]", text), (
                name,
                text,
            )
            assert "=?" not in text, (name, text)  # nothing left to decode a second time
    return parsed  # type: ignore[return-value]


def build(rendered: Rendered, **over: Any) -> bytes:
    arguments: dict[str, Any] = {
        "sender_name": "COOPCITY – BLOSSOM 2026-2027",
        "sender": "info@coopcity.be",
        "recipient": "alice@example.org",
        "message_id": new_message_id("info@coopcity.be"),
        "date": DATE,
        "in_reply_to": "<orig@example.org>",
        "references": ["<root@example.org>"],
    }
    arguments.update(over)
    return build_mail(rendered, **arguments)


@pytest.mark.parametrize("kind", APPLICANT_KINDS)
def test_an_encoded_word_in_a_structure_name_adds_no_header(kind: str) -> None:
    rendered = render(kind, context(structure=EVIL_B, decision="retenu"))
    parsed = assert_safe(build(rendered))
    assert "Coop = ?utf-8?B?" in str(parsed["Subject"])  # shown as written, never decoded


@pytest.mark.parametrize("hostile", HOSTILE)
def test_the_subject_cannot_carry_a_header(hostile: str) -> None:
    parsed = assert_safe(build(Rendered(subject=f"Accusé de réception – {hostile}", text="x", html="x")))
    assert str(parsed["Subject"]).startswith("Accusé de réception – Coop")


@pytest.mark.parametrize("hostile", HOSTILE)
def test_the_display_name_cannot_carry_a_header(hostile: str) -> None:
    parsed = assert_safe(build(render("accuse", context()), sender_name=hostile))
    sender = parsed["From"].addresses[0]
    assert sender.addr_spec == "info@coopcity.be" and sender.display_name.startswith("Coop")


@pytest.mark.parametrize("hostile", HOSTILE)
def test_an_attachment_name_cannot_carry_a_header(hostile: str) -> None:
    attachments = ((f"{hostile}.xlsx", "application/octet-stream", b"PK\x03\x04data"),)
    parsed = assert_safe(build(render("accuse", context()), attachments=attachments))
    names = [part.get_filename() for part in parsed.iter_attachments()]
    assert len(names) == 1 and names[0].startswith("Coop") and names[0].endswith(".xlsx")


@pytest.mark.parametrize("hostile", HOSTILE)
def test_threading_ids_from_the_applicants_mail_cannot_carry_a_header(hostile: str) -> None:
    raw = build(
        render("accuse", context()),
        in_reply_to=f"<{hostile}@example.org>",
        references=[f"<{hostile}>", "<root@example.org>"],
    )
    parsed = assert_safe(raw)
    assert parsed["In-Reply-To"] is None  # an id that is not plain ASCII is dropped
    assert str(parsed["References"]) == "<root@example.org>"


@pytest.mark.parametrize(
    "recipient",
    [
        "=?utf-8?B?" + base64.b64encode(INJECTED).decode()[:40] + "?=@example.org",
        "alice@=?utf-8?q?x=0D=0ABcc:_a@b.c?=",
        "alice\x00@example.org",
        "alice@example.org\r\nBcc: attacker@example.net",
        "alice\u2028@example.org",
        '"alice bob"@example.org',
        "alice@exa mple.org",
        "Alice <alice@example.org>",
        "alice@example.org, bob@example.org",
        "élodie@example.org",
    ],
)
def test_a_reply_address_that_is_not_a_plain_addr_spec_is_never_written_to(
    recipient: str,
) -> None:
    assert bare_address(recipient) is None
    assert not writable(recipient, BLOSSOM)
    with pytest.raises(DeliveryError):
        build(render("accuse", context()), recipient=recipient)


def test_plain_and_international_reply_addresses_are_kept() -> None:
    assert bare_address(" Alice.O'Neil+blossom@example.org ") == "Alice.O'Neil+blossom@example.org"
    assert bare_address("info@coopé.be") == "info@xn--coop-epa.be"
    parsed = assert_safe(build(render("accuse", context()), recipient="info@coopé.be"))
    assert str(parsed["To"]) == "info@xn--coop-epa.be"


def test_message_ids_are_printable_ascii_without_encoded_words() -> None:
    ids = ["<a@b>", "<a=?b@c>", "<=?utf-8?q?x?=@c>", "<é@c>", "<a\x00@b>", "<a b@c>", "<a@b>"]
    assert message_ids(ids) == ["<a@b>"]
    with pytest.raises(DeliveryError):
        build(render("accuse", context()), message_id="<=?utf-8?q?x?=@coopcity.be>")


def test_header_text_neutralises_encoded_words_and_invisible_characters() -> None:
    assert header_text(EVIL_B, 200) == EVIL_B.replace("=?", "= ?")
    assert header_text("a=\x00?b\u2028c\u202ed\u200be", 50) == "a= ?b cde"
    assert header_text("=?" * 200, 20).count("=?") == 0
    assert len(header_text("é" * 500, 200)) == 200
    assert one_line("statuts\u202efdp.exe") == "statutsfdp.exe"  # cells and text lines too


def test_the_last_check_refuses_bytes_with_an_unexpected_header() -> None:
    raw = build(render("accuse", context()))
    check_headers(raw)  # what build_mail returns passes
    for bad in (
        raw.replace(b"Subject:", b"Bcc: attacker@example.net\r\nSubject:", 1),
        raw.replace(b"Subject:", b"X-Injected: yes\r\nSubject:", 1),
        raw.replace(b"\r\nTo: ", b"\nTo: ", 1),
        raw.replace(b"Subject: ", b"Subject: \xc3\xa9", 1),
        raw.replace(b"Subject: ", b"Subject: \x00", 1),
    ):
        with pytest.raises(DeliveryError):
            check_headers(bad)


def test_content_language_is_set() -> None:
    parsed = assert_safe(build(render("accuse", context())))
    assert parsed["Content-Language"] == "fr"


# --- end to end: a dossier's structure name, through SMTP and into the Sent folder ------


def evil_dossier(name: str = "g03-mixed-labels-npar3.docx") -> bytes:
    """A generated dossier whose « Nom de l'entreprise » is ``EVIL_B``."""
    from tests.stores import DOSSIERS

    out = io.BytesIO()
    with zipfile.ZipFile(DOSSIERS / name) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                assert "Vélo Solidaire".encode() in data
                data = data.replace("Vélo Solidaire".encode(), EVIL_B.encode())
            target.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def raw_mails(dovecot: Any, user: str, folder: str) -> list[bytes]:
    """The mails of ``folder`` exactly as the IMAP server holds them."""
    with dovecot.mailbox(user) as box:
        if not box.folder.exists(folder):
            return []
        box.folder.set(folder)
        client = box.client
        typ, data = client.uid("SEARCH", None, "ALL")
        assert typ == "OK"
        out = []
        for uid in data[0].split():
            typ, fetched = client.uid("FETCH", uid, "(BODY.PEEK[])")
            assert typ == "OK"
            out.append(next(item[1] for item in fetched if isinstance(item, tuple)))
        return out


def test_a_hostile_structure_name_goes_out_and_into_sent_without_a_header(
    accounts: Any, smtp_relay: Any, sqlite_store: Any, applicant: str, dovecot: Any, checker: Any
) -> None:
    from ingest.mailbox import programme_mailboxes
    from ingest.poll import run_cycle
    from notifications.jobs import Notifier, smtp_sender
    from tests.mails import brussels, build as build_incoming
    from tests.servers import guichet_smtp_env

    env = {**accounts.env, **guichet_smtp_env(smtp_relay)}
    incoming = build_incoming(
        sender=f"Fatima El Amrani <{applicant}>",
        subject="Dossier de candidature",  # no structure name: the dossier's is taken
        message_id="<evil-1@example.org>",
        files={"dossier.docx": evil_dossier()},
    )
    accounts.append("info", incoming, brussels(2026, 9, 3, 9, 0))
    now = brussels(2026, 9, 3, 9, 2)
    mailboxes = programme_mailboxes(BLOSSOM.mailboxes, env)
    run_cycle(sqlite_store, BLOSSOM, mailboxes, now, checker=checker)
    before = len(smtp_relay.received)
    report = Notifier(sqlite_store, BLOSSOM, env, smtp_sender(env)).run(now)
    assert len(report.delivery.sent) == 1

    envelope_from, recipients, smtp_bytes = smtp_relay.received[before]
    assert recipients == [applicant]  # nobody else, whatever the headers say
    delivered = raw_mails(dovecot, applicant, "INBOX")
    sent = raw_mails(dovecot, accounts.users["info"], "Sent")
    assert len(delivered) == 1 and len(sent) == 1
    for raw in (smtp_bytes, delivered[0], sent[0]):
        if raw is not smtp_bytes:  # the server prepends its own trace headers
            raw = raw[raw.index(b"From: ") :]
        parsed = assert_safe(raw)
        assert "Coop = ?utf-8?B?" in str(parsed["Subject"])
