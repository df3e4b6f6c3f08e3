"""Mails to applicants end to end: applicant mails polled from Dovecot, answers sent over
SMTP (aiosmtpd on loopback, delivering into Dovecot), read back from the applicant's
inbox over IMAP; the Sent copy; SMTP down then back; crashes between the outbox steps."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from config.programme import load_programme
from ingest.mailbox import programme_mailboxes
from ingest.poll import run_cycle
from ingest.processing import Checker
from notifications.delivery import SENDING_LEASE
from notifications.jobs import Notifier, smtp_sender
from tests.conftest import Accounts
from tests.mails import brussels, with_trace
from tests.servers import DovecotServer, SmtpRelay, free_port, guichet_smtp_env
from tests.stores import dossier_mail
from triage.models import (
    OUTBOX_RECORDED,
    OUTBOX_SENDING,
    OUTBOX_SENT,
    OWN_MAIL,
    Event,
    Message,
    OutboxMail,
)
from triage.store import Store

BLOSSOM = load_programme("blossom-2026")
ROOT = Path(__file__).resolve().parent.parent
VELO = "g03-mixed-labels-npar3"  # Vélo Solidaire, a complete form


def inbox(dovecot: DovecotServer, user: str, folder: str = "INBOX") -> list[Any]:
    with dovecot.mailbox(user) as box:
        if not box.folder.exists(folder):
            return []
        box.folder.set(folder)
        return list(box.fetch(mark_seen=False, bulk=True))


@pytest.fixture
def world(
    accounts: Accounts, smtp_relay: SmtpRelay, sqlite_store: Store, applicant: str
) -> Iterator[dict[str, Any]]:
    env = {**accounts.env, **guichet_smtp_env(smtp_relay)}
    yield {"env": env, "store": sqlite_store, "applicant": applicant}


def poll(world: dict[str, Any], now: dt.datetime, checker: Checker) -> None:
    run_cycle(world["store"], BLOSSOM, programme_mailboxes(BLOSSOM.mailboxes, world["env"]), now,
              checker=checker)  # fmt: skip


def notifier(world: dict[str, Any], env: dict[str, str] | None = None) -> Notifier:
    env = env or world["env"]
    return Notifier(world["store"], BLOSSOM, env, smtp_sender(env))


def first_mail(world: dict[str, Any], accounts: Accounts, annexes: tuple[str, ...]) -> bytes:
    raw = dossier_mail(VELO, annexes=annexes, sender=f"Fatima El Amrani <{world['applicant']}>")
    when = brussels(2026, 9, 3, 9, 0)
    accounts.append("info", raw, when)
    accounts.append("programme", with_trace(raw, "matthias@coopcity.be"), when)
    return raw


def rows(store: Store) -> list[OutboxMail]:
    with store.sessions() as session:
        return list(session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def test_acknowledgement_reaches_the_applicant_threaded_with_a_sent_copy(
    world: dict[str, Any], accounts: Accounts, dovecot: DovecotServer, checker: Checker
) -> None:
    first_mail(world, accounts, ("statuts", "rapport"))
    now = brussels(2026, 9, 3, 9, 2)
    poll(world, now, checker)
    report = notifier(world).run(now)
    assert len(report.recorded) == 1 and len(report.delivery.sent) == 1

    received = inbox(dovecot, world["applicant"])
    assert len(received) == 1  # the mail reached both mailboxes: one answer
    mail = received[0]
    assert mail.subject == "Accusé de réception – Vélo Solidaire – BLOSSOM 2026-2027"
    assert mail.headers["in-reply-to"] == ("<g03-mixed-labels-npar3@velosolidaire.be>",)
    assert mail.headers["auto-submitted"] == ("auto-replied",)
    assert mail.from_ == "info@coopcity.be"
    text = " ".join(mail.text.split())
    assert "Il manque encore : - Les bilans comptables des 2 dernières années" in text
    assert "avant le lundi 14 septembre 2026 à 10:00, heure de Bruxelles" in text
    assert "Statuts.pdf : Vos statuts" in text
    assert "Numéro d’entreprise : 0725.922.660" in text
    assert "Nom de l’entreprise : Vélo Solidaire" in text  # the field's title, not « Nom l’… »
    assert "Description du projet : 13 réponses sur 13 - Autodiagnostic : 7 notes sur 7" in text
    assert "&lt;" not in mail.html and "Vélo Solidaire" in mail.html

    sent = inbox(dovecot, accounts.users["info"], "Sent")
    assert [m.headers["message-id"] for m in sent] == [mail.headers["message-id"]]
    assert "\\Seen" in sent[0].flags

    later = brussels(2026, 9, 3, 9, 4)
    poll(world, later, checker)
    again = notifier(world).run(later)
    assert again.recorded == [] and again.delivery.sent == []
    assert len(inbox(dovecot, world["applicant"])) == 1
    assert len(inbox(dovecot, accounts.users["info"], "Sent")) == 1


def test_a_supplement_gets_its_own_answer_saying_the_dossier_is_now_complete(
    world: dict[str, Any], accounts: Accounts, dovecot: DovecotServer, checker: Checker
) -> None:
    first_mail(world, accounts, ("statuts", "rapport"))
    poll(world, brussels(2026, 9, 3, 9, 2), checker)
    notifier(world).run(brussels(2026, 9, 3, 9, 2))
    supplement = dossier_mail(VELO, annexes=("bilans", "cv"), with_dossier=False,
                              message_id="<suite@velosolidaire.be>",
                              in_reply_to="<g03-mixed-labels-npar3@velosolidaire.be>",
                              sender=f"Fatima El Amrani <{world['applicant']}>")  # fmt: skip
    accounts.append("info", supplement, brussels(2026, 9, 5, 14, 0))
    poll(world, brussels(2026, 9, 5, 14, 2), checker)
    notifier(world).run(brussels(2026, 9, 5, 14, 2))

    received = sorted(inbox(dovecot, world["applicant"]), key=lambda m: m.date)
    assert [m.subject.split(" – ")[0] for m in received] == [
        "Accusé de réception",
        "Complément reçu",
    ]
    assert received[1].headers["in-reply-to"] == ("<suite@velosolidaire.be>",)
    assert "Votre dossier est complet" in received[1].text
    assert "Il manque" not in received[1].text


def test_smtp_down_then_back_delivers_once(
    world: dict[str, Any], accounts: Accounts, dovecot: DovecotServer, checker: Checker,
    smtp_relay: SmtpRelay,
) -> None:  # fmt: skip
    first_mail(world, accounts, ("statuts",))
    now = brussels(2026, 9, 3, 9, 2)
    poll(world, now, checker)
    down = {**world["env"], **guichet_smtp_env(smtp_relay, port=free_port())}
    report = notifier(world, down).run(now)
    assert report.delivery.sent == [] and len(report.delivery.postponed) == 1
    [row] = rows(world["store"])
    assert row.state == OUTBOX_RECORDED and row.next_attempt_at > now and row.last_error
    assert inbox(dovecot, world["applicant"]) == []

    assert notifier(world).run(now).delivery.sent == []  # not before the retry time
    back = notifier(world).run(row.next_attempt_at)
    assert back.delivery.sent == [row.id]
    assert len(inbox(dovecot, world["applicant"])) == 1
    assert notifier(world).run(row.next_attempt_at + dt.timedelta(hours=1)).delivery.sent == []
    assert len(inbox(dovecot, world["applicant"])) == 1


# A worker that records the mails due, then delivers them, and is killed (SIGKILL, no
# cleanup of any kind) right after the step named on its command line.
KILLED_WORKER = """
import datetime as dt, os, signal, sys
from config.programme import load_programme
from notifications.jobs import smtp_sender
from notifications.delivery import deliver
from notifications.outbox import plan_and_record
from triage.store import StoreSettings, open_store

target, now = sys.argv[1], dt.datetime.fromisoformat(sys.argv[2])

def step(name, outbox_id):
    if name == target:
        os.kill(os.getpid(), signal.SIGKILL)

with open_store(StoreSettings.from_env(os.environ), migrate=False) as store:
    with store.sessions.begin() as session:
        plan_and_record(session, store.archive, load_programme("blossom-2026"), now)
    step("recorded", 0)
    deliver(store.sessions, store.archive, smtp_sender(os.environ), "info@coopcity.be", now,
            step=step)
"""


def kill_worker_after(world: dict[str, Any], step: str, now: dt.datetime) -> None:
    store: Store = world["store"]
    env = {**os.environ, **world["env"], "GUICHET_DATABASE_URL": str(store.engine.url),
           "GUICHET_DATA_DIR": str(store.archive.root.parent)}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", KILLED_WORKER, step, now.isoformat()],
                          cwd=ROOT, env=env, check=False, timeout=120)  # fmt: skip
    assert done.returncode == -signal.SIGKILL


@pytest.mark.parametrize("step", ["recorded", "claimed"])
def test_a_worker_killed_between_recording_and_sending_still_sends_once(
    world: dict[str, Any], accounts: Accounts, dovecot: DovecotServer, checker: Checker, step: str
) -> None:
    first_mail(world, accounts, ("statuts",))
    now = brussels(2026, 9, 3, 9, 2)
    poll(world, now, checker)
    kill_worker_after(world, step, now)
    [row] = rows(world["store"])
    assert inbox(dovecot, world["applicant"]) == []
    if step == "claimed":  # handed to this worker, who died before SMTP
        assert row.state == OUTBOX_SENDING
        # The restarted worker leaves it while another might still be sending…
        assert notifier(world).run(now + dt.timedelta(minutes=2)).delivery.sent == []
        now += SENDING_LEASE  # …then sends it once the lease is over.
    else:
        assert row.state == OUTBOX_RECORDED
    again = notifier(world).run(now + dt.timedelta(minutes=1))
    assert again.recorded == [] and again.delivery.sent == [row.id]
    assert len(inbox(dovecot, world["applicant"])) == 1
    assert notifier(world).run(now + dt.timedelta(hours=1)).delivery.sent == []
    assert len(inbox(dovecot, world["applicant"])) == 1


def test_a_worker_killed_between_sending_and_marking_resends_the_same_mail_flagged(
    world: dict[str, Any], accounts: Accounts, dovecot: DovecotServer, checker: Checker
) -> None:
    first_mail(world, accounts, ("statuts",))
    now = brussels(2026, 9, 3, 9, 2)
    poll(world, now, checker)
    kill_worker_after(world, "sent", now)
    assert len(inbox(dovecot, world["applicant"])) == 1
    [row] = rows(world["store"])
    assert row.state == OUTBOX_SENDING

    report = notifier(world).run(now + SENDING_LEASE + dt.timedelta(minutes=1))
    assert report.delivery.uncertain == [row.id]
    received = inbox(dovecot, world["applicant"])
    # SMTP cannot say whether the first try went through: the mail goes again, as the
    # very same mail (one Message-ID), and the double is made visible.
    assert len(received) == 2 and len({m.headers["message-id"] for m in received}) == 1
    assert received[0].text == received[1].text and received[0].subject == received[1].subject
    [row] = rows(world["store"])
    assert row.state == OUTBOX_SENT and row.uncertain and row.attempts == 2
    with world["store"].sessions() as session:
        flagged = select(func.count()).select_from(Event).where(Event.kind == "envoi_incertain")
        assert session.scalar(flagged) == 1
    # The Sent folder still gets a single copy.
    assert len(inbox(dovecot, accounts.users["info"], "Sent")) == 1


def test_results_are_sent_once_and_a_dry_run_sends_nothing(
    world: dict[str, Any], accounts: Accounts, dovecot: DovecotServer, checker: Checker,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from guichet.cli import main
    from triage.models import Application, Decision

    first_mail(world, accounts, ("statuts", "rapport", "bilans", "cv"))
    poll(world, brussels(2026, 9, 3, 9, 2), checker)
    notifier(world).run(brussels(2026, 9, 3, 9, 2))  # the acknowledgement
    store: Store = world["store"]
    for key, value in {**world["env"], "GUICHET_PROGRAMME": BLOSSOM.id,
                       "GUICHET_DATABASE_URL": str(store.engine.url),
                       "GUICHET_DATA_DIR": str(store.archive.root.parent)}.items():  # fmt: skip
        monkeypatch.setenv(key, value)

    assert main(["results", "send", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Vélo Solidaire" in out and "sans décision" in out
    assert "Simulation : 0 courriel(s)" in out

    with store.sessions.begin() as session:
        app = session.scalars(select(Application)).one()
        session.add(Decision(application_id=app.id, decision="retenu", source="test",
                             created_at=brussels(2026, 9, 30, 12, 0)))  # fmt: skip
    assert main(["results", "send", "--dry-run"]) == 0
    assert "Simulation : 1 courriel(s)" in capsys.readouterr().out
    assert len(inbox(dovecot, world["applicant"])) == 1  # still only the acknowledgement

    assert main(["results", "send"]) == 0
    assert "1 résultat(s) préparé(s), 1 envoyé(s)" in capsys.readouterr().out
    assert main(["results", "send"]) == 0
    assert "0 résultat(s) préparé(s), 0 envoyé(s)" in capsys.readouterr().out
    results = [m for m in inbox(dovecot, world["applicant"]) if m.subject.startswith("Résultat")]
    assert len(results) == 1
    assert "Félicitations" in results[0].text
    assert results[0].headers["in-reply-to"] == ("<g03-mixed-labels-npar3@velosolidaire.be>",)


def test_the_daily_digest_goes_to_coordinators_once_with_the_export_attached(
    world: dict[str, Any], accounts: Accounts, dovecot: DovecotServer, checker: Checker
) -> None:
    from notifications.digest_mail import send_digest

    coordinator = accounts.users["programme"]  # the manager's mailbox, which guichet polls
    notifications = replace(
        BLOSSOM.notifications, digest=replace(BLOSSOM.notifications.digest, recipients=(coordinator,))
    )
    programme = replace(BLOSSOM, notifications=notifications)
    raw = dossier_mail(VELO, annexes=("statuts",))
    accounts.append("info", raw, brussels(2026, 9, 3, 9, 0))
    poll(world, brussels(2026, 9, 3, 9, 2), checker)
    n = Notifier(world["store"], programme, world["env"], smtp_sender(world["env"]))

    morning = brussels(2026, 9, 4, 8, 0)
    assert len(send_digest(n, morning).sent) == 1
    assert send_digest(n, morning + dt.timedelta(hours=2)).sent == []  # once a day
    [digest] = inbox(dovecot, coordinator)
    assert "Vélo Solidaire" in digest.html and "Vélo Solidaire" in digest.text
    assert digest.headers["auto-submitted"] == ("auto-generated",)
    [export] = digest.attachments
    assert export.filename.endswith(".xlsx") and export.payload[:2] == b"PK"
    # the digest is not threaded into any applicant's conversation, nor copied to Sent
    assert "in-reply-to" not in digest.headers
    assert inbox(dovecot, accounts.users["info"], "Sent") == []
    assert len(send_digest(n, brussels(2026, 9, 14, 10, 5), final=True).sent) == 1

    # Polled back from the manager's mailbox, the digests are known as ours: not checked,
    # not counted as automatic replies, never answered.
    poll(world, brussels(2026, 9, 14, 10, 7), checker)
    with world["store"].sessions() as session:
        statuses = session.scalars(select(Message.status).order_by(Message.id)).all()
    assert statuses == ["incomplet", OWN_MAIL, OWN_MAIL]
    notifier(world).run(brussels(2026, 9, 14, 10, 8))
    recipients = {row.recipient for row in rows(world["store"]) if row.kind != "digest"}
    assert recipients == {"info@velosolidaire.be"}  # the applicant's acknowledgement only


def test_guichet_digest_send_sends_todays_digest_once(
    world: dict[str, Any], accounts: Accounts, dovecot: DovecotServer, checker: Checker,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any,
) -> None:  # fmt: skip
    from guichet.cli import main

    coordinator = world["applicant"]
    folder = tmp_path / "programmes"
    folder.mkdir()
    text = (Path(__file__).parent.parent / "config/programmes/blossom-2026.yaml").read_text()
    text = text.replace("id: blossom-2026", "id: blossom-2026-essai", 1).replace(
        'digest: { at: "08:00", final_delay_minutes: 5 }',
        f'digest: {{ at: "08:00", final_delay_minutes: 5, recipients: ["{coordinator}"] }}',
    )
    (folder / "essai.yaml").write_text(text)
    # a programme ships its blank form beside its file
    (folder / "blossom-2026.docx").write_bytes((Path(__file__).parent.parent / "config/programmes/blossom-2026.docx").read_bytes())
    store: Store = world["store"]
    for key, value in {**world["env"], "GUICHET_PROGRAMMES_DIR": str(folder),
                       "GUICHET_DATABASE_URL": str(store.engine.url),
                       "GUICHET_DATA_DIR": str(store.archive.root.parent)}.items():  # fmt: skip
        monkeypatch.setenv(key, value)

    args = ["digest", "--send", "--programme", "blossom-2026-essai", "--at", "2026-09-04T08:00"]
    assert main(args) == 0
    assert f"Point envoyé à 1 destinataire(s) : {coordinator}" in capsys.readouterr().out
    assert main(args) == 0
    assert "déjà parti" in capsys.readouterr().out
    [digest] = inbox(dovecot, coordinator)
    assert "BLOSSOM" in digest.subject and digest.attachments[0].filename.endswith(".xlsx")


def test_a_sent_copy_interrupted_before_its_mark_is_not_appended_twice(
    world: dict[str, Any], accounts: Accounts, dovecot: DovecotServer, checker: Checker
) -> None:
    from sqlalchemy import update

    first_mail(world, accounts, ("statuts",))
    now = brussels(2026, 9, 3, 9, 2)
    poll(world, now, checker)
    notifier(world).run(now)
    assert len(inbox(dovecot, accounts.users["info"], "Sent")) == 1
    with world["store"].sessions.begin() as session:  # appended, then the worker died
        session.execute(update(OutboxMail).values(copied_at=None, copy_attempts=1))
    report = notifier(world).run(now + dt.timedelta(minutes=2))
    assert len(report.copies.copied) == 1
    assert len(inbox(dovecot, accounts.users["info"], "Sent")) == 1
    [row] = rows(world["store"])
    assert row.copied_at is not None and row.copy_attempts == 2


def test_reminders_reach_incomplete_applicants_and_automatic_mail_gets_nothing(
    world: dict[str, Any], accounts: Accounts, dovecot: DovecotServer, checker: Checker
) -> None:
    from tests.mails import fixture

    first_mail(world, accounts, ("statuts",))  # incomplete: no bilans, no CV
    accounts.append("info", fixture("out_of_office"), brussels(2026, 9, 3, 9, 30))
    poll(world, brussels(2026, 9, 3, 9, 32), checker)
    notifier(world).run(brussels(2026, 9, 3, 9, 32))
    notifier(world).run(brussels(2026, 9, 6, 10, 0))  # three days on: the follow-up
    notifier(world).run(brussels(2026, 9, 12, 8, 1))  # D-2, 8:00: the reminder
    notifier(world).run(brussels(2026, 9, 12, 9, 0))  # nothing more that day
    subjects = [m.subject for m in sorted(inbox(dovecot, world["applicant"]), key=lambda m: m.date)]
    assert [s.split(" ")[0] for s in subjects] == ["Accusé", "Il", "Rappel"]
    assert subjects[1].startswith("Il manque encore votre dernier rapport d’activité et 2 autres")
    assert {r.recipient for r in rows(world["store"])} == {world["applicant"]}  # not the robot


def test_hostile_applicant_data_reaches_nobody_as_markup_or_headers(
    world: dict[str, Any], accounts: Accounts, dovecot: DovecotServer, checker: Checker
) -> None:
    from tests.mails import build

    name = "<script>alert(1)</script> Coop " + "très " * 400  # over 2,000 characters
    raw = build(
        sender=f"Mallory <{world['applicant']}>",
        subject=f"Dossier de candidature – COOPCITY 2026 – {name}",
        message_id="<hostile@example.org>",
        files={"Statuts.pdf": b"%PDF-1.4 statuts", "<img src=x onerror=alert(1)>.pdf": b"%PDF-1.4"},
    )
    accounts.append("info", raw, brussels(2026, 9, 3, 9, 0))
    poll(world, brussels(2026, 9, 3, 9, 2), checker)
    notifier(world).run(brussels(2026, 9, 3, 9, 2))
    [mail] = inbox(dovecot, world["applicant"])
    assert len(mail.subject) <= 200 and "\n" not in mail.subject
    assert set(mail.headers) >= {"from", "to", "subject", "in-reply-to"}
    assert not {h for h in mail.headers if h.startswith(("bcc", "x-evil"))}
    assert "<script>" not in mail.html and "<img" not in mail.html
    assert "&lt;script&gt;" in mail.html and "&lt;img src=x" in mail.html
    assert "Le dossier de candidature" in mail.text  # what is missing, still said


def plain_lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").split("\n")


def assert_wrapped(text: str, *whole: str) -> None:
    """Issue #14, point 4: no line over 72 columns but a word that cannot be cut, and each
    of ``whole`` (an address, a URL) on one line."""
    lines = plain_lines(text)
    assert all(len(line) <= 72 or " " not in line.strip() for line in lines), [
        line for line in lines if len(line) > 72
    ]
    for word in whole:
        assert any(word in line for line in lines), word


def test_a_dossier_one_second_late_is_told_so_to_the_second_and_promised_nothing(
    world: dict[str, Any], accounts: Accounts, dovecot: DovecotServer, checker: Checker
) -> None:
    """Issue #14, point 2: « reçu à 10:00:01 … clôture fixée à 10:00:00 », no result
    promised, no phone call announced."""
    raw = dossier_mail(VELO, sender=f"Fatima El Amrani <{world['applicant']}>")
    accounts.append("info", raw, brussels(2026, 9, 14, 10, 0, 1))
    now = brussels(2026, 9, 14, 10, 2)
    poll(world, now, checker)
    notifier(world).run(now)

    [mail] = inbox(dovecot, world["applicant"])
    assert mail.subject.startswith("Reçu après la clôture – ")
    text = " ".join(mail.text.split())
    assert (
        "Votre courriel reçu le lundi 14 septembre 2026 à 10:00:01 est arrivé après la "
        "clôture des candidatures au programme BLOSSOM 2026-2027, fixée au lundi 14 "
        "septembre 2026 à 10:00:00 (heure de Bruxelles)."
    ) in text
    assert "Nous ne pouvons malheureusement pas prendre en compte la candidature" in text
    for promise in ("2 octobre", "résultat", "appellera"):
        assert promise not in mail.text and promise not in mail.html
    assert "à 10:00:01" in mail.html and "à 10:00:00" in mail.html
    assert "matthias@coopcity.be" in text  # whom to ask, still said
    assert_wrapped(mail.text, "matthias@coopcity.be")


def test_an_acknowledgement_reads_dates_and_quotes_the_missing_question(
    world: dict[str, Any], accounts: Accounts, dovecot: DovecotServer, checker: Checker
) -> None:
    """Issue #14, points 3, 4 and 5: « 1er septembre », « mars 2015 » (a creation date
    given as month and year), the missing question quoted, lines wrapped at 72 columns."""
    raw = dossier_mail("g32-sign-nextline-ouinon-nextline", sender=f"Leila <{world['applicant']}>")
    accounts.append("info", raw, brussels(2026, 9, 1, 9, 0))
    now = brussels(2026, 9, 1, 9, 2)
    poll(world, now, checker)
    notifier(world).run(now)

    [mail] = inbox(dovecot, world["applicant"])
    assert mail.subject.startswith("Accusé de réception – ")
    text = " ".join(mail.text.split())
    assert "(courriel reçu le mardi 1er septembre 2026 à 09:00)" in text
    assert "Date de création : mars 2015" in text and "2015-03" not in mail.text
    assert (
        "Il manque encore : - Description du projet, question 12 (« Quelles actions "
        "avez-vous déjà mises en place à cet égard ? »)"
    ) in text
    assert "égard\u00a0?\u00a0»" in mail.text  # French spacing, never a line break there
    assert "question 12 (" in mail.html and "cet égard\u00a0?" in mail.html
    assert "avant le lundi 14 septembre 2026 à 10:00, heure de Bruxelles" in text
    assert "à 10:00:00" not in text  # seconds only when a mail came in the deadline's minute
    assert "au plus tard le vendredi 2 octobre 2026" in text  # on time: the result promised
    assert_wrapped(mail.text, "matthias@coopcity.be")
    assert max(len(line) for line in plain_lines(mail.text)) > 60  # wrapped, not chopped short


def test_zipped_annexes_are_listed_one_by_one_with_what_each_was_taken_for(
    world: dict[str, Any], accounts: Accounts, dovecot: DovecotServer, checker: Checker
) -> None:
    """Issue #14, point 1: the acknowledgement names the files found in annexes.zip, each
    with what it was recognised as, never the .zip as « pièce non reconnue » next to
    « Votre dossier est complet »."""
    import email
    import email.policy
    import io
    import zipfile

    from tests.stores import ANNEXES

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in ANNEXES.values():
            archive.writestr(f"Annexes/{name}", data)
        archive.writestr("Annexes/Photo équipe.txt", b"notre equipe")
    raw = dossier_mail(VELO, annexes=(), sender=f"Fatima El Amrani <{world['applicant']}>")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    message.add_attachment(
        buffer.getvalue(), maintype="application", subtype="zip", filename="annexes.zip"
    )
    accounts.append("info", message.as_bytes(), brussels(2026, 9, 3, 9, 0))
    now = brussels(2026, 9, 3, 9, 2)
    poll(world, now, checker)
    report = notifier(world).run(now)
    assert len(report.delivery.sent) == 1

    (mail,) = inbox(dovecot, world["applicant"])
    text = " ".join(mail.text.split())
    assert "Votre dossier est complet" in text
    assert "pièce non reconnue (reçu" not in text  # the .zip itself is not « non reconnue »
    zipped = "annexes.zip : archive .zip (reçu le jeudi 3 septembre 2026 à 09:00), qui contient :"
    assert zipped in text
    for line in (
        "- Statuts.pdf : Vos statuts",
        "- Rapport d'activité 2025.pdf : Votre dernier rapport d’activité",
        "- Bilans 2024-2025.pdf : Les bilans comptables des 2 dernières années",
        "- CV référente.pdf : Le CV de la personne",
        "- Photo équipe.txt : pièce non reconnue",
    ):
        assert line in text, line
    assert "      - Statuts.pdf\u00a0: Vos statuts" in mail.text.splitlines()  # under the .zip
    html = " ".join(mail.html.split())
    assert "↳ Statuts.pdf</td>" in html and "↳ Photo équipe.txt</td>" in html
    assert ">Vos statuts</td>" in html and ">pièce non reconnue</td>" in html
