"""`guichet doctor`: checks the configuration for real, one line per check; `--alert`
mails the coordinators when the worker stopped (for a systemd timer or cron)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from guichet.checkup import (
    Check,
    bad,
    check_clock,
    check_data_dir,
    check_libreoffice,
    check_mailbox,
    check_programme,
    check_smtp,
    check_store,
    check_templates,
    good,
    kernel_clock_synchronised,
    mailbox_settings,
    test_mail_context,
)
from guichet.commands import add_programme_option
from guichet.errors import ConfigError

if TYPE_CHECKING:
    from config.programme import Programme
    from ingest.health import AlertSettings
    from triage.store import StoreSettings

HELP = "Vérifier la configuration pour de vrai : une ligne par point, ✓ ou ✗ avec la correction."
TEST_KIND = "essai"
Say = Callable[[str], object]


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "doctor",
        help=HELP,
        description=HELP
        + " Dossier des données, programme, base de données, chaque boîte (DNS, connexion, "
        "TLS, identification, dossier, mots-clés, IDLE), l’envoi (SMTP), les modèles de "
        "courriels, LibreOffice, l’horloge et le fuseau horaire. Code de sortie 0 si tout "
        "va bien, 1 sinon. Avec --alert (pour un minuteur systemd ou cron) : prévient les "
        "coordinateurs par courriel quand aucun relevé n’a réussi depuis "
        "GUICHET_ALERT_WORKER_MINUTES minutes (20) ou qu’une boîte est en erreur depuis "
        "GUICHET_ALERT_MAILBOX_HOURS heures (3), une fois par panne, et quand c’est rétabli.",
        epilog="Exemples : guichet doctor ; guichet doctor --send-test moi@exemple.org ; "
        "guichet doctor --alert",
    )
    add_programme_option(parser)
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--send-test",
        metavar="ADRESSE",
        help="envoyer aussi un vrai courriel d’essai à ADRESSE (par la file d’envoi et SMTP)",
    )
    what.add_argument(
        "--alert",
        action="store_true",
        help="seulement l’état du service : prévenir les coordinateurs s’il est arrêté",
    )
    parser.set_defaults(func=doctor)


def doctor(args: argparse.Namespace) -> int:
    now = dt.datetime.now(dt.UTC)
    if args.alert:
        problems = alert(os.environ, args.programme, now, print)
    else:
        problems = diagnose(os.environ, args.programme, now, send_test=args.send_test, say=print)
    return 1 if problems else 0


def _told(say: Say, checks: list[Check], found: list[Check] | Check) -> None:
    for check in found if isinstance(found, list) else [found]:
        checks.append(check)
        say(check.line())


def diagnose(
    env: Mapping[str, str],
    programme_id: str | None,
    now: dt.datetime,
    *,
    send_test: str | None = None,
    synchronised: Callable[[], bool | None] = kernel_clock_synchronised,
    say: Say = print,
) -> int:
    """Every check, each line said as soon as it is known; the number of ✗."""
    from ingest.health import AlertSettings
    from triage.store import StoreSettings

    checks: list[Check] = []
    _told(say, checks, check_data_dir(env))
    programme_check, programme = check_programme(programme_id, env)
    _told(say, checks, programme_check)
    store = None
    try:
        store_settings = StoreSettings.from_env(env)
    except ConfigError as e:
        _told(say, checks, bad("base de données", e.message))
    else:
        store = check_store(store_settings)
        _told(say, checks, store.check)
    if programme is not None:
        unconfigured, mailboxes = mailbox_settings(programme, env)
        _told(say, checks, unconfigured)
        if not mailboxes:
            _told(
                say,
                checks,
                bad("boîtes", "aucune boîte configurée : guichet run refuse de démarrer"),
            )
        for settings in mailboxes:
            _told(say, checks, check_mailbox(settings))
    smtp = check_smtp(env)
    _told(say, checks, smtp)
    if send_test is not None:
        if programme is None or store is None or not store.current or not all(c.ok for c in smtp):
            _told(
                say, checks, bad("courriel d’essai", "non envoyé : corriger d’abord ce qui précède")
            )
        else:
            _told(say, checks, send_test_mail(store_settings, programme, env, send_test, now))
    if programme is not None:
        _told(say, checks, check_templates(programme, now))
        if store is not None and store.current:
            settings = AlertSettings.from_env(env)
            _told(say, checks, worker_check(store_settings, programme.id, now, settings))
    _told(say, checks, check_libreoffice())
    _told(say, checks, check_clock(programme, now, synchronised))
    problems = sum(1 for c in checks if not c.ok)
    say("Tout est en ordre." if not problems else f"{problems} point(s) à corriger (✗).")
    return problems


def send_test_mail(
    store_settings: StoreSettings,
    programme: Programme,
    env: Mapping[str, str],
    address: str,
    now: dt.datetime,
) -> Check:
    """A real mail to ``address``: recorded in the outbox, then sent like any other."""
    from ingest.health import french_spaced
    from notifications.compose import bare_address, render
    from notifications.delivery import deliver
    from notifications.jobs import smtp_sender
    from notifications.outbox import record
    from triage.models import OutboxMail
    from triage.store import open_store

    what = "courriel d’essai"
    recipient = bare_address(address.strip())
    if recipient is None:
        return bad(
            what, f"adresse invalide : « {address[:100]} »", "une adresse comme moi@exemple.org"
        )
    sender = smtp_sender(env)
    mailbox = programme.sender_mailbox
    if sender is None or mailbox is None:
        return bad(what, "aucun serveur ou aucune boîte d’envoi")
    with open_store(store_settings, migrate=False) as store:
        with store.sessions.begin() as session:
            row = record(
                session,
                store.archive,
                programme,
                key=f"{TEST_KIND}:{programme.id}:{now:%Y%m%dT%H%M%S.%fZ}:{recipient}",
                kind=TEST_KIND,
                recipient=recipient,
                rendered=french_spaced(render(TEST_KIND, test_mail_context(programme, now))),
                now=now,
                copy_to_sent=False,
            )
            assert row is not None  # a new key
            row_id = row.id
        report = deliver(
            store.sessions, store.archive, sender, mailbox.address, now, kinds=(TEST_KIND,)
        )
        with store.sessions() as session:
            stored = session.get(OutboxMail, row_id)
            error = stored.last_error if stored is not None else None
    if row_id in report.sent:
        return good(what, f"remis au serveur pour {recipient} : vérifier qu’il est bien arrivé")
    return bad(
        what, f"non remis : {error or 'serveur indisponible'}", "voir les lignes « envoi (SMTP) »"
    )


def _ago(moment: dt.datetime, now: dt.datetime) -> str:
    minutes = max(int((now - moment).total_seconds() // 60), 0)
    if minutes < 120:
        return f"il y a {minutes} min"
    if minutes < 48 * 60:
        return f"il y a {minutes // 60} h"
    return f"il y a {minutes // (24 * 60)} jours"


def worker_check(
    store_settings: StoreSettings, programme_id: str, now: dt.datetime, settings: AlertSettings
) -> Check:
    """The worker's heartbeat: when its last cycle ran to its end."""
    from ingest.health import CYCLES, heartbeats
    from triage.store import open_store

    what = "service (guichet run)"
    with open_store(store_settings, migrate=False) as store, store.sessions() as session:
        rows = {row.subject: row for row in heartbeats(session, programme_id)}
    cycles = rows.get(CYCLES)
    if cycles is None:
        return good(what, "aucun relevé enregistré pour l’instant (pas encore démarré ?)")
    last = cycles.last_success_at or cycles.last_cycle_at
    shown = f"{last:%d/%m/%Y %H:%M} UTC ({_ago(last, now)})"
    if now - last >= settings.worker_after:
        return bad(
            what,
            f"aucun relevé réussi depuis le {shown}",
            "sudo systemctl status guichet ; journalctl -u guichet -n 50",
        )
    return good(what, f"dernier relevé réussi le {shown}")


def alert(
    env: Mapping[str, str], programme_id: str | None, now: dt.datetime, say: Say = print
) -> int:
    """The worker's state from its heartbeat; alerts (and « rétabli ») mailed to the
    coordinators. The number of problems, an outage that lasts included."""
    from ingest.health import CYCLES, AlertSettings, alert_coordinators
    from notifications.jobs import smtp_sender
    from triage.store import StoreSettings, open_store

    checks: list[Check] = []
    programme_check, programme = check_programme(programme_id, env)
    if programme is None or not programme_check.ok:
        _told(say, checks, programme_check)
        return len(checks)
    store_settings = StoreSettings.from_env(env)
    state = check_store(store_settings)
    if not state.current:
        never = bad("base de données", "pas encore créée : le service n’a jamais démarré",
                    "sudo systemctl start guichet")  # fmt: skip
        _told(say, checks, state.check if not state.check.ok else never)
        return len(checks)
    settings = AlertSettings.from_env(env)
    sender = smtp_sender(env)
    _told(say, checks, worker_check(store_settings, programme.id, now, settings))
    with open_store(store_settings, migrate=False) as store:
        report = alert_coordinators(store, programme, sender, now, settings)
    for outage in report.found:
        if outage.subject == CYCLES:
            continue  # the service's line says it
        what, since = f"boîte « {outage.subject} »", f"{outage.since:%d/%m/%Y %H:%M} UTC"
        if outage.ongoing:
            found = bad(what, f"en erreur depuis le {since} : {outage.reason}", "guichet doctor")
        else:
            found = good(what, f"rétablie (en erreur depuis le {since})")
        _told(say, checks, found)
    if report.found and sender is None:
        nobody = "personne ne peut être prévenu : GUICHET_SMTP_HOST n'est pas défini"
        _told(say, checks, bad("alerte", nobody))
    elif report.recorded:
        line = (
            f"{len(report.recorded)} courriel(s) préparé(s) pour les coordinateurs, "
            f"{len(report.sent)} envoyé(s)"
        )
        if len(report.sent) == len(report.recorded):
            _told(say, checks, good("alerte", line))
        else:
            _told(say, checks, bad("alerte", line + " ; les autres partiront au prochain passage"))
    elif any(o.ongoing for o in report.found):
        say("  (déjà signalé aux coordinateurs : une seule alerte par panne)")
    return sum(1 for c in checks if not c.ok)
