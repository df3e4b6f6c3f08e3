"""The store's tables (SQLAlchemy 2): what arrived, what it was judged, what was done.

    Message ──< MailCopy             one mail, the copies of it in our mailboxes (IMAP UIDs)
       │  └──< Attachment, Verdict   its files; its verdicts (one per check run)
       │  └──  ParsedDossier         the dossier read from it, if any
       └──> Application ──< ApplicationVersion (one per mail carrying a dossier)
                 └──< Verdict, Decision, OutboxMail
    MailboxCheckpoint                per (account, folder): UIDVALIDITY and last UID
    Event                            a log of what happened, for people and the digest

Times are stored in UTC and read back aware (``UTCDateTime``), whatever the database.
The schema changes only through Alembic (``triage/migrations``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from triage.states import (  # noqa: F401 - the store's words, kept importable from here
    CONTRIBUTING,
    DECISIONS,
    ERREUR,
    KEYWORD,
    OUTBOX_ABANDONED,
    OUTBOX_RECORDED,
    OUTBOX_SENDING,
    OUTBOX_SENT,
    OWN_MAIL,
    PURGE,
    RECU,
    RETIRE,
    ROLE_COMPLEMENT,
    ROLE_DAMAGED,
    ROLE_DOSSIER,
    ROLE_MESSAGE,
    ROLE_NOT_READ,
    TRAITE,
)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware datetime stored as naive UTC (SQLite has no time zones)."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("aware datetimes only")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy's own class attribute
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
    }


class Message(Base):
    """One mail, whatever the number of mailboxes it reached."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    rfc_message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)  # ingest.fingerprint
    raw_sha256: Mapped[str] = mapped_column(String(64))  # the copy the checks read
    size: Mapped[int] = mapped_column(Integer)
    sender: Mapped[str | None] = mapped_column(String(320), index=True)
    subject: Mapped[str | None] = mapped_column(Text)
    date_header: Mapped[dt.datetime | None]
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    references: Mapped[list[Any]] = mapped_column(default=list)
    received_at: Mapped[dt.datetime]  # the earliest INTERNALDATE among its copies
    state: Mapped[str] = mapped_column(String(16), default=RECU, index=True)
    reason: Mapped[str | None] = mapped_column(Text)  # why it is in error, in French
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    programme_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(32))  # the mail's own verdict
    structure: Mapped[str | None] = mapped_column(Text)
    reply_to: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str | None] = mapped_column(String(16))
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[dt.datetime]
    checked_at: Mapped[dt.datetime | None]
    # A worker checking it (lease): another worker leaves it alone until ``claimed_until``.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime | None]

    copies: Mapped[list[MailCopy]] = relationship(back_populates="message")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", cascade="all, delete-orphan"
    )
    parsed: Mapped[ParsedDossier | None] = relationship(
        back_populates="message", cascade="all, delete-orphan"
    )
    application: Mapped[Application | None] = relationship(back_populates="messages")


class MailCopy(Base):
    """One message as it sits in one mailbox folder: the IMAP coordinates that fetched it."""

    __tablename__ = "mail_copies"
    __table_args__ = (UniqueConstraint("account", "folder", "uidvalidity", "uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    account: Mapped[str] = mapped_column(String(64))  # the programme's mailbox id
    folder: Mapped[str] = mapped_column(String(255))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    internal_date: Mapped[dt.datetime]
    raw_sha256: Mapped[str] = mapped_column(String(64))  # this copy's bytes, archived
    size: Mapped[int] = mapped_column(Integer)
    keyword_set: Mapped[bool] = mapped_column(Boolean, default=False)
    seen_at: Mapped[dt.datetime]

    message: Mapped[Message] = relationship(back_populates="copies")


class Attachment(Base):
    """A file attached to a mail, and what the check made of it."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # dossier, annexe, autre; ROLE_DAMAGED, ROLE_NOT_READ (issue #11: asked again, to check)
    role: Mapped[str] = mapped_column(String(16))
    annex_keys: Mapped[list[Any]] = mapped_column(default=list)

    message: Mapped[Message] = relationship(back_populates="attachments")


class ParsedDossier(Base):
    """The fields read from the dossier a mail carried (the parser's output, as JSON)."""

    __tablename__ = "parsed_fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    programme_id: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(16))
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    missing: Mapped[list[Any]] = mapped_column(default=list)  # the form's missing fields
    # Fields written in but not read (a score « 12/10 »): never missing, for a person to check
    unread: Mapped[list[Any]] = mapped_column(default=list)
    unread_raw: Mapped[dict[str, Any]] = mapped_column(default=dict)  # key -> the text found
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    tracked_changes: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime]

    message: Mapped[Message] = relationship(back_populates="parsed")


class Application(Base):
    """One application per structure and programme, with its current (latest) verdict."""

    __tablename__ = "applications"
    __table_args__ = (UniqueConstraint("programme_id", "structure_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[str] = mapped_column(String(64))
    structure_key: Mapped[str] = mapped_column(String(400))  # see triage.application
    structure: Mapped[str | None] = mapped_column(Text)  # as written by the applicant
    sender: Mapped[str | None] = mapped_column(String(320), index=True)
    reply_to: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(32))
    missing: Mapped[list[Any]] = mapped_column(default=list)
    unread: Mapped[list[Any]] = mapped_column(default=list)  # see triage.application
    annexes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    bilans_years: Mapped[list[Any]] = mapped_column(default=list)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    first_received_at: Mapped[dt.datetime]
    last_received_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    # A status a coordinator gave on the desk (``RETIRE``…), with why, who and when
    status_override: Mapped[str | None] = mapped_column(String(32))
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by: Mapped[str | None] = mapped_column(String(320))
    override_at: Mapped[dt.datetime | None]

    messages: Mapped[list[Message]] = relationship(back_populates="application")
    versions: Mapped[list[ApplicationVersion]] = relationship(
        back_populates="application", order_by="ApplicationVersion.number"
    )

    @property
    def current_version(self) -> ApplicationVersion | None:
        """The version that counts: the latest dossier received before the deadline."""
        return next((v for v in self.versions if v.counts), None)


class ApplicationVersion(Base):
    """A dossier received for an application; the latest before the deadline counts."""

    __tablename__ = "application_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2… in order of receipt
    received_at: Mapped[dt.datetime]
    counts: Mapped[bool] = mapped_column(Boolean, default=False)  # the one the verdict reads
    created_at: Mapped[dt.datetime]

    application: Mapped[Application] = relationship(back_populates="versions")
    message: Mapped[Message] = relationship()


class Verdict(Base):
    """A verdict as computed at one time: on one mail, or on an application as a whole."""

    __tablename__ = "verdicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(32))
    structure: Mapped[str | None] = mapped_column(Text)
    missing: Mapped[list[Any]] = mapped_column(default=list)
    unread: Mapped[list[Any]] = mapped_column(default=list)
    annexes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    bilans_years: Mapped[list[Any]] = mapped_column(default=list)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime]


class OutboxMail(Base):
    """A mail to send, recorded before it is sent (issue 5: exactly-once delivery).

    ``key`` makes it unique per event (e.g. ``accuse:<application>:<version>``);
    ``rfc_message_id`` is chosen at recording time so a retry after a crash sends the
    same mail, and a reply to it finds its application.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), index=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("application_versions.id"))
    in_reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    rfc_message_id: Mapped[str] = mapped_column(String(998), unique=True)
    raw_sha256: Mapped[str | None] = mapped_column(String(64))  # the rendered mail, archived
    mailbox_id: Mapped[str | None] = mapped_column(String(64))  # sent from; its Sent folder
    state: Mapped[str] = mapped_column(String(16), default=OUTBOX_RECORDED, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime | None]
    # Set when an attempt's outcome was unknown (a crash after handing it to SMTP) and
    # the mail was sent again: the same Message-ID, shown to coordinators as a possible double.
    uncertain: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime]
    sending_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    copied_at: Mapped[dt.datetime | None]  # the copy appended to the Sent folder
    copy_attempts: Mapped[int] = mapped_column(Integer, default=0)


class Decision(Base):
    """A selection decision on an application (issue 5); the latest counts."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    decision: Mapped[str] = mapped_column(String(16))  # one of DECISIONS
    source: Mapped[str] = mapped_column(String(32))  # cli, import
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    decided_by: Mapped[str | None] = mapped_column(String(320))  # the desk's user


class MailboxCheckpoint(Base):
    """Where polling stands in one folder of one account, and how the account is doing."""

    __tablename__ = "mailbox_checkpoints"
    __table_args__ = (UniqueConstraint("account", "folder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    folder: Mapped[str] = mapped_column(String(255))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_poll_at: Mapped[dt.datetime | None]
    last_success_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # in a row
    next_attempt_at: Mapped[dt.datetime | None]


class Event(Base):
    """Something that happened, in French for people, with its data for programs."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_at_kind", "at", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime]
    kind: Mapped[str] = mapped_column(String(48))
    account: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), index=True
    )
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="SET NULL"), index=True
    )
    detail: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class WorkerHealth(Base):
    """The worker's heartbeat (issue #12): one row per programme for its polling cycles
    (``subject`` empty) and one per mailbox (``subject`` its id), updated after each cycle;
    ``guichet doctor --alert`` reads them. ``alerted_for``: the start of the outage an
    alert was recorded for (cleared with the « rétabli » mail)."""

    __tablename__ = "worker_health"
    __table_args__ = (UniqueConstraint("programme_id", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(64))  # "" = the cycles; else a mailbox id
    worker: Mapped[str] = mapped_column(String(64))  # worker_identity() of the last writer
    last_cycle_at: Mapped[dt.datetime]
    last_success_at: Mapped[dt.datetime | None]
    failing_since: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    alerted_for: Mapped[dt.datetime | None]


# --- the coordinators' desk (issue #13) ----------------------------------------------------


class Correction(Base):
    """A coordinator's correction of what was read from one mail: a field of its dossier
    (``target`` « champ », ``key`` the field's key) or the kind of one of its files
    (« annexe », ``key`` the file's name). The parsed value stays where it was; the latest
    correction per (message, target, key) counts (``triage.corrections``)."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    target: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(Text)
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    required: Mapped[bool] = mapped_column(Boolean, default=False)  # a required field
    reason: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[dt.datetime]


class DeskUser(Base):
    """A coordinator's account on the desk (``guichet users``); the password hashed with
    Argon2. ``session_token`` is in every session cookie: changing it ends them all."""

    __tablename__ = "desk_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    session_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    last_login_at: Mapped[dt.datetime | None]
