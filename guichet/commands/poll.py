"""`guichet poll --once`: one polling cycle over the programme's mailboxes, told in French."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
from collections import Counter
from typing import TYPE_CHECKING, TextIO

from guichet.commands import add_programme_option
from guichet.errors import MailboxError

if TYPE_CHECKING:
    from rich.console import Console

    from ingest.poll import CycleReport
    from triage.store import Store

HELP = "Relever les boîtes aux lettres du programme une fois : archiver, vérifier, classer."

STATUS_LABELS = {
    "complet": "complet",
    "incomplet": "incomplet",
    "hors_delai": "hors délai",
    "non_candidature": "non candidature",
    "automatique": "automatique",
}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "poll",
        help=HELP,
        description=HELP
        + " Chaque courriel est archivé avant tout traitement ; les courriels traités reçoivent "
        "le mot-clé IMAP « guichet-traite ». Connexions : variables GUICHET_IMAP_<BOÎTE>_* ; "
        "stockage : GUICHET_DATA_DIR ou GUICHET_DATABASE_URL.",
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="un seul relevé puis quitter (le service continu est « guichet run »)",
    )
    add_programme_option(parser)
    parser.set_defaults(func=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    from ingest.mailbox import programme_mailboxes
    from ingest.poll import polled_programme, run_cycle
    from triage.store import StoreSettings, open_store

    if not args.once:
        args.parser.error("précisez --once (le relevé continu est « guichet run »)")
    env = os.environ
    programme = polled_programme(args.programme, env)
    mailboxes = programme_mailboxes(programme.mailboxes, env)
    with open_store(StoreSettings.from_env(env)) as store:
        now = dt.datetime.now(dt.UTC)
        with contextlib.closing(BacklogBar.on(sys.stdout)) as bar:
            report = run_cycle(store, programme, mailboxes, now, progress=bar)
        totals = application_totals(store, programme.id)
    for line in describe(report, totals):
        print(line)
    if report.failed:
        names = ", ".join(f"« {m.id} »" for m in report.failed)
        raise MailboxError(f"relevé incomplet : boîte(s) en erreur {names}")
    return 0


BACKLOG = 20  # a bar for a step of more mails than this


class BacklogBar:
    """A rich progress bar per step of the cycle (a mailbox's download, the checks) when it
    has more than ``BACKLOG`` mails; nothing at all unless the output is a terminal."""

    def __init__(self, console: Console | None) -> None:
        self._progress = None
        self._task = None
        if console is not None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,  # the summary lines follow on a clean screen
            )

    @classmethod
    def on(cls, stream: TextIO) -> BacklogBar:
        if not stream.isatty():
            return cls(None)
        from rich.console import Console

        return cls(Console(file=stream))

    def start(self, what: str, total: int) -> None:
        self.done()
        if self._progress is not None and total > BACKLOG:
            self._progress.start()
            self._task = self._progress.add_task(what[:1].upper() + what[1:], total=total)

    def advance(self) -> None:
        if self._task is not None:
            self._progress.advance(self._task)

    def done(self) -> None:
        if self._task is not None:
            self._progress.remove_task(self._task)
            self._task = None

    def close(self) -> None:
        self.done()
        if self._progress is not None:
            self._progress.stop()


def application_totals(store: Store, programme_id: str) -> Counter[str]:
    from sqlalchemy import func, select

    from triage.models import Application

    with store.sessions() as session:
        rows = session.execute(
            select(Application.status, func.count())
            .where(Application.programme_id == programme_id)
            .group_by(Application.status)
        ).all()
    return Counter({status: n for status, n in rows})


def _new_mails(n: int) -> str:
    return f"{n} nouveau courriel" if n <= 1 else f"{n} nouveaux courriels"


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{STATUS_LABELS.get(k, k)} {n}" for k, n in sorted(counter.items()))


def describe(report: CycleReport, totals: Counter[str]) -> list[str]:
    """The cycle in a few French lines."""
    lines = []
    for box in report.mailboxes:
        head = f"Boîte « {box.id} »" + (f" ({box.address})" if box.address else "")
        if box.error:  # the message names the mailbox already
            lines.append(f"ERREUR — {box.error[:1].upper()}{box.error[1:]}")
        elif box.skipped_until:
            lines.append(
                f"{head} : en attente après des erreurs (prochain essai {box.skipped_until:%H:%M} UTC)"
            )
        else:
            parts = [_new_mails(box.new)]
            if box.duplicates:
                parts.append(f"{box.duplicates} déjà reçu(s) dans une autre boîte")
            if box.uidvalidity_changed:
                parts.append("dossier relu en entier (UIDVALIDITY changée)")
            lines.append(f"{head} : " + ", ".join(parts) + ".")
    checked = [c for c in report.checked if c.status]
    errors = [c for c in report.checked if c.error]
    if report.checked:
        line = f"Vérifiés : {len(checked)}"
        if checked:
            line += " (" + _counts(Counter(c.status for c in checked)) + ")"
        if errors:
            line += f" ; en erreur : {len(errors)} (voir « guichet reprocess »)"
        lines.append(line + ".")
    else:
        lines.append("Aucun courriel à vérifier.")
    total = sum(totals.values())
    if total:
        lines.append(f"Candidatures : {total} ({_counts(totals)}).")
    return lines
