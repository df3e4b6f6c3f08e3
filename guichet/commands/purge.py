"""`guichet purge`: remove a programme's personal data once its retention period is over."""

from __future__ import annotations

import argparse
import datetime as dt
import os

HELP = "Effacer les données personnelles d’un programme après la sélection (durée de conservation)."
DESCRIPTION = (
    "Efface du stockage de guichet les courriels archivés, pièces jointes, champs lus, "
    "candidatures, décisions, courriels envoyés (points quotidiens et exports compris) et "
    "journaux d’un programme. Seule reste, par courriel, une empreinte sans donnée "
    "personnelle : un courriel relevé à nouveau est reconnu et jamais traité deux fois. "
    "La purge est due « retention_days » jours après la date des résultats (fichier du "
    "programme) ; --force la permet plus tôt. Les courriels restent sur le serveur IMAP : "
    "les y effacer revient au titulaire de la boîte."
)
EPILOG = (
    "Exemples :\n"
    "  guichet purge --programme blossom-2026            (montre ce qui serait effacé)\n"
    "  guichet purge --programme blossom-2026 --yes      (efface, si la date est passée)"
)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "purge", help=HELP, description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--programme", metavar="ID", required=True, help="programme à purger")
    parser.add_argument(
        "--yes", action="store_true", help="effacer vraiment (sans cette option : simulation)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="purger avant la fin de la durée de conservation",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from config.programme import load_programme
    from guichet.errors import ConfigError
    from notifications.wording import day
    from triage.retention import delete_files, purge_due_on, purge_programme
    from triage.store import StoreSettings, open_store

    programme = load_programme(args.programme)
    due = purge_due_on(programme)
    today = dt.datetime.now(programme.zone).date()
    if due is not None and today < due and not args.force:
        raise ConfigError(
            f"la durée de conservation de {programme.name} court jusqu’au {day(due)} "
            "(--force pour purger plus tôt)"
        )
    with open_store(StoreSettings.from_env(os.environ)) as store:
        with store.sessions() as session:
            report = purge_programme(session, programme)
            if args.yes:
                session.commit()
            else:
                session.rollback()
        removed = delete_files(store.archive, report.files) if args.yes else 0
        if args.yes and store.engine.dialect.name == "sqlite":
            # Deleted rows leave the file too: rewrite it, then empty the write-ahead log.
            raw = store.engine.raw_connection()
            try:
                raw.driver_connection.execute("VACUUM")
                raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                raw.close()
    what = (
        f"{report.messages} courriel(s), {report.applications} candidature(s), "
        f"{report.outbox} courriel(s) envoyé(s), {report.events} événement(s), "
        f"{len(report.files)} fichier(s) archivé(s)"
    )
    if args.yes:
        print(f"{programme.name} : effacé — {what} ({removed} fichier(s) supprimé(s)).")
    else:
        print(
            f"Simulation pour {programme.name} : seraient effacés {what}. Ajouter --yes pour effacer."
        )
    return 0
