"""The coordinators' digest as a mail: built (``notifications.digest``), the full export
attached (``triage.export``), recorded in the outbox once per recipient and day (and
once more for the deadline day's closing digest), then sent."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from notifications.compose import Rendered
from notifications.delivery import DeliveryReport
from notifications.digest import build_digest, digest_key
from notifications.outbox import record
from notifications.plan import DIGEST
from triage.export import export_table, xlsx_bytes

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
    with store.sessions.begin() as session:
        key = digest_key(programme, now, final=final)
        digest = build_digest(session, programme, now, final=final, attachment=name)
        attachment = (name, XLSX, xlsx_bytes(export_table(session, programme)))
        for recipient in programme.digest_recipients:
            row = record(
                session,
                store.archive,
                programme,
                key=f"{key}:{recipient.lower()}",
                kind=DIGEST,
                recipient=recipient.lower(),
                rendered=Rendered(digest.subject, digest.text, digest.html),
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
