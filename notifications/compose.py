"""Rendering the mails to applicants (Jinja2) and building them as MIME bytes.

Each kind of mail is two templates in ``notifications/templates``: ``<kind>.txt.j2``
(plain text; it also sets ``subject``) and ``<kind>.html.j2`` (autoescaped, built on
``_mail.html.j2``). Coordinators edit the wording there, nothing in code.

Nothing an applicant wrote reaches a header unfiltered: the subject and display names
go through ``wording.one_line`` (no CR/LF, cut), addresses must be plain addr-specs,
and message ids plain ``<…>`` tokens. In the HTML part, autoescape does the rest.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from guichet.errors import DeliveryError
from notifications.wording import one_line

SUBJECT_LIMIT = 200
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,900}>")
_ADDRESS = re.compile(r"[^\s<>@,;\"]{1,64}@[^\s<>@,;\"]{1,255}")

# RFC 3834: every mail guichet sends answers an applicant's mail (or their application);
# the header stops well-behaved auto-responders from answering back.
AUTO_REPLIED = "auto-replied"
AUTO_GENERATED = "auto-generated"  # the digest: not an answer to anybody's mail


@cache
def environment() -> Environment:
    """The one Jinja2 environment: HTML templates autoescaped, undefined names an error;
    ``quote`` puts a text between French quotes with no-break spaces (« … »)."""
    env = Environment(
        loader=PackageLoader("notifications", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["quote"] = french_quote
    return env


def french_quote(text: object) -> str:
    """« text » with no-break spaces inside: plain text, escaped by autoescape in HTML."""
    return f"«\u00a0{text}\u00a0»"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(kind: str, context: Mapping[str, Any]) -> Rendered:
    """The subject, text and HTML of a mail of ``kind`` (``accuse``, ``relance``…)."""
    env = environment()
    text_template = env.get_template(f"{kind}.txt.j2")
    text = text_template.render(context)
    subject = str(text_template.make_module(dict(context)).subject)
    html = env.get_template(f"{kind}.html.j2").render(context)
    return Rendered(subject=one_line(subject, SUBJECT_LIMIT), text=text, html=html)


def check_address(address: str) -> str:
    """A bare addr-spec, or ``DeliveryError``: no display name, no folding, no CR/LF."""
    address = address.strip()
    if not _ADDRESS.fullmatch(address):
        raise DeliveryError(f"adresse d'envoi invalide : « {one_line(address, 80)} »")
    return address


def message_ids(ids: Sequence[str | None]) -> list[str]:
    """The well-formed ids of ``ids``, in order, once each (others are dropped)."""
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
    msg["From"] = Address(one_line(sender_name, 100), addr_spec=check_address(sender))
    msg["To"] = Address(addr_spec=check_address(recipient))
    msg["Reply-To"] = Address(addr_spec=check_address(sender))
    msg["Subject"] = one_line(rendered.subject, SUBJECT_LIMIT)
    msg["Date"] = email.utils.format_datetime(date)
    msg["Message-ID"] = message_ids([message_id])[0]
    parent = message_ids([in_reply_to])
    if parent:
        msg["In-Reply-To"] = parent[0]
    thread = message_ids([*references, *parent])
    if thread:
        msg["References"] = " ".join(thread[-10:])  # the root and the latest are enough
    msg["Auto-Submitted"] = auto_submitted
    msg["X-Auto-Response-Suppress"] = "All"  # Exchange: no out-of-office back to us
    msg["Content-Language"] = "fr"
    msg.set_content(rendered.text, cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def new_message_id(sender: str) -> str:
    """A fresh Message-ID in the sender's domain, chosen when the mail is recorded."""
    return email.utils.make_msgid(idstring="guichet", domain=sender.rsplit("@", 1)[-1])
