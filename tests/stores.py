"""Putting mails into a store the way the worker does, without a mail server: record a
copy (``ingest.intake``), then check and file what waits (``ingest.processing``)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable

from config.programme import load_programme
from guichet.loopback.mails import ANNEXES, DOSSIERS, dossier_mail  # noqa: F401
from ingest.fingerprint import fingerprint
from ingest.intake import CopyFacts, record_copy
from ingest.processing import Checker, check_pending
from tests.mails import brussels, fixture, sample
from triage.check import check_message
from triage.store import Store

BLOSSOM = load_programme("blossom-2026")
NOW = dt.datetime(2026, 9, 20, 8, 0, tzinfo=dt.UTC)
_uids = itertools.count(1)

# A realistic mix of BLOSSOM mails with their receipt times (Brussels): complete,
# incomplete, a supplement completing an earlier dossier, late, automatic, off-topic.
SEASON = (
    ("sample", "pe001", brussels(2026, 9, 1, 9, 12)),
    ("sample", "pe002", brussels(2026, 9, 3, 14, 30)),
    ("sample", "pe003", brussels(2026, 9, 7, 16, 5)),
    ("sample", "pe004", brussels(2026, 9, 10, 11, 45)),
    ("sample", "pe005", brussels(2026, 9, 11, 8, 20)),
    ("fixture", "gmail_complet", brussels(2026, 9, 12, 10, 0)),
    ("fixture", "outlook_winmail", brussels(2026, 9, 12, 15, 10)),
    ("fixture", "young_company_outside_brussels", brussels(2026, 9, 13, 9, 0)),
    ("fixture", "deadline_095959", brussels(2026, 9, 14, 9, 59, 59)),
    ("fixture", "deadline_100001", brussels(2026, 9, 14, 10, 0, 1)),
    ("fixture", "out_of_office", brussels(2026, 9, 12, 9, 0)),
    ("fixture", "question", brussels(2026, 9, 9, 12, 0)),
)


def receive(
    store: Store,
    raw: bytes,
    when: dt.datetime,
    account: str = "info",
    uid: int | None = None,
    now: dt.datetime = NOW,
) -> tuple[str, int]:
    """Record one copy of ``raw`` as polled from ``account``; returns (outcome, message id)."""
    sha = store.archive.store(raw)
    facts = CopyFacts(
        programme_id=BLOSSOM.id, account=account, folder="INBOX", uidvalidity=7,
        uid=uid or next(_uids), internal_date=when, raw_sha256=sha, size=len(raw),
        fingerprint=fingerprint(raw),
    )  # fmt: skip
    with store.sessions.begin() as session:
        outcome, message = record_copy(session, facts, now)
        return outcome, message.id


def file_mails(
    store: Store,
    mails: Iterable[tuple[bytes, dt.datetime]],
    checker: Checker = check_message,
    now: dt.datetime = NOW,
) -> None:
    """Record every mail, then check and file them all (oldest first), as a cycle does."""
    for raw, when in mails:
        receive(store, raw, when, now=now)
    check_pending(store.sessions, store.archive, BLOSSOM, now, checker)


def season_mails() -> list[tuple[bytes, dt.datetime]]:
    read = {"sample": sample, "fixture": fixture}
    return [(read[kind](name), when) for kind, name, when in SEASON]


def file_season(store: Store, checker: Checker = check_message, now: dt.datetime = NOW) -> None:
    """The ``SEASON`` mails, filed: about ten applications in every status."""
    file_mails(store, season_mails(), checker, now)


# --- a varied season, built from the generated dossiers ---------------------------------

def varied_mails() -> list[tuple[bytes, dt.datetime]]:
    """Ten structures in every state a coordinator meets: complete, missing annexes,
    missing fields, completed by a later mail, corrected, late, plus noise."""
    return [
        (dossier_mail("g02-nextline-npar2"), brussels(2026, 9, 2, 10, 15)),
        (dossier_mail("g03-mixed-labels-npar3", annexes=("statuts", "rapport")), brussels(2026, 9, 3, 9, 0)),
        (dossier_mail("g05-cc-inline", annexes=()), brussels(2026, 9, 4, 17, 40)),
        (dossier_mail("g05-cc-inline", with_dossier=False, message_id="<g05-suite@crechelespetitspas.brussels>",
                      in_reply_to="<g05-cc-inline@crechelespetitspas.brussels>"), brussels(2026, 9, 8, 8, 5)),
        (dossier_mail("g06-cc-placeholder-nextline"), brussels(2026, 9, 5, 11, 0)),
        (dossier_mail("g09-table", annexes=("statuts", "rapport", "bilans")), brussels(2026, 9, 9, 14, 0)),
        (dossier_mail("g13-table-B1col-grid"), brussels(2026, 9, 10, 16, 20)),
        (dossier_mail("g15-tableB-2col", annexes=("cv",)), brussels(2026, 9, 11, 12, 0)),
        (dossier_mail("g20-autodiag-inline-space"), brussels(2026, 9, 14, 9, 59, 59)),
        (dossier_mail("g27-label-deleted"), brussels(2026, 9, 14, 10, 0, 1)),
        (dossier_mail("g28-textbox", annexes=("statuts", "rapport", "bilans")), brussels(2026, 9, 12, 9, 30)),
        (fixture("out_of_office"), brussels(2026, 9, 12, 9, 0)),
        (fixture("question"), brussels(2026, 9, 9, 12, 0)),
    ]  # fmt: skip


def file_varied(store: Store, checker: Checker = check_message, now: dt.datetime = NOW) -> None:
    """``varied_mails`` filed: ten applications, every status."""
    file_mails(store, varied_mails(), checker, now)
