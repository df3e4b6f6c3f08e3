"""Read one e-mail (raw RFC 5322 bytes) into what triage needs: headers, body, attachments.

Parsed with ``email.policy.default`` (it decodes RFC 2047 words and RFC 2231 parameters);
where that policy raises on malformed input, the value is read again the compat32 way
(headers: ``parsers.mail_headers``). Every part is visited, forwarded ``message/rfc822``
included, so nothing a client put in a mail is missed; inline pictures and signatures
are set aside. Nothing here raises on a mail that has at least one header; a file with
none is an ``UnreadableMessage``. A mail nested too deep for the parser (thousands of
multiparts inside each other) is read for its headers only, with a note saying so.
File names are cleaned (``parsers.safe_text.clean_filename``): no folder, no control or
format character (a right-to-left override cannot disguise a program as a PDF).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import email.errors
import email.header
import email.message
import email.policy
import email.utils
import quopri
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from html.parser import HTMLParser

from guichet.errors import UnreadableMessage
from parsers.mail_headers import (
    all_headers,
    decode_bytes,
    decode_words,
    first_address,
    id_header,
    message_ids,
    newest_received,
    parse_mail_date,
    raw_header,
    repair,
    text_header,
)
from parsers.damage import DUBIOUS, UNDECODABLE, damage
from parsers.safe_text import clean_filename
from parsers.sniff import IMAGES, extension, name_for, sniff

MAX_DEPTH = 12  # nesting of multiparts and forwarded messages
MAX_PARTS = 2000
TOO_DEEP = (
    f"message trop imbriqué (parties emboîtées sur plus de {MAX_DEPTH} niveaux) : "
    "la suite n'est pas lue"
)

_REPORT_PARTS = frozenset(
    {
        "message/delivery-status",
        "message/disposition-notification",
        "message/feedback-report",
        "text/rfc822-headers",
        "message/global-delivery-status",
        "message/global-headers",
    }
)
_SIGNATURES = frozenset(
    {
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
        "application/pgp-signature",
        "application/pgp-encrypted",
        "application/pgp-keys",
    }
)
# names mail clients give to pictures of a signature or a pasted logo
_DECORATIVE_NAME = re.compile(
    r"^(?:image|inline|outlook|logo|signature|pastedgraphic|unnamed|att|banner|"
    r"facebook|twitter|linkedin|instagram|youtube|icon|spacer)[-_ .]?[\w-]*\.\w{2,5}$",
    re.IGNORECASE,
)
_SMALL_INLINE_IMAGE = 4096  # bytes: tracking pixels, social icons


@dataclass(frozen=True)
class Attachment:
    """One file found in a mail (or, later, in an archive attached to it)."""

    filename: str
    data: bytes
    kind: str  # what the content is, see parsers.sniff
    content_type: str = "application/octet-stream"  # as declared
    inline: bool = False
    origin: tuple[str, ...] = ()  # the forwarded messages / archives it came out of
    damage: str | None = None  # why it arrived damaged (French), see parsers.damage

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def typed_name(self) -> str:
        """The file name with the extension its content calls for."""
        return name_for(self.filename, self.kind)


@dataclass(frozen=True)
class Message:
    subject: str
    sender: str  # address of From
    sender_name: str
    reply_to: str  # Reply-To, else From
    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    date: dt.datetime | None  # the sender's Date header (aware)
    received_at: dt.datetime | None  # the newest (topmost) Received header's date (aware)
    headers: Mapping[str, tuple[str, ...]]  # lower-cased name -> decoded values, in order
    content_type: str  # of the whole message
    part_types: frozenset[str]  # every content type met in the tree
    body: str
    attachments: tuple[Attachment, ...]
    set_aside: tuple[Attachment, ...] = ()  # inline pictures, signatures: not documents
    notes: tuple[str, ...] = ()  # French, for the warnings list

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


def read_message(raw: bytes) -> Message:
    """Parse a mail; raises ``UnreadableMessage`` only when it has no header at all."""
    if not raw or not raw.strip():
        raise UnreadableMessage("message vide")
    walk = _Walk()
    try:
        msg = _parse(raw)
    except _TooDeep:  # the stdlib parser recurses once per level: read the headers only
        msg = _parse(raw, headers_only=True)
        walk.note(TOO_DEEP)
    else:
        walk.visit(msg, depth=0, origin=(), in_related=False)
    if not list(msg.raw_items()):
        raise UnreadableMessage("aucun en-tête : ce fichier n'est pas un e-mail")
    headers = all_headers(msg)
    from_name, from_addr = first_address(msg, "from")
    _, reply_addr = first_address(msg, "reply-to")
    return Message(
        subject=text_header(msg, "subject") or "",
        sender=from_addr,
        sender_name=from_name,
        reply_to=reply_addr or from_addr,
        message_id=id_header(msg, "message-id"),
        in_reply_to=id_header(msg, "in-reply-to"),
        references=tuple(message_ids(raw_header(msg, "references") or "")),
        date=parse_mail_date(raw_header(msg, "date")),
        received_at=newest_received(msg),
        headers=headers,
        content_type=_content_type(msg),
        part_types=frozenset(walk.types),
        body=walk.body(),
        attachments=tuple(walk.attachments),
        set_aside=tuple(walk.set_aside),
        notes=tuple(walk.notes),
    )


_OBS_HEADER_NAME = re.compile(rb"^([!-9;-~]+)[ \t]+:", re.MULTILINE)


class _TooDeep(UnreadableMessage):
    """The MIME tree is deeper than the stdlib parser can recurse."""


def _parse(raw: bytes, headers_only: bool = False) -> email.message.Message:
    # RFC 5322 obsolete syntax allows blanks before the colon ("Subject  : x"); the
    # stdlib parser does not, and would read the whole mail as a body.
    end = re.search(rb"\r?\n\r?\n", raw)
    head, rest = (raw[: end.start()], raw[end.start() :]) if end else (raw, b"")
    if _OBS_HEADER_NAME.search(head):
        raw = _OBS_HEADER_NAME.sub(rb"\1:", head) + rest
    try:
        return BytesParser(policy=email.policy.default).parsebytes(raw, headers_only)
    except RecursionError:
        raise _TooDeep(TOO_DEEP) from None
    except Exception:  # noqa: BLE001 - the stdlib parser has raised assorted errors on junk
        try:
            return BytesParser(policy=email.policy.compat32).parsebytes(raw, headers_only)
        except RecursionError:
            raise _TooDeep(TOO_DEEP) from None
        except Exception as e:
            raise UnreadableMessage("e-mail illisible : sa structure MIME est invalide") from e


# --- parts ---------------------------------------------------------------------------


def _content_type(part: email.message.Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:  # noqa: BLE001
        raw = raw_header(part, "content-type") or ""
        match = re.match(r"\s*([\w.+-]+/[\w.+-]+)", raw)
        return match.group(1).lower() if match else "text/plain"


def _disposition(part: email.message.Message) -> str | None:
    try:
        value = part.get_content_disposition()
        return value.lower() if value else None
    except Exception:  # noqa: BLE001
        raw = raw_header(part, "content-disposition") or ""
        match = re.match(r"\s*(\w+)", raw)
        return match.group(1).lower() if match else None


def _legacy_filename(part: email.message.Message) -> str | None:
    """The file name as compat32 reads it (it keeps unquoted names with spaces whole)."""
    for header in ("content-disposition", "content-type"):
        raw = raw_header(part, header)
        if not raw:
            continue
        legacy = email.message.Message()  # compat32
        legacy[header] = raw
        name = None
        with contextlib.suppress(Exception):  # compat32 is lenient, not infallible
            name = legacy.get_filename() or legacy.get_param("name")
        if isinstance(name, tuple):
            name = email.utils.collapse_rfc2231_value(name)
        if name:
            return str(name)
    return None


def _filename(part: email.message.Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001 - fall back to compat32's parameter parser
        name = None
    legacy = _legacy_filename(part)
    if not name or (legacy and len(legacy) > len(name) and legacy.startswith(name)):
        name = legacy
    if not name:
        location = raw_header(part, "content-location")
        if location:
            name = location.strip().rsplit("/", 1)[-1]
    if not name:
        return None
    return clean_filename(decode_words(repair(str(name)))) or None


def _payload(part: email.message.Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        data = None
    if data is None:
        try:
            text = part.get_payload()
        except Exception:  # noqa: BLE001
            text = None
        data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else b""
    return data


def _transfer_problem(part: email.message.Message) -> str | None:
    """What the base64 decoding of ``part`` met (after ``_payload``): see parsers.damage."""
    if (raw_header(part, "content-transfer-encoding") or "").strip().lower() != "base64":
        return None
    found = {type(d) for d in getattr(part, "defects", ())}
    if email.errors.InvalidBase64LengthDefect in found:
        return UNDECODABLE
    if found & {email.errors.InvalidBase64CharactersDefect, email.errors.InvalidBase64PaddingDefect}:
        return DUBIOUS
    return None


def _encoded_message(payload: list, encoding: str) -> bytes:
    """The bytes of a message/rfc822 body that was sent base64- or QP-encoded."""
    text = (
        payload[0].get_payload()
        if payload and isinstance(payload[0], email.message.Message)
        else ""
    )
    if not isinstance(text, str):
        return b""
    data = text.encode("ascii", "replace")
    try:
        if encoding == "base64":
            return base64.b64decode(re.sub(rb"[^A-Za-z0-9+/=]", b"", data) + b"==")
        return quopri.decodestring(data)
    except (ValueError, binascii.Error):
        return b""


def _charset(part: email.message.Message) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:  # noqa: BLE001
        return None


class _TextOfHtml(HTMLParser):
    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in self._BREAKS:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._skip = max(0, self._skip - 1)
        elif tag in self._BREAKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.out.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - html.parser is lenient but not infallible
        return re.sub(r"<[^>]*>", " ", html)
    text = "".join(parser.out)
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


@dataclass
class _Walk:
    attachments: list[Attachment] = field(default_factory=list)
    set_aside: list[Attachment] = field(default_factory=list)
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    types: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    parts: int = 0
    unnamed: int = 0

    def body(self) -> str:
        if self.plain:
            return "\n".join(t.strip() for t in self.plain if t.strip())
        return "\n".join(html_to_text(t) for t in self.html)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def visit(
        self,
        part: email.message.Message,
        depth: int,
        origin: tuple[str, ...],
        in_related: bool,
    ) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            self.note(f"message de plus de {MAX_PARTS} parties : la suite n'est pas lue")
            return
        if depth > MAX_DEPTH:
            self.note(TOO_DEEP)
            return
        ctype = _content_type(part)
        self.types.add(ctype)
        if ctype in _REPORT_PARTS:
            return
        if ctype == "message/rfc822" or (ctype.startswith("message/") and part.is_multipart()):
            self._visit_forwarded(part, depth, origin)
            return
        if part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                related = in_related or ctype == "multipart/related"
                for sub in payload:
                    if isinstance(sub, email.message.Message):
                        self.visit(sub, depth + 1, origin, related)
            return
        self._leaf(part, ctype, origin, in_related, top=not origin)

    def _visit_forwarded(
        self, part: email.message.Message, depth: int, origin: tuple[str, ...]
    ) -> None:
        payload = part.get_payload() if part.is_multipart() else None
        inner: list[email.message.Message] = []
        encoding = (raw_header(part, "content-transfer-encoding") or "").strip().lower()
        if isinstance(payload, list) and encoding not in ("base64", "quoted-printable"):
            inner = [p for p in payload if isinstance(p, email.message.Message)]
        else:  # a forwarded message that was itself encoded (not allowed, but seen): decode it
            data = (
                _encoded_message(payload, encoding) if isinstance(payload, list) else _payload(part)
            )
            if data.strip():
                try:
                    inner = [_parse(data)]
                except _TooDeep:
                    self.note(TOO_DEEP)
                except UnreadableMessage:
                    self.note("message transféré illisible")
        for message in inner:
            label = text_header(message, "subject") or _filename(part) or "message transféré"
            self.visit(message, depth + 1, origin + (label,), in_related=False)

    def _leaf(
        self,
        part: email.message.Message,
        ctype: str,
        origin: tuple[str, ...],
        in_related: bool,
        top: bool,
    ) -> None:
        disposition = _disposition(part)
        filename = _filename(part)
        named = filename is not None
        if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            if top:
                text = decode_bytes(_payload(part), _charset(part))
                (self.plain if ctype == "text/plain" else self.html).append(text)
            return
        data = _payload(part)
        kind = sniff(data, filename or "")
        if not filename:
            self.unnamed += 1
            filename = name_for(f"piece-sans-nom-{self.unnamed}", kind)
        attachment = Attachment(
            filename=filename,
            data=data,
            kind=kind,
            content_type=ctype,
            inline=disposition == "inline" or (disposition is None and in_related),
            origin=origin,
            damage=damage(data, kind, filename, _transfer_problem(part)),
        )
        if (
            ctype in _SIGNATURES
            or extension(filename) in (".p7s", ".asc", ".sig")
            or self._decorative(part, attachment, disposition, in_related, named)
        ):
            self.set_aside.append(attachment)
        else:
            self.attachments.append(attachment)

    @staticmethod
    def _decorative(
        part: email.message.Message,
        attachment: Attachment,
        disposition: str | None,
        in_related: bool,
        named: bool,
    ) -> bool:
        """An inline picture (logo, signature, pasted image) rather than a document."""
        is_image = attachment.kind in IMAGES or attachment.content_type.startswith("image/")
        if not is_image or disposition == "attachment":
            return False
        has_cid = raw_header(part, "content-id") is not None
        return (
            in_related
            or has_cid
            or attachment.size < _SMALL_INLINE_IMAGE
            or bool(_DECORATIVE_NAME.match(attachment.filename))
            or not named
        )
