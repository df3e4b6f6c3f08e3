"""Issue #14, item 6: how many mails one applicant gets over the season about the same
missing items, end to end (the dossier polled from Dovecot, mails sent over SMTP into the
applicant's Dovecot inbox, read back over IMAP), the worker's jobs run on a simulated
clock: a poll and a mail run every hour, and the reminder jobs at their moments."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from typing import Any

from config.programme import load_programme
from ingest.mailbox import programme_mailboxes
from ingest.poll import run_cycle
from ingest.processing import Checker
from notifications.jobs import Notifier, smtp_sender
from notifications.plan import reminder_moments
from tests.conftest import Accounts
from tests.mails import brussels, with_trace
from tests.servers import DovecotServer, SmtpRelay, guichet_smtp_env
from tests.stores import dossier_mail
from triage.store import Store

BLOSSOM = load_programme("blossom-2026")
VELO = "g03-mixed-labels-npar3"  # Vélo Solidaire, a complete form
NO_CV = ("statuts", "rapport", "bilans")  # every annex but the CV


def run_season(accounts: Accounts, relay: SmtpRelay, store: Store, checker: Checker,
               start: dt.datetime) -> None:  # fmt: skip
    """The worker from ``start`` to an hour after the deadline: every hour a poll then the
    mail run (``courriels``), and the mail run at each reminder moment (``rappel-J-n``)."""
    env = {**accounts.env, **guichet_smtp_env(relay)}
    notifier = Notifier(store, BLOSSOM, env, smtp_sender(env))
    deadline = BLOSSOM.deadline_at
    assert deadline is not None
    moments = [m for _, m in reminder_moments(BLOSSOM)]
    now = start
    while now <= deadline + dt.timedelta(hours=1):
        for moment in [m for m in moments if now - dt.timedelta(hours=1) < m <= now]:
            notifier.run(moment)
        run_cycle(store, BLOSSOM, programme_mailboxes(BLOSSOM.mailboxes, env), now,
                  checker=checker)  # fmt: skip
        notifier.run(now + dt.timedelta(minutes=1))
        now += dt.timedelta(hours=1)


def subject(mail: Any) -> str:
    """The subject as a mail client reads it (the email package: imap_tools' own decoding
    drops the space a folded line starts with after an encoded word)."""
    return str(email.message_from_bytes(mail.obj.as_bytes(), policy=email.policy.default)["Subject"])


def received(dovecot: DovecotServer, address: str) -> list[Any]:
    with dovecot.mailbox(address) as box:
        box.folder.set("INBOX")
        return sorted(box.fetch(mark_seen=False, bulk=True), key=lambda m: m.date)


def test_one_missing_cv_brings_the_acknowledgement_and_one_follow_up_not_four_mails(
    accounts: Accounts,
    smtp_relay: SmtpRelay,
    sqlite_store: Store,
    applicant: str,
    dovecot: DovecotServer,
    checker: Checker,
) -> None:
    """The issue's case: sent on Tuesday 8 September without the CV, the dossier had an
    acknowledgement, « Dossier incomplet » and the D-2 and D-day reminders, 4 mails in 6
    days. Now: the acknowledgement, then one follow-up 3 days later with a subject saying
    what is missing; the reminders fall within 3 days of it and are not sent."""
    raw = dossier_mail(VELO, annexes=NO_CV, sender=f"Fatima El Amrani <{applicant}>")
    when = brussels(2026, 9, 8, 9, 0)
    accounts.append("info", raw, when)
    accounts.append("programme", with_trace(raw, "matthias@coopcity.be"), when)
    run_season(accounts, smtp_relay, sqlite_store, checker, brussels(2026, 9, 8, 9, 2))

    mails = received(dovecot, applicant)
    assert [subject(m) for m in mails] == [
        "Accusé de réception – Vélo Solidaire – BLOSSOM 2026-2027",
        "Il manque encore le CV de la personne référente pour COOPCITY à votre dossier – Vélo Solidaire",
    ]
    assert (mails[1].date - mails[0].date) >= dt.timedelta(days=3)
    follow_up = " ".join(mails[1].text.split())
    assert "Il manque encore : - Le CV de la personne référente pour COOPCITY" in follow_up
    assert "avant le lundi 14 septembre 2026 à 10:00, heure de Bruxelles" in follow_up
    assert mails[1].headers["in-reply-to"] == ("<g03-mixed-labels-npar3@velosolidaire.be>",)


def test_an_earlier_dossier_missing_its_cv_gets_a_mail_at_most_every_three_days(
    accounts: Accounts,
    smtp_relay: SmtpRelay,
    sqlite_store: Store,
    applicant: str,
    dovecot: DovecotServer,
    checker: Checker,
) -> None:
    """Sent on 7 September at 8:00: the follow-up three days later, no D-2 reminder two
    days after it, and the deadline-day reminder, 4 days after the follow-up."""
    raw = dossier_mail(VELO, annexes=NO_CV, sender=f"Fatima El Amrani <{applicant}>")
    accounts.append("info", raw, brussels(2026, 9, 7, 7, 30))
    run_season(accounts, smtp_relay, sqlite_store, checker, brussels(2026, 9, 7, 7, 45))

    mails = received(dovecot, applicant)
    subjects = [subject(m) for m in mails]
    assert subjects[0].startswith("Accusé de réception")
    assert subjects[1] == (
        "Il manque encore le CV de la personne référente pour COOPCITY à votre dossier – Vélo Solidaire"
    )
    # (the header's text has its spaces flattened: the template's no-break space is a space)
    assert subjects[2] == "Rappel : clôture le lundi 14 septembre 2026 à 10:00 – Vélo Solidaire"
    assert len(mails) == 3
    dates = [m.date for m in mails]
    assert all(b - a >= dt.timedelta(days=3) for a, b in zip(dates, dates[1:], strict=False))
