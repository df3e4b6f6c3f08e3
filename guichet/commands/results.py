"""`guichet results send [--dry-run]`: the result mails, once per decided application."""

from __future__ import annotations

import argparse
import datetime as dt
import os

from guichet.commands import add_programme_option

HELP = "Envoyer les résultats (retenu, non retenu, liste d’attente) aux candidats décidés."
DESCRIPTION = (
    "Prépare puis envoie, une seule fois par candidature, le courriel de résultat selon la "
    "dernière décision enregistrée (« guichet decide » ou « guichet decisions import »). "
    "Une candidature sans décision ne reçoit rien ; relancer la commande n’envoie que ce qui "
    "manque. Le serveur d’envoi vient de GUICHET_SMTP_* (voir le README)."
)
EPILOG = "Exemple : guichet results send --dry-run   (montre ce qui partirait, sans rien envoyer)"

STATE_LABELS = {
    "a_envoyer": "à envoyer",
    "deja_envoye": "déjà envoyé",
    "sans_decision": "sans décision",
    "sans_adresse": "sans adresse de réponse",
}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "results", help=HELP, description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    send = actions.add_parser(
        "send", help="envoyer les courriels de résultat", description=DESCRIPTION, epilog=EPILOG
    )
    send.add_argument(
        "--dry-run",
        action="store_true",
        help="montrer ce qui partirait (destinataire, décision) sans rien enregistrer ni envoyer",
    )
    add_programme_option(send)
    send.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from guichet.errors import ConfigError
    from ingest.poll import polled_programme
    from notifications.jobs import Notifier, smtp_sender
    from notifications.language import NAMES
    from notifications.plan import RESULTAT
    from notifications.results import record_results, results_plan
    from notifications.wording import decision_label
    from triage.store import StoreSettings, open_store

    env = os.environ
    programme = polled_programme(args.programme, env)
    console = Console(highlight=False)
    with open_store(StoreSettings.from_env(env)) as store:
        with store.sessions() as session:
            plan = results_plan(session, programme)
        table = Table("Structure", "Décision", "Destinataire", "Langue", "État", title="Résultats")
        for line in plan:
            table.add_row(
                line.structure[:80], decision_label(line.decision), line.recipient or "—",
                NAMES.get(line.language or "", "—"), STATE_LABELS[line.state],
            )  # fmt: skip
        console.print(table)
        ready = [line for line in plan if line.state == "a_envoyer"]
        undecided = [line for line in plan if line.state == "sans_decision"]
        if undecided:
            console.print(
                f"{len(undecided)} candidature(s) sans décision : rien ne leur est envoyé."
            )
        if args.dry_run:
            console.print(f"Simulation : {len(ready)} courriel(s) de résultat partirai(en)t.")
            return 0
        sender = smtp_sender(env)
        if sender is None:
            raise ConfigError("GUICHET_SMTP_HOST n'est pas défini : aucun résultat ne peut partir")
        now = dt.datetime.now(dt.UTC)
        with store.sessions.begin() as session:
            recorded = record_results(session, store.archive, programme, now)
        delivery, _ = Notifier(store, programme, env, sender).flush(now, kinds=(RESULTAT,))
    console.print(
        f"{len(recorded)} résultat(s) préparé(s), {len(delivery.sent)} envoyé(s)"
        + (
            f", {len(delivery.postponed)} reporté(s) (serveur indisponible)"
            if delivery.postponed
            else ""
        )
        + (f", {len(delivery.abandoned)} refusé(s)" if delivery.abandoned else "")
        + "."
    )
    return 0 if not (delivery.postponed or delivery.abandoned) else 11
