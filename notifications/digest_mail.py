"""The coordinators' digest as a mail: built (``notifications.digest``), the full export
attached (``triage.export``), recorded in the outbox once per recipient and day (and
once more for the deadline day's closing digest), then sent."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import select

from notifications.delivery import DeliveryReport
from notifications.digest import build_digest, digest_key
from notifications.outbox import record
from notifications.plan import DIGEST
from triage.export import export_table, xlsx_bytes
from triage.models import OutboxMail

if TYPE_CHECKING:
    from notifications.jobs import Notifier

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_name(programme_id: str, now: dt.datetime, zone: dt.tzinfo) -> str:
    return f"candidatures-{programme_id}-{now.astimezone(zone):%Y-%m-%d-%Hh%M}.xlsx"


def record_digest(notifier: Notifier, now: dt.datetime, *, final: bool = False) -> list[int]:
    """Record today's digest for every recipient (nothing if already recorded)."""
    programme = notifier.programme
    store = notifier.store
    name = export_name(programme.id, now, programme.zone)
    recorded: list[int] = []
    key = digest_key(programme, now, final=final)
    keys = {
        recipient.lower(): f"{key}:{recipient.lower()}" for recipient in programme.digest_recipients
    }
    with store.sessions.begin() as session:
        sent = set(session.scalars(select(OutboxMail.key).where(OutboxMail.key.in_(keys.values()))))
        due = {recipient: k for recipient, k in keys.items() if k not in sent}
        if not due:
            return recorded  # already recorded today: no need to build it again
        digest = build_digest(session, programme, now, final=final, attachment=name)
        attachment = (name, XLSX, xlsx_bytes(export_table(session, programme)))
        for recipient, recipient_key in due.items():
            row = record(
                session,
                store.archive,
                programme,
                key=recipient_key,
                kind=DIGEST,
                recipient=recipient,
                rendered=digest,
                now=now,
                attachments=(attachment,),
                copy_to_sent=False,
            )
            if row is not None:
                recorded.append(row.id)
    return recorded


def send_digest(notifier: Notifier, now: dt.datetime, *, final: bool = False) -> DeliveryReport:
    record_digest(notifier, now, final=final)
    delivery, _ = notifier.flush(now, kinds=(DIGEST,))
    return delivery
