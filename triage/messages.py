"""Messages for the coordinators: mails on an application that bring no new file.

Our mails say « Si une information est erronée, répondez simplement à ce courriel »: such a
reply (« le numéro d’entreprise est faux, c’est 0123.456.789 ») is not a supplement. A mail
on an existing application (a reply in its thread, the subject convention, or its
applicant's address) that brings no new file is filed with the role ``ROLE_MESSAGE``: it
does not change the verdict and gets no « Complément reçu »; its new text (the quoted
history cut, ``parsers.quotes``) is kept in the data of its ``MESSAGE`` event, and it
waits in « Messages à lire » (digest, desk) until a coordinator marks it dealt with
(``mark_read``: a ``DEALT`` event, so a later ``reprocess`` does not bring it back).

A mail from one of the programme's own addresses (``from_us``: a coordinator's answer
with a mailbox in copy) is never a message, and a reply with files is a supplement only
from outside.

What counts as a new file (``is_new_file``): any attachment but a vCard or a calendar
invitation and a small picture (a logo of a signature the client did not mark inline:
under ``SMALL_IMAGE``). Inline pictures and signatures (S/MIME, PGP) are set aside by
``parsers.message`` already. A file sent again identical still counts: attaching it is
deliberate (mail clients do not attach the original to a reply).

``pending_messages`` and ``mark_read`` take a ``Session`` and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.programme import Programme
from guichet.errors import InputError
from ingest.intake import log_event
from parsers.message import Attachment as MailFile
from parsers.quotes import first_lines, new_text
from parsers.safe_text import visible
from parsers.sniff import IMAGES, extension
from triage.models import ROLE_MESSAGE, Application, Event, Message

MESSAGE = "message_candidat"  # event: a message was filed (data: text, sender)
DEALT = "message_traite"  # event: a coordinator dealt with it (data: by)
SMALL_IMAGE = 40_000  # bytes: a picture smaller than this is a logo, not a scan
TEXT_LIMIT = 5000  # characters of a message's text kept
_CARDS = frozenset({".vcf", ".vcard", ".ics", ".ical"})
_CARD_TYPES = frozenset(
    {"text/vcard", "text/x-vcard", "text/directory", "text/calendar", "application/ics"}
)


# --- what counts as a new file (pure) -----------------------------------------------------


def is_new_file(file: MailFile) -> bool:
    """Whether ``file`` brings something to an application: not a vCard or an invitation,
    not a small picture (a logo)."""
    if extension(file.filename) in _CARDS or file.content_type.lower() in _CARD_TYPES:
        return False
    image = file.kind in IMAGES or file.content_type.lower().startswith("image/")
    return not (image and file.size < SMALL_IMAGE)


def brings_new_file(files: Iterable[MailFile]) -> bool:
    return any(is_new_file(f) for f in files)


def from_us(sender: str | None, programme: Programme) -> bool:
    """Whether ``sender`` is one of the programme's own addresses (its mailboxes, its
    manager, the digest's recipients): a coordinator answering by hand, copying a mailbox,
    writes no message to read and gets no « Message reçu »."""
    ours = {m.address for m in programme.mailboxes} | set(programme.digest_recipients)
    if programme.manager is not None:
        ours.add(programme.manager.email)
    return (sender or "").strip().lower() in {a.strip().lower() for a in ours if a}


# --- the flag ---------------------------------------------------------------------------


def note_message(
    session: Session, message: Message, application: Application, body: str, now: dt.datetime
) -> None:
    """The ``MESSAGE`` event of a mail just filed as a message, with its new text."""
    # kept line by line without control or format characters (``safe_text.visible``)
    text = "\n".join(visible(line) for line in new_text(body)[:TEXT_LIMIT].split("\n"))
    who = message.sender or "expéditeur inconnu"
    log_event(
        session,
        now,
        MESSAGE,
        f"Message de {who} sur la candidature "
        f"{application.structure or application.structure_key} : à lire",
        message=message,
        application_id=application.id,
        text=text,
        sender=who,
    )


@dataclass(frozen=True)
class PendingMessage:
    """A message waiting for a coordinator (applicant text as written: cut it to show it)."""

    message_id: int
    application_id: int | None
    structure: str
    sender: str
    received_at: dt.datetime
    subject: str
    text: str  # what the applicant wrote, without the quoted history

    @property
    def excerpt(self) -> str:
        """Its first lines, on one line."""
        return first_lines(self.text) or "(message sans texte : voir le courriel)"


def pending_messages(
    session: Session, programme_id: str, application_id: int | None = None
) -> list[PendingMessage]:
    """The programme's messages no coordinator has dealt with yet (those of one
    application, when given), oldest first."""
    dealt = select(Event.message_id).where(Event.kind == DEALT, Event.message_id.is_not(None))
    query = (
        select(Message, Application)
        .outerjoin(Application, Message.application_id == Application.id)
        .where(
            Message.programme_id == programme_id,
            Message.role == ROLE_MESSAGE,
            Message.id.not_in(dealt),
        )
        .order_by(Message.received_at, Message.id)
    )
    if application_id is not None:
        query = query.where(Message.application_id == application_id)
    found = session.execute(query).all()
    texts = _texts(session, [m.id for m, _ in found])
    return [
        PendingMessage(
            message_id=m.id,
            application_id=m.application_id,
            structure=(a.structure or a.sender or "—") if a is not None else "—",
            sender=m.sender or "expéditeur inconnu",
            received_at=m.received_at,
            subject=m.subject or "",
            text=texts.get(m.id, ""),
        )
        for m, a in found
    ]


def _texts(session: Session, ids: list[int]) -> dict[int, str]:
    """Message id -> the text of its latest ``MESSAGE`` event."""
    found: dict[int, str] = {}
    if not ids:
        return found
    for message_id, data in session.execute(
        select(Event.message_id, Event.data)
        .where(Event.kind == MESSAGE, Event.message_id.in_(ids))
        .order_by(Event.id)
    ):
        text = (data or {}).get("text")
        found[message_id] = text if isinstance(text, str) else ""
    return found


def mark_read(
    session: Session, programme_id: str, message_id: int, now: dt.datetime, by: str | None = None
) -> bool:
    """Mark message ``message_id`` dealt with; False when it already was. ``InputError``
    when the programme has no such message."""
    message = session.get(Message, message_id)
    if message is None or message.programme_id != programme_id or message.role != ROLE_MESSAGE:
        raise InputError(f"aucun message à lire n° {message_id}")
    if session.scalar(
        select(Event.id).where(Event.kind == DEALT, Event.message_id == message_id).limit(1)
    ):
        return False
    log_event(
        session,
        now,
        DEALT,
        f"Message n° {message_id} de {message.sender or 'expéditeur inconnu'} traité"
        + (f" par {by}" if by else ""),
        message=message,
        application_id=message.application_id,
        by=by,
    )
    return True
