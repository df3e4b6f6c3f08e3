"""Rendering the mails to applicants (Jinja2) and building them as MIME bytes.

Each kind of mail is two templates in ``notifications/templates``: ``<kind>.txt.j2``
(plain text; it also sets ``subject``) and ``<kind>.html.j2`` (autoescaped, built on
``_mail.html.j2``). Coordinators edit the wording there, nothing in code. Those are the
French ones; the Dutch and English ones are the same names under ``nl/`` and ``en/``,
and the mail says its language in ``Content-Language``.

Nothing an applicant wrote reaches a header unfiltered, whatever the Python version:
the subject, display names and attachment names go through ``wording.header_text`` (no
control, separator or format character, no « =? » that could open an RFC 2047 encoded
word, cut), addresses must be plain ASCII addr-specs, and message ids plain ``<…>``
tokens of printable ASCII. Headers are made by the policy's header registry
(``email.policy.SMTP``), and the bytes built are read back before they are returned:
a header line the mail was not given, or a byte outside printable ASCII in a header,
is a ``DeliveryError`` rather than a mail sent. In the HTML part, autoescape does the
rest.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from guichet.errors import DeliveryError
from notifications.phrases import FRENCH, LANGUAGES, phrases
from notifications.wording import header_text, one_line
from parsers.safe_text import clean_filename

TEXT_WIDTH = 72  # columns of the plain-text part
SUBJECT_LIMIT = 200
NAME_LIMIT = 100  # display names
FILENAME_LIMIT = 150
# printable ASCII but « < > », and never « =? » (the start of an encoded word)
_MESSAGE_ID = re.compile(r"<(?!.*=\?)[!-;=?-~]{1,900}>")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_PART = re.compile(rf"(?!.*=\?){_ATOM}(?:\.{_ATOM})*")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_MIME_TYPE = re.compile(r"[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*")
_TOP_HEADERS = frozenset(
    {
        "from",
        "to",
        "reply-to",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "auto-submitted",
        "x-auto-response-suppress",
        "content-language",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)
_PART_HEADERS = frozenset(
    {
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
        "content-language",
        "mime-version",
    }
)

# RFC 3834: every mail guichet sends answers an applicant's mail (or their application);
# the header stops well-behaved auto-responders from answering back.
AUTO_REPLIED = "auto-replied"
AUTO_GENERATED = "auto-generated"  # the digest: not an answer to anybody's mail


@cache
def environment() -> Environment:
    """The one Jinja2 environment: HTML templates autoescaped, undefined names an error;
    ``quote`` puts a text between French quotes with no-break spaces (« … »), or between
    another language's (``quote("nl")``: “…”)."""
    env = Environment(
        loader=PackageLoader("notifications", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["quote"] = quote
    env.filters["and_list"] = and_list
    return env


def french_quote(text: object) -> str:
    """« text » with no-break spaces inside: plain text, escaped by autoescape in HTML."""
    return f"«\u00a0{text}\u00a0»"


def and_list(items: Iterable[object], language: str = FRENCH) -> str:
    """« A, B and C » (« A, B en C », « A, B et C »): a list as a sentence says it."""
    words = [str(item) for item in items]
    if len(words) < 2:
        return "".join(words)
    return ", ".join(words[:-1]) + phrases(language).and_ + words[-1]


def quote(text: object, language: str = FRENCH) -> str:
    """``text`` between ``language``'s quotes: « … » in French, “…” in Dutch and English
    (plain text: autoescape escapes it in HTML)."""
    opening, closing = phrases(language).quotes
    return f"{opening}{text}{closing}"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    language: str = FRENCH  # its Content-Language


def render(kind: str, context: Mapping[str, Any], language: str = FRENCH) -> Rendered:
    """The subject, text and HTML of a mail of ``kind`` (``accuse``, ``relance``…) in
    ``language`` (``fr``, ``nl``, ``en``)."""
    if language not in LANGUAGES:
        raise DeliveryError(f"langue sans modèles de courriel : « {one_line(language, 10)} »")
    env = environment()
    folder = "" if language == FRENCH else f"{language}/"
    text_template = env.get_template(f"{folder}{kind}.txt.j2")
    text = text_template.render(context)
    subject = str(text_template.make_module(dict(context)).subject)
    html = env.get_template(f"{folder}{kind}.html.j2").render(context)
    return Rendered(
        subject=one_line(subject, SUBJECT_LIMIT),
        text=wrap_text(text),
        html=html,
        language=language,
    )


def wrap_text(text: str, width: int = TEXT_WIDTH) -> str:
    """The plain-text part wrapped at ``width`` columns on words: each line longer than
    that is folded at spaces (a list item's continuation lines indented under its text).
    No-break spaces hold (« dossier », « égard ? »), and a word is never cut: an e-mail
    address or a URL longer than the line stays whole on a line of its own."""
    lines = []
    for line in text.split("\n"):
        if len(line) <= width:
            lines.append(line)
            continue
        found = _ITEM.match(line)
        indent = " " * len(found.group(0)) if found else ""
        lines.extend(
            textwrap.wrap(
                line,
                width=width,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
            or [line]
        )
    return "\n".join(lines)


_ITEM = re.compile(r"\s*(?:[-•*] )?")


def check_address(address: str) -> str:
    """A bare ASCII addr-spec (an international domain in its ASCII form), or
    ``DeliveryError``: no display name, no quoting, no folding, no control character,
    no « =? »."""
    found = bare_address(address)
    if found is None:
        raise DeliveryError(f"adresse d'envoi invalide : « {one_line(address, 80)} »")
    return found


def bare_address(address: str | None) -> str | None:
    """``address`` as a plain dot-atom addr-spec guichet can write to, or None."""
    local, at, domain = (address or "").strip().rpartition("@")
    if not at or not local or not domain:
        return None
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if (
        len(local) > 64
        or len(domain) > 253
        or not _LOCAL_PART.fullmatch(local)
        or not _DOMAIN.fullmatch(domain)
    ):
        return None
    return f"{local}@{domain}"


def message_ids(ids: Sequence[str | None]) -> list[str]:
    """The well-formed ids of ``ids``, in order, once each (others are dropped): printable
    ASCII between « < > », without « =? » (an applicant's mail chooses its own ids)."""
    found: list[str] = []
    for value in ids:
        if value and _MESSAGE_ID.fullmatch(value.strip()) and value.strip() not in found:
            found.append(value.strip())
    return found


def build_mail(
    rendered: Rendered,
    *,
    sender_name: str,
    sender: str,
    recipient: str,
    message_id: str,
    date: dt.datetime,
    in_reply_to: str | None = None,
    references: Sequence[str | None] = (),
    auto_submitted: str = AUTO_REPLIED,
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> bytes:
    """The mail as bytes with CRLF line ends, ready for SMTP and for IMAP APPEND.

    ``attachments``: (file name, MIME type, data)."""
    msg = EmailMessage(policy=SMTP)
    own = check_address(sender)
    _set(msg, "From", Address(header_text(sender_name, NAME_LIMIT), addr_spec=own))
    _set(msg, "To", Address(addr_spec=check_address(recipient)))
    _set(msg, "Reply-To", Address(addr_spec=own))
    _set(msg, "Subject", header_text(rendered.subject, SUBJECT_LIMIT))
    _set(msg, "Date", email.utils.format_datetime(date))
    ids = message_ids([message_id])
    if not ids:
        raise DeliveryError(f"Message-ID invalide : « {one_line(message_id, 80)} »")
    _set(msg, "Message-ID", ids[0])
    parent = message_ids([in_reply_to])
    if parent:
        _set(msg, "In-Reply-To", parent[0])
    thread = message_ids([*references, *parent])
    if thread:
        _set(msg, "References", " ".join(thread[-10:]))  # the root and the latest are enough
    _set(msg, "Auto-Submitted", auto_submitted)
    _set(msg, "X-Auto-Response-Suppress", "All")  # Exchange: no out-of-office back to us
    msg.set_content(rendered.text, cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    for filename, content_type, data in attachments:
        if not _MIME_TYPE.fullmatch(content_type):
            raise DeliveryError(f"type de pièce jointe invalide : « {one_line(content_type, 80)} »")
        maintype, subtype = content_type.split("/", 1)
        name = header_text(clean_filename(filename), FILENAME_LIMIT) or "piece-jointe"
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    if rendered.language not in LANGUAGES:
        raise DeliveryError(f"langue inconnue : « {one_line(rendered.language, 10)} »")
    # after the content: set_content drops Content-* headers
    _set(msg, "Content-Language", rendered.language)
    raw = msg.as_bytes()
    check_headers(raw)
    return raw


def _set(msg: EmailMessage, name: str, value: str | Address) -> None:
    """Add a header made by the policy's header registry; its value, as the registry
    reads it (encoded words decoded), must hold no control or separator character."""
    header = msg.policy.header_factory(name, value)
    if _UNSAFE.search(str(header)) or any(
        _UNSAFE.search(str(a)) for a in getattr(header, "addresses", ())
    ):
        raise DeliveryError(f"en-tête {name} refusé : caractère de contrôle")
    msg[name] = header


_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_headers(raw: bytes) -> None:
    """``DeliveryError`` unless every header of the mail ``raw`` (top and parts) is one
    ``build_mail`` sets, in printable ASCII, each line ended by CRLF and nothing else."""
    if b"\x00" in raw or re.search(rb"\r(?!\n)|(?<!\r)\n", raw):
        raise DeliveryError("courriel mal formé : fin de ligne ou octet nul hors norme")
    parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
    for depth, part in enumerate(parsed.walk()):
        allowed = _TOP_HEADERS if depth == 0 else _PART_HEADERS
        for name, value in part.raw_items():
            if name.lower() not in allowed:
                raise DeliveryError(f"courriel mal formé : en-tête inattendu « {name[:40]} »")
            if not re.fullmatch(r"[\t\r\n\x20-\x7e]*", str(value)) or re.search(
                r"\r?\n(?![ \t])", str(value)
            ):
                raise DeliveryError(f"courriel mal formé : en-tête « {name[:40]} » hors ASCII")
    if parsed.defects:
        raise DeliveryError("courriel mal formé : structure MIME invalide")


def new_message_id(sender: str) -> str:
    """A fresh Message-ID in the sender's domain, chosen when the mail is recorded."""
    return email.utils.make_msgid(idstring="guichet", domain=sender.rsplit("@", 1)[-1])
