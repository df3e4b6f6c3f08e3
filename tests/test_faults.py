"""Faults at scale, the short version of `python -m bench faults` (bench/faults.py): the
worker killed (SIGKILL, by itself through ``ingest.faults``) 10 times over a 40-mail
backlog in Dovecot, once at least in each phase — fetching, checking, filing, recording,
sending (before and after SMTP's acceptance), copying to Sent — then a clean run: no mail
lost, no verdict doubled, no mail sent twice without the flag, nothing else amiss."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.faults import (
    GROUPS,
    ROOT,
    Figures,
    Incoming,
    choose_turn,
    judge,
    plan_kills,
    scenario,
)
from ingest import faults
from tests.conftest import Accounts
from tests.servers import DovecotServer, SmtpRelay


def test_a_fault_names_a_step_and_a_turn() -> None:
    assert faults.parse(None) is None and faults.parse(" ") is None
    assert faults.parse("sending.sent:3") == ("sending.sent", 3)
    for wrong in ("sending:1", "filing", "filing:0", "filing:x"):
        with pytest.raises(ValueError):
            faults.parse(wrong)


def test_a_checkpoint_kills_the_process_at_its_turn_only() -> None:
    script = (
        "from ingest import faults\n"
        "for n in range(1, 4):\n"
        "    faults.checkpoint('copying'); faults.checkpoint('filing'); print(n, flush=True)\n"
    )

    def run(fault: str | None) -> subprocess.CompletedProcess[str]:
        env = {"PYTHONPATH": str(ROOT), **({faults.ENV: fault} if fault else {})}
        return subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
        )

    assert run(None).stdout.split() == ["1", "2", "3"]
    killed = run("filing:2")
    assert killed.returncode == -9 and killed.stdout.split() == ["1"]


def test_kills_cover_every_step_in_the_order_the_worker_meets_them() -> None:
    plan = plan_kills(10, random.Random(1))
    assert len(plan) == 10 and set(plan) == set(faults.STEPS)
    group_of = {step: i for i, group in enumerate(GROUPS) for step in group}
    assert [group_of[s] for s in plan] == sorted(group_of[s] for s in plan)
    rng = random.Random(2)
    assert all(1 <= choose_turn(left, k, rng) <= left for left in (1, 5, 40) for k in (1, 3, 9))


def test_a_mail_accepted_twice_is_a_silent_double_unless_flagged() -> None:
    row = SimpleNamespace
    store = {
        "messages": [row(id=1, rfc_message_id="<a@x>", state="traite")],
        "verdicts": [1],
        "copies": [True],
        "applications": [7],
        "outbox": [
            row(id=1, application_id=7, kind="accuse", state="envoye", rfc_message_id="<m1@c>",
                uncertain=True, mailbox_id="info"),
            row(id=2, application_id=7, kind="complement", state="envoye",
                rfc_message_id="<m2@c>", uncertain=False, mailbox_id="info"),
        ],
    }  # fmt: skip
    mails = [Incoming("<a@x>", b"", ("info",), None, "dossier"), Incoming("<b@x>", b"", ("info",),
             None, "question")]  # fmt: skip
    figures = judge(Figures(mails=2, copies=1), mails, store, Counter({"m1@c": 2, "m2@c": 2}),
                    Counter({"m1@c": 1, "m2@c": 1}))  # fmt: skip
    assert figures.lost == 1  # <b@x> never stored
    assert (figures.sent_twice, figures.flagged_doubles, figures.silent_doubles) == (2, 1, 1)
    assert not figures.ok


@pytest.mark.slow
def test_ten_kills_over_forty_mails_lose_nothing_and_repeat_nothing(
    dovecot: DovecotServer, smtp_relay: SmtpRelay, accounts: Accounts, tmp_path: Path
) -> None:
    f = scenario(dovecot, smtp_relay, accounts.users, tmp_path, mails=40, kills=10, seed=11)
    report = "\n".join(f"{k} = {v}" for k, v in vars(f).items() if k != "restarts")
    assert sum(f.kills.values()) == 10 and set(f.kills) == set(faults.STEPS), report
    assert f.lost == 0 and f.stored_twice == 0 and f.in_error == 0, report
    assert f.verdicts_doubled == 0, report
    assert f.silent_doubles == 0 and f.unknown_sent == 0, report
    assert f.flagged_doubles == f.sent_twice <= f.flagged, report  # every double is flagged
    assert f.applications > 0 and f.unanswered == 0 and f.not_sent == 0, report
    assert f.sent_copies_missing == f.sent_copies_doubled == 0, report
    assert f.copies_unmarked == 0, report
    assert f.differing == 0, report  # the same verdicts as a run never killed
    assert f.ok and len(f.restarts) == 10, report
