"""`guichet decisions import FICHIER`: read the exported sheet's « Décision » column back."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from guichet.commands import add_programme_option

if TYPE_CHECKING:
    from triage.decisions import ImportReport

WIDTH = 88  # help text, wrapped by hand (the epilog keeps its layout)
HELP = "Gérer les décisions de sélection en lot (import du tableau exporté)."
IMPORT_HELP = "Enregistrer les décisions de la colonne « Décision » d’un tableau exporté."
EXAMPLE = """exemples :
  guichet export --xlsx candidatures.xlsx      # puis remplir la colonne « Décision »
  guichet decisions import candidatures.xlsx --dry-run
  guichet decisions import candidatures.xlsx

Les colonnes sont retrouvées par leur titre (« N° », « Décision », « Structure »),
où qu’elles soient. Une case « Décision » vide est ignorée ; une ligne dont le n° est
inconnu, dont la structure ne correspond plus à ce n° ou dont la décision est illisible
est signalée et ignorée, sans empêcher les autres."""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "decisions",
        help=HELP,
        description=textwrap.fill(HELP, WIDTH),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    importing = actions.add_parser(
        "import",
        help=IMPORT_HELP,
        description=textwrap.fill(
            IMPORT_HELP
            + " Le fichier est le classeur écrit par « guichet export --xlsx » (ou son CSV). "
            "Redonner une décision déjà enregistrée ne change rien : on peut importer le même "
            "fichier plusieurs fois. Stockage : GUICHET_DATA_DIR ou GUICHET_DATABASE_URL.",
            WIDTH,
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    importing.add_argument("file", metavar="FICHIER", type=Path, help="le tableau (.xlsx ou .csv)")
    importing.add_argument(
        "--dry-run",
        action="store_true",
        help="montrer ce qui changerait, sans rien enregistrer",
    )
    add_programme_option(importing)
    importing.set_defaults(func=run_import)


def run_import(args: argparse.Namespace) -> int:
    from ingest.poll import polled_programme
    from triage.decisions import import_decisions
    from triage.store import StoreSettings, open_store

    env = os.environ
    programme = polled_programme(args.programme, env)
    with open_store(StoreSettings.from_env(env)) as store, store.sessions() as session:
        report = import_decisions(session, programme, args.file, dt.datetime.now(dt.UTC))
        if args.dry_run:
            session.rollback()
        else:
            session.commit()
    show(report, args.dry_run)
    return 0


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n <= 1 else many}"


def summary(report: ImportReport, dry_run: bool) -> str:
    changed = (
        _plural(
            len(report.changes), "décision serait enregistrée", "décisions seraient enregistrées"
        )
        if dry_run
        else _plural(len(report.changes), "décision enregistrée", "décisions enregistrées")
    )
    return (
        f"« {report.source} » : {changed}, {_plural(report.unchanged, 'déjà à jour', 'déjà à jour')}, "
        f"{_plural(len(report.skipped), 'ligne ignorée', 'lignes ignorées')}."
    )


def show(report: ImportReport, dry_run: bool) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from notifications.wording import decision_label

    print(summary(report, dry_run))
    if report.changes:
        table = Table("Ligne", "N°", "Structure", "Avant", "Après")
        for change in report.changes:
            table.add_row(
                str(change.row),
                str(change.application_id),
                Text(change.structure),  # applicant text: no rich markup
                decision_label(change.before),
                decision_label(change.after),
            )
        Console(highlight=False).print(table)
    if report.skipped:
        print("Lignes ignorées :")
        for skipped in report.skipped:
            print(f"  • ligne {skipped.row} : {skipped.reason}")
    if dry_run:
        print("Simulation (--dry-run) : rien n’a été enregistré.")
