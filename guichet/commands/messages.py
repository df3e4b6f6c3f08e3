"""`guichet messages [--lu N°]`: the applicants' messages to read, and marking one dealt with."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import textwrap

from guichet.commands import add_programme_option

WIDTH = 88
HELP = (
    "Lister les messages de candidat·es à lire (réponses sans pièce jointe), ou en marquer "
    "un traité."
)
EXAMPLE = """exemples :
  guichet messages
  guichet messages --lu 42
  guichet messages --lu 42 --par "Matthias"

Un message est une réponse d’un·e candidat·e qui n’apporte aucune pièce (« le numéro
d’entreprise est faux… ») : il ne modifie pas la candidature et attend qu’une personne le
lise. Il figure dans le point quotidien jusqu’à ce qu’il soit marqué traité."""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "messages",
        help=HELP,
        description=textwrap.fill(
            HELP + " Stockage : GUICHET_DATA_DIR ou GUICHET_DATABASE_URL.", WIDTH
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--lu", metavar="N°", type=int, help="marquer ce message comme traité (son n° affiché)"
    )
    parser.add_argument("--par", metavar="NOM", help="qui l’a traité (gardé avec la marque)")
    add_programme_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ingest.poll import polled_programme
    from notifications.wording import short_when
    from triage.messages import mark_read, pending_messages
    from triage.store import StoreSettings, open_store

    env = os.environ
    programme = polled_programme(args.programme, env)
    with open_store(StoreSettings.from_env(env)) as store, store.sessions.begin() as session:
        if args.lu is not None:
            marked = mark_read(session, programme.id, args.lu, dt.datetime.now(dt.UTC), args.par)
            print(
                f"Message n° {args.lu} marqué traité."
                if marked
                else f"Message n° {args.lu} déjà marqué traité : rien n’a changé."
            )
            return 0
        pending = pending_messages(session, programme.id)
    if not pending:
        print("Aucun message à lire.")
        return 0
    print(f"{len(pending)} message(s) à lire :")
    for m in pending:
        print(f"\nN° {m.message_id} – {m.structure} – {m.sender}, reçu le "
              f"{short_when(m.received_at, programme)}")  # fmt: skip
        print(textwrap.indent(m.text or m.excerpt, "  "))
    return 0
