"""`guichet decide STRUCTURE DÉCISION`: record a selection decision on one application."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import textwrap

from guichet.commands import add_programme_option

WIDTH = 88  # help text, wrapped by hand (the epilog keeps its layout)
HELP = "Enregistrer la décision de sélection d’une candidature (retenu, non retenu, attente)."
EXAMPLE = """exemples :
  guichet decide "Vélo Solidaire" retenu
  guichet decide "velo solidaire" non_retenu --note "budget insuffisant"
  guichet decide 12 attente

La structure peut être écrite approximativement (sans accents, sans forme juridique) ou
donnée par son n° (colonne « N° » de « guichet export »). Si plusieurs candidatures
correspondent, rien n’est enregistré et les plus proches sont proposées."""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "decide",
        help=HELP,
        description=textwrap.fill(
            HELP
            + " La dernière décision enregistrée compte ; redonner la décision en cours ne change "
            "rien. Stockage : GUICHET_DATA_DIR ou GUICHET_DATABASE_URL.",
            WIDTH,
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "structure", metavar="STRUCTURE", help="nom de la structure ou n° de la candidature"
    )
    parser.add_argument(
        "decision",
        metavar="DÉCISION",
        help="retenu, non_retenu ou attente (« non retenu », « liste d’attente » acceptés)",
    )
    parser.add_argument("--note", metavar="TEXTE", help="une remarque gardée avec la décision")
    add_programme_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ingest.poll import polled_programme
    from notifications.wording import decision_label, status_label
    from triage.decisions import (
        SOURCE_CLI,
        current_decision,
        display_structure,
        find_application,
        parse_decision,
        record_decision,
    )
    from triage.store import StoreSettings, open_store

    decision = parse_decision(args.decision)
    env = os.environ
    programme = polled_programme(args.programme, env)
    with open_store(StoreSettings.from_env(env)) as store, store.sessions.begin() as session:
        application = find_application(session, programme, args.structure)
        before = current_decision(session, application.id)
        now = dt.datetime.now(dt.UTC)
        changed = record_decision(session, application, decision, SOURCE_CLI, now, args.note)
        name = display_structure(application)
        status = status_label(application.status).lower()
    print(f"Candidature : « {name} » (n° {application.id}, {status}).")
    if not changed:
        print(f"Décision déjà « {decision_label(decision)} » : rien n’a changé.")
    elif before is None:
        print(f"Décision « {decision_label(decision)} » enregistrée.")
    else:
        print(
            f"Décision « {decision_label(decision)} » enregistrée "
            f"(auparavant « {decision_label(before)} »)."
        )
    return 0
