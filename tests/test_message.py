"""Reading a raw mail: headers, body, every attachment (parsers.message)."""

from __future__ import annotations

import datetime as dt
import email.policy
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guichet.errors import UnreadableMessage
from parsers.message import read_message
from tests.fixtures.build_emails import (
    b64,
    enc_b,
    enc_q,
    file_part,
    logo_png,
    multipart,
    text_docx,
    text_part,
    text_pdf,
)

HEAD = (
    "From: Marie Dupont <marie@asbl.be>\nTo: matthias@coopcity.be\nSubject: Test\n"
    "Date: Wed, 09 Sep 2026 14:00:00 +0200\nMessage-ID: <m1@asbl.be>\nMIME-Version: 1.0\n"
)
PDF = text_pdf(["Statuts"])


def raw(body: str, head: str = HEAD) -> bytes:
    return (head + body).encode("utf-8")


def names(message) -> list[str]:
    return [a.filename for a in message.attachments]


def test_headers_addresses_and_threading() -> None:
    head = (
        "Received: from a by mx.coopcity.be; Wed, 09 Sep 2026 16:12:40 +0200 (CEST)\n"
        "Received: from b by relay; Wed, 09 Sep 2026 16:12:38 +0200\n"
        "Reply-To: Secrétariat <secretariat@asbl.be>\nIn-Reply-To: <a@x>\n"
        "References: <a@x>\n <b@y> bogus\n"
        + HEAD.replace("Subject: Test", f"Subject: {enc_q('Réponse à « vous »')}")
    )
    m = read_message(raw("Content-Type: text/plain\n\nBonjour.\n", head))
    assert m.subject == "Réponse à « vous »"
    assert (m.sender, m.sender_name, m.reply_to) == (
        "marie@asbl.be",
        "Marie Dupont",
        "secretariat@asbl.be",
    )
    assert m.message_id == "<m1@asbl.be>" and m.in_reply_to == "<a@x>"
    assert m.references == ("<a@x>", "<b@y>")
    assert m.date == dt.datetime(2026, 9, 9, 12, 0, tzinfo=dt.UTC)
    assert m.received_at == dt.datetime(2026, 9, 9, 14, 12, 40, tzinfo=dt.UTC)
    assert m.body == "Bonjour."


def test_reply_address_falls_back_to_from() -> None:
    m = read_message(raw("Content-Type: text/plain\n\nx\n"))
    assert m.reply_to == "marie@asbl.be" and m.received_at is None


@pytest.mark.parametrize("charset", ["utf-8", "iso-8859-1", "windows-1252"])
def test_encoded_subject_any_charset(charset: str) -> None:
    subject = "Dossier de candidature - COOPCITY 2026 - Crèche"
    for encoded in (enc_q(subject, charset), enc_b(subject, charset)):
        m = read_message(
            raw(
                "Content-Type: text/plain\n\nx\n",
                HEAD.replace("Subject: Test", f"Subject: {encoded}"),
            )
        )
        assert m.subject == subject


def test_8bit_header_bytes_are_decoded() -> None:
    head = HEAD.replace("Subject: Test", "Subject: Cr\xe8che").encode("latin-1")
    m = read_message(head + b"Content-Type: text/plain\n\nx\n")
    assert m.subject == "Crèche"
    m = read_message(HEAD.replace("Subject: Test", "Subject: Crèche").encode("utf-8") + b"\n\nx")
    assert m.subject == "Crèche"


def test_gmail_shape_and_file_names() -> None:
    body = multipart(
        "mixed",
        "b1",
        [
            multipart(
                "alternative", "b2", [text_part("Bonjour"), text_part("<p>Bonjour</p>", "html")]
            ),
            file_part("Statuts coordonnés.pdf", PDF, style="rfc2047"),
            file_part("Rapport d'activité 2025.pdf", PDF, style="rfc2231"),
            file_part(
                "CV – Sofia Lambert, coordinatrice générale.pdf", PDF, style="rfc2231-continued"
            ),
            file_part("Bilan 2025.pdf", PDF),
        ],
    )
    m = read_message(raw(body))
    assert names(m) == [
        "Statuts coordonnés.pdf",
        "Rapport d'activité 2025.pdf",
        "CV – Sofia Lambert, coordinatrice générale.pdf",
        "Bilan 2025.pdf",
    ]
    assert all(a.kind == "pdf" and a.data == PDF for a in m.attachments)
    assert m.body == "Bonjour"


def test_octet_stream_is_sniffed_by_content() -> None:
    docx = text_docx(["Bonjour"])
    body = multipart(
        "mixed",
        "b1",
        [
            text_part("x"),
            file_part("dossier", docx, ctype="application/octet-stream"),
            file_part("scan", PDF, ctype="application/octet-stream"),
            file_part("archive.bin", b"PK\x05\x06" + bytes(18), ctype="application/octet-stream"),
            file_part(
                "",
                b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100),
                style="none",
                ctype="application/octet-stream",
            ),
        ],
    )
    m = read_message(raw(body))
    kinds = [(a.filename, a.kind, a.typed_name) for a in m.attachments]
    assert kinds == [
        ("dossier", "docx", "dossier.docx"),
        ("scan", "pdf", "scan.pdf"),
        ("archive.bin", "zip", "archive.bin.zip"),
        ("piece-sans-nom-1.doc", "ole2", "piece-sans-nom-1.doc"),
    ]


def test_forwarded_messages_are_walked_recursively() -> None:
    inner2 = "Subject: deeper\n" + multipart(
        "mixed", "c3", [text_part("x"), file_part("CV.pdf", PDF)]
    )
    inner = "Subject: inner\n" + multipart(
        "mixed",
        "c2",
        [
            text_part("corps transféré"),
            file_part("Statuts.pdf", PDF),
            f"Content-Type: message/rfc822\n\n{inner2}",
        ],
    )
    body = multipart(
        "mixed", "c1", [text_part("voir ci-dessous"), f"Content-Type: message/rfc822\n\n{inner}"]
    )
    m = read_message(raw(body))
    assert names(m) == ["Statuts.pdf", "CV.pdf"]
    assert m.attachments[1].origin == ("inner", "deeper")
    assert m.body == "voir ci-dessous"  # the forwarded texts are not the body


def test_base64_encoded_forwarded_message_is_parsed() -> None:
    inner = (
        "Subject: inner\n" + multipart("mixed", "c2", [file_part("Statuts.pdf", PDF)])
    ).encode()
    body = multipart(
        "mixed",
        "c1",
        [f"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n{b64(inner)}\n"],
    )
    assert names(read_message(raw(body))) == ["Statuts.pdf"]


def test_inline_pictures_are_set_aside_but_documents_are_kept() -> None:
    html = '<p>Bonjour</p><img src="cid:logo1">'
    related = multipart(
        "related",
        "r1",
        [
            text_part(html, "html"),
            file_part(
                "image001.png",
                logo_png(),
                disposition="inline",
                extra_headers="Content-ID: <logo1>\n",
            ),
        ],
    )
    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40
    body = multipart(
        "mixed",
        "m1",
        [
            multipart("alternative", "a1", [text_part("Bonjour"), related]),
            file_part("Statuts.pdf", PDF, disposition="inline"),  # Apple Mail: documents inline
            file_part("IMG_0042.jpeg", photo, disposition="inline"),  # a phone photo of a page
            file_part("Outlook-abc123.png", logo_png(), disposition="inline"),
            file_part("smime.p7s", b"0\x82", ctype="application/pkcs7-signature"),
        ],
    )
    m = read_message(raw(body))
    assert names(m) == ["Statuts.pdf", "IMG_0042.jpeg"]
    assert sorted(a.filename for a in m.set_aside) == [
        "Outlook-abc123.png",
        "image001.png",
        "smime.p7s",
    ]


def test_html_only_body_is_stripped() -> None:
    m = read_message(
        raw(
            "Content-Type: text/html; charset=utf-8\n\n<html><head><style>p{}</style></head>"
            "<body><p>Bonjour&nbsp;&eacute;quipe</p><p>Ligne 2<br>3</p><script>x()</script></body></html>"
        )
    )
    assert m.body == "Bonjour équipe\n\nLigne 2\n3"


def test_unknown_charset_and_bad_date_do_not_raise() -> None:
    head = HEAD.replace("Date: Wed, 09 Sep 2026 14:00:00 +0200", "Date: someday")
    m = read_message(raw("Content-Type: text/plain; charset=x-unknown\n\ncafé\n", head))
    assert m.date is None and m.body == "café"


def test_obsolete_header_syntax() -> None:
    m = read_message(b"Subject   : Bonjour\nFrom : a@b.c\n\nx\n")
    assert m.subject == "Bonjour" and m.sender == "a@b.c"


@pytest.mark.parametrize("data", [b"", b"   \n", b"%PDF-1.4 not a mail at all"])
def test_not_a_mail(data: bytes) -> None:
    with pytest.raises(UnreadableMessage):
        read_message(data)


def test_application_like_message_built_by_the_stdlib() -> None:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = "a@b.c"
    msg["Subject"] = "Dossier de candidature – COOPCITY 2026 – Crèche"
    msg.set_content("Bonjour")
    msg.add_attachment(
        PDF, maintype="application", subtype="pdf", filename="Rapport d’activité.pdf"
    )
    m = read_message(msg.as_bytes())
    assert names(m) == ["Rapport d’activité.pdf"] and m.subject.endswith("Crèche")


# --- the MIME walk never raises -------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(data: bytes) -> None:
    try:
        read_message(data)
    except UnreadableMessage:
        pass


_HEADER_LINES = st.sampled_from(
    [
        "Content-Type: multipart/mixed; boundary=b",
        "Content-Type: message/rfc822",
        "Content-Type: text/plain; charset=bogus",
        'Content-Type: application/octet-stream; name="x.pdf"',
        "Content-Disposition: attachment; filename*=utf-8''%C3%A9.pdf",
        "Content-Disposition: inline; filename*0*=x",
        "Content-Transfer-Encoding: base64",
        "Content-Transfer-Encoding: quoted-printable",
        "Content-Transfer-Encoding: x-uuencode",
        "Subject: =?utf-8?B?w6k=?=",
        "Subject: =?bogus?Q?=E9?=",
        "From: <>",
        'From: "a, b" <@>',
        "Date: 32 Foo 99999",
        "Received: x; not a date",
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
        "--b",
        "--b--",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_HEADER_LINES, st.text(max_size=60)), max_size=40))
def test_mime_like_garbage(lines: list[str]) -> None:
    data = "\n".join(["From: a@b.c", "Subject: x"] + lines).encode("utf-8", "surrogatepass")
    m = read_message(data)
    assert m.sender == "a@b.c" or m.sender == ""


_NAMES = st.one_of(
    st.text(max_size=30), st.sampled_from(["a.pdf", "winmail.dat", "x.zip", "é.docx", ""])
)
_LEAF_TYPES = st.sampled_from(
    [
        "text/plain",
        "text/html",
        "application/pdf",
        "application/octet-stream",
        "image/png",
        "application/ms-tnef",
        "application/zip",
        "message/delivery-status",
        "text/rfc822-headers",
    ]
)
_PAYLOADS = st.one_of(
    st.binary(max_size=300), st.sampled_from([PDF[:200], b"PK\x03\x04", b"\x78\x9f\x3e\x22"])
)


@st.composite
def _leaf(draw) -> str:
    ctype = draw(_LEAF_TYPES)
    name = draw(_NAMES).replace('"', "").replace("\n", " ")
    style = draw(st.sampled_from(["quoted", "rfc2231", "rfc2047", "none"]))
    disposition = draw(st.sampled_from(["attachment", "inline", "bogus"]))
    return file_part(
        name or "x", draw(_PAYLOADS), style=style, disposition=disposition, ctype=ctype
    )


_TREES = st.recursive(
    _leaf(),
    lambda children: st.one_of(
        st.builds(
            lambda subtype, parts: multipart(subtype, "b" + str(len(parts)) + subtype, parts),
            st.sampled_from(["mixed", "alternative", "related", "report"]),
            st.lists(children, min_size=1, max_size=4),
        ),
        st.builds(lambda part: f"Content-Type: message/rfc822\n\nSubject: fwd\n{part}", children),
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TREES)
def test_generated_mime_trees(tree: str) -> None:
    m = read_message(raw(tree))
    assert all(isinstance(a.data, bytes) and a.filename for a in m.attachments)
