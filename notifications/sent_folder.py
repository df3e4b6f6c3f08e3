"""A copy of each sent mail in the sending mailbox's Sent folder, so the team sees it.

The folder is ``GUICHET_IMAP_<ID>_SENT_FOLDER`` (default ``Sent``), created when the
server says it does not exist (``[TRYCREATE]``). A copy is appended once: when an
earlier try may have appended it before a crash, the folder is searched for its
Message-ID first. A mailbox that cannot be reached only delays the copies; sending
never waits for them.
"""

from __future__ import annotations

import datetime as dt
import imaplib
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from config.programme import Programme
from guichet.errors import ConfigError, MailboxError
from ingest import faults
from ingest.archive import RawArchive
from ingest.intake import log_event
from ingest.mailbox import ImapSession, env_name, settings_from_env
from triage.models import OUTBOX_SENT, OutboxMail

DEFAULT_SENT_FOLDER = "Sent"
SEEN = r"(\Seen)"
COPY_ATTEMPTS_MAX = 10  # then the copy is given up (the digest shows it)


@dataclass
class CopyReport:
    copied: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def sent_folder(mailbox_id: str, env: Mapping[str, str]) -> str:
    return (env.get(env_name(mailbox_id, "SENT_FOLDER")) or "").strip() or DEFAULT_SENT_FOLDER


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class SentFolder:
    """An IMAP session able to find and append mails in one folder."""

    def __init__(self, session: ImapSession, folder: str) -> None:
        self.session = session
        self.folder = folder

    def _client(self) -> imaplib.IMAP4:
        return self.session.client

    def holds(self, message_id: str) -> bool:
        client = self._client()
        typ, _ = client.select(_quoted(self.folder), readonly=True)
        if typ != "OK":
            return False  # no folder yet: nothing in it
        typ, data = client.uid("SEARCH", "HEADER", "Message-ID", _quoted(message_id))
        return typ == "OK" and bool(data and data[0] and data[0].split())

    def append(self, raw: bytes, when: dt.datetime) -> None:
        client = self._client()
        date = imaplib.Time2Internaldate(when.timestamp())
        typ, data = client.append(_quoted(self.folder), SEEN, date, raw)
        if typ != "OK" and b"TRYCREATE" in b" ".join(d for d in data if isinstance(d, bytes)):
            client.create(_quoted(self.folder))
            typ, data = client.append(_quoted(self.folder), SEEN, date, raw)
        if typ != "OK":
            raise MailboxError(f"APPEND refusé dans « {self.folder} » ({data!r:.200})")


def copy_sent(
    sessions: sessionmaker[Session],
    archive: RawArchive,
    programme: Programme,
    env: Mapping[str, str],
    now: dt.datetime,
) -> CopyReport:
    """Append the sent mails not copied yet to their mailbox's Sent folder."""
    report = CopyReport()
    with sessions.begin() as session:
        rows = session.execute(
            select(OutboxMail.id, OutboxMail.mailbox_id)
            .where(
                OutboxMail.state == OUTBOX_SENT,
                OutboxMail.copied_at.is_(None),
                OutboxMail.mailbox_id.is_not(None),
                OutboxMail.copy_attempts < COPY_ATTEMPTS_MAX,
            )
            .order_by(OutboxMail.id)
        ).all()
    by_mailbox: dict[str, list[int]] = {}
    for outbox_id, mailbox_id in rows:
        by_mailbox.setdefault(mailbox_id, []).append(outbox_id)
    specs = {m.id: m for m in programme.mailboxes}
    for mailbox_id, ids in by_mailbox.items():
        try:
            if mailbox_id not in specs:
                raise ConfigError(f"boîte « {mailbox_id} » absente du programme")
            settings = settings_from_env(specs[mailbox_id], env)
            box = ImapSession(settings).open()
        except (ConfigError, MailboxError) as e:
            _count_failure(sessions, ids, e.message, now)
            report.errors.append(e.message)
            continue
        folder = SentFolder(box, sent_folder(mailbox_id, env))
        done = 0
        try:
            for outbox_id in ids:
                _copy_one(sessions, archive, folder, outbox_id, now)
                report.copied.append(outbox_id)
                done += 1
        except (MailboxError, imaplib.IMAP4.error, OSError) as e:
            message = getattr(e, "message", None) or type(e).__name__
            # The failing copy counted its attempt already; the rest of this mailbox's wait.
            _count_failure(sessions, ids[done + 1 :], message, now, delayed=len(ids) - done)
            report.errors.append(message)
        finally:
            box.close()
    return report


def _copy_one(
    sessions: sessionmaker[Session],
    archive: RawArchive,
    folder: SentFolder,
    outbox_id: int,
    now: dt.datetime,
) -> None:
    with sessions.begin() as session:  # write first (see delivery._claim)
        session.execute(
            update(OutboxMail)
            .where(OutboxMail.id == outbox_id)
            .values(copy_attempts=OutboxMail.copy_attempts + 1)
            .execution_options(synchronize_session=False)
        )
        row = session.get(OutboxMail, outbox_id)
        tried_before = row.copy_attempts > 1
        message_id, sha, sent_at = row.rfc_message_id, row.raw_sha256, row.sent_at or now
    # A previous try may have appended it and died before saying so.
    if not (tried_before and folder.holds(message_id)):
        folder.append(archive.read(sha or ""), sent_at)
    faults.checkpoint("copying")  # no-op unless GUICHET_FAULTS is set
    with sessions.begin() as session:
        session.execute(
            update(OutboxMail)
            .where(OutboxMail.id == outbox_id)
            .values(copied_at=now)
            .execution_options(synchronize_session=False)
        )


def _count_failure(
    sessions: sessionmaker[Session],
    ids: list[int],
    reason: str,
    now: dt.datetime,
    delayed: int | None = None,
) -> None:
    """One more attempt on ``ids``; the event tells how many copies wait (``delayed``)."""
    with sessions.begin() as session:
        session.execute(
            update(OutboxMail)
            .where(OutboxMail.id.in_(ids))
            .values(copy_attempts=OutboxMail.copy_attempts + 1)
            .execution_options(synchronize_session=False)
        )
        log_event(
            session,
            now,
            "copie_envoyes_en_echec",
            f"Copie de {len(ids) if delayed is None else delayed} courriel(s) dans « Envoyés » "
            f"reportée : {reason}",
        )
