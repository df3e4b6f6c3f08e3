"""`guichet export`: the coordinators' spreadsheet, one row per application (XLSX, CSV)."""

from __future__ import annotations

import argparse
import os
import textwrap
from pathlib import Path

from guichet.commands import add_programme_option

WIDTH = 88  # help text, wrapped by hand (the epilog keeps its layout)
HELP = "Exporter les candidatures dans un tableur (XLSX et/ou CSV), une ligne par candidature."
EXAMPLE = """exemples :
  guichet export --xlsx candidatures.xlsx
  guichet export --xlsx candidatures.xlsx --csv candidatures.csv --programme blossom-2026

Remplissez la colonne « Décision » du classeur puis relisez-le avec
« guichet decisions import candidatures.xlsx »."""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export",
        help=HELP,
        description=textwrap.fill(
            HELP + " Colonnes : n° de la candidature, structure, statut, pièces manquantes, "
            "avertissements, dates d’envoi, puis chaque champ du formulaire dans son ordre, les "
            "annexes reçues et la décision. Les fichiers contiennent des données personnelles : "
            "ils sont créés lisibles par vous seul (0600). Stockage : GUICHET_DATA_DIR ou "
            "GUICHET_DATABASE_URL.",
            WIDTH,
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--xlsx", metavar="FICHIER", type=Path, help="classeur Excel à écrire (.xlsx)"
    )
    parser.add_argument(
        "--csv",
        metavar="FICHIER",
        type=Path,
        help="fichier CSV à écrire (UTF-8, séparateur « ; », pour Excel en français)",
    )
    add_programme_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from guichet.errors import InputError
    from ingest.poll import polled_programme
    from triage.export import export_table, write_csv, write_xlsx
    from triage.store import StoreSettings, open_store

    targets = [
        (path, write) for path, write in ((args.xlsx, write_xlsx), (args.csv, write_csv)) if path
    ]
    if not targets:
        raise InputError("précisez le fichier à écrire : --xlsx FICHIER et/ou --csv FICHIER")
    env = os.environ
    programme = polled_programme(args.programme, env)
    with open_store(StoreSettings.from_env(env)) as store, store.sessions() as session:
        table = export_table(session, programme)
    for path, write in targets:
        try:
            write(table, path)
        except OSError as e:
            raise InputError(f"{path} : écriture impossible ({e.strerror})") from e
    n = len(table.rows)
    rows = f"{n} candidature exportée" if n <= 1 else f"{n} candidatures exportées"
    where = " et ".join(f"« {path} »" for path, _ in targets)
    print(f"{programme.name} : {rows} dans {where}.")
    return 0
