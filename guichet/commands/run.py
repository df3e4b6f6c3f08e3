"""`guichet run`: the worker — polls the programme's mailboxes on a schedule until stopped."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from guichet.commands import add_programme_option
from guichet.errors import ConfigError
from ingest.watchdog import READY, STOPPING, keepalive_every, notify

if TYPE_CHECKING:
    import datetime as dt

    from config.programme import Programme

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
HELP = "Lancer le service : relever les boîtes aux lettres à intervalle régulier jusqu'à l'arrêt."


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "run",
        help=HELP,
        description=HELP
        + " Un relevé au démarrage puis toutes les GUICHET_POLL_MINUTES minutes (défaut 2), "
        "et un relevé final une minute après la clôture. Une ligne de journal par relevé "
        "(sortie d'erreur). Arrêt propre sur SIGTERM ou Ctrl-C : le relevé en cours se "
        "termine. Connexions : GUICHET_IMAP_<BOÎTE>_* ; avec GUICHET_IMAP_<BOÎTE>_IDLE=1, "
        "une connexion gardée ouverte (IMAP IDLE) déclenche un relevé dès qu'un courriel "
        "arrive. Stockage : GUICHET_DATA_DIR (ou --data ; obligatoire, le service systemd "
        "utilise /var/lib/guichet), la base aussi avec GUICHET_DATABASE_URL. Refuse de "
        "démarrer sans boîte configurée ; une boîte injoignable n'empêche pas le démarrage "
        "(la raison est dans la ligne du relevé). Sous systemd : READY=1 au démarrage, "
        "WATCHDOG=1 après chaque relevé. Vérifier d'abord : guichet doctor.",
    )
    add_programme_option(parser)
    parser.add_argument(
        "--data",
        metavar="DOSSIER",
        help="dossier des données (base SQLite et courriels bruts) ; défaut : GUICHET_DATA_DIR",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from apscheduler.events import EVENT_SCHEDULER_STARTED

    from ingest.idle import watch_idle
    from ingest.mailbox import programme_mailboxes
    from ingest.poll import polled_programme
    from ingest.scheduler import (
        FINAL_PASS_JOB,
        HOOKS,
        ScheduleSettings,
        Worker,
        build_scheduler,
        final_pass_at,
    )
    from notifications.jobs import Notifier, smtp_sender
    from notifications.jobs import hooks as mail_hooks
    from triage.store import StoreSettings, open_store

    env = _environment(args)
    settings = ScheduleSettings.from_env(env)  # fails before anything starts
    programme = polled_programme(args.programme, env)
    mailboxes = programme_mailboxes(programme.mailboxes, env)
    _some_mailbox(mailboxes)
    sender = smtp_sender(env)  # a wrong SMTP setting fails here, before anything starts
    log = _logging()
    with open_store(StoreSettings.from_env(env)) as store:
        worker = Worker(store, programme, mailboxes)
        notifier = Notifier(store, programme, env, sender)
        jobs = mail_hooks(notifier, settings.poll_every, worker.clock())
        scheduler = build_scheduler(
            worker, settings, hooks=(*HOOKS, *jobs), keepalive=keepalive_every(env)
        )
        watches = watch_idle(scheduler, mailboxes)  # started and stopped with the scheduler
        stopping: list[str] = []

        def stop(signum: int, _frame: FrameType | None) -> None:
            if stopping:
                return  # already stopping: the running cycle finishes
            stopping.append(signal.Signals(signum).name)
            notify(STOPPING)
            log.info("arrêt demandé (%s) : fin du relevé en cours", stopping[0])
            # Waits for the running job; new runs are refused from here on.
            scheduler.shutdown(wait=True)

        # A signal before the scheduler runs would find nothing to shut down: the stop
        # signals stay blocked until it has started (its "started" event), then the
        # handler runs at once if one came meanwhile.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        previous = {s: signal.signal(s, stop) for s in STOP_SIGNALS}
        scheduler.add_listener(_unblock, EVENT_SCHEDULER_STARTED)
        scheduler.add_listener(_ready, EVENT_SCHEDULER_STARTED)
        try:
            final = final_pass_at(programme)
            log.info(
                "démarrage : programme %s, %d boîte(s), relevé toutes les %s%s%s",
                programme.id,
                len(mailboxes),
                _every(settings.poll_every.total_seconds()),
                f", relevé final le {final:%d/%m/%Y %H:%M}"
                if final is not None and scheduler.get_job(FINAL_PASS_JOB)
                else "",
                ", relevé immédiat sur notification (IDLE) : "
                + ", ".join(w.settings.id for w in watches)
                if watches
                else "",
            )
            if sender is None:
                log.warning(
                    "envoi désactivé (GUICHET_SMTP_HOST non défini) : ni courriel aux "
                    "candidats ni point quotidien"
                )
            for warning in _start_warnings(programme, mailboxes, worker.clock()):
                log.warning(warning)
            scheduler.start()  # blocks until shutdown
        finally:
            _unblock()
            for watch in watches:
                watch.stop()  # already told by the scheduler's shutdown, unless start failed
            for watch in watches:
                watch.join(5)  # each sends DONE and LOGOUT (daemon threads: never a hang)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        log.info("arrêté proprement après %d relevé(s)", worker.cycles)
    return 0


def _environment(args: argparse.Namespace) -> dict[str, str]:
    """The environment, with ``--data``; no data folder named is an error: the worker
    never creates ``./var`` wherever it happens to be started."""
    from triage.store import DATA_DIR_ENV

    env = dict(os.environ)
    if args.data:
        env[DATA_DIR_ENV] = str(Path(args.data).resolve())
    if not (env.get(DATA_DIR_ENV) or "").strip():
        raise ConfigError(
            f"dossier des données non défini : définir {DATA_DIR_ENV} (le service systemd "
            "utilise /var/lib/guichet) ou passer --data DOSSIER"
        )
    return env


def _some_mailbox(mailboxes: Sequence[object]) -> None:
    """At least one mailbox configured, else nothing to do: refused with each reason."""
    from ingest.mailbox import UnconfiguredMailbox

    missing = [m for m in mailboxes if isinstance(m, UnconfiguredMailbox)]
    if len(missing) == len(mailboxes):
        reasons = " ; ".join(m.error for m in missing) or "le programme n'en déclare aucune"
        raise ConfigError(f"aucune boîte configurée ({reasons}) : voir guichet doctor")


def _start_warnings(
    programme: Programme, mailboxes: Sequence[object], now: dt.datetime
) -> list[str]:
    """The fast checks of ``guichet doctor`` at start: a mailbox without settings, a
    server name that does not resolve, a template that does not compile. Warnings only:
    a temporary outage must not keep the worker from starting (the cycles retry)."""
    from guichet.checkup import check_dns, check_templates
    from ingest.health import log_reason
    from ingest.mailbox import MailboxSettings, UnconfiguredMailbox, env_name

    warnings: list[str] = []
    for box in mailboxes:
        if isinstance(box, UnconfiguredMailbox):
            warnings.append(f"boîte « {box.id} » non relevée : {log_reason(box.error)}")
        elif isinstance(box, MailboxSettings):
            dns = check_dns(box.host, box.port, f"boîte « {box.id} »", env_name(box.id, "HOST"))
            if not dns.ok:
                warnings.append(f"{dns.what} : {dns.detail} ; nouvel essai à chaque relevé")
    templates = check_templates(programme, now)
    if not templates.ok:
        warnings.append(f"{templates.what} : {templates.detail}")
    return warnings


def _ready(_event: object = None) -> None:
    notify(READY)


def _unblock(_event: object = None) -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def _every(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)} min"
    return f"{seconds:g} s".replace(".", ",")


def _logging() -> logging.Logger:
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    log = logging.getLogger("guichet")
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if os.environ.get("GUICHET_DEBUG") else logging.INFO)
    log.propagate = False
    # APScheduler's own lines ("Running job…", skipped runs) would double ours, in
    # English: its errors only; skipped and missed runs are logged by ingest.scheduler.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    if not logging.getLogger("apscheduler").handlers:
        logging.getLogger("apscheduler").addHandler(handler)
    return logging.getLogger("guichet.worker")
