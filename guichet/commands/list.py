"""`guichet list`: the applications, filtered and searched, one line each."""

from __future__ import annotations

import argparse
import os
import textwrap

from guichet.commands import add_programme_option

HELP = "Lister les candidatures (filtrer par statut, chercher une structure, une personne…)."
EXAMPLE = """exemples :
  guichet list
  guichet list --status incomplet
  guichet list --search "velo"          (structure, personne, courriel, n° d’entreprise)
  guichet list --a-verifier --decision aucune

Statuts : incomplet, complet, hors_delai, retire. Décisions : retenu, non_retenu, attente,
aucune."""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "list",
        help=HELP,
        description=textwrap.fill(
            HELP + " Une ligne par candidature : n°, statut, structure, ce qui manque, "
            "décision. Stockage : GUICHET_DATA_DIR ou GUICHET_DATABASE_URL.",
            88,
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--status", metavar="STATUT", help="n’afficher que ce statut")
    parser.add_argument("--search", metavar="TEXTE", help="chercher dans la structure, la "
                        "personne de contact, les adresses, le n° d’entreprise")  # fmt: skip
    parser.add_argument(
        "--a-verifier", dest="to_check", action="store_true",
        help="seulement les candidatures « à vérifier »",
    )  # fmt: skip
    parser.add_argument("--missing", metavar="CLÉ", help="à qui il manque cet élément "
                        "(ex. annexe.cv)")  # fmt: skip
    parser.add_argument(
        "--decision", metavar="DÉCISION", help="retenu, non_retenu, attente, aucune"
    )
    parser.add_argument(
        "--sort", choices=("recu", "structure", "statut", "decision"), default="recu",
        help="ordre (défaut : date de réception)",
    )  # fmt: skip
    add_programme_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from desk.dossier import NO_DECISION, STATUSES, Query, counts, list_rows
    from guichet.errors import InputError
    from ingest.poll import polled_programme
    from notifications.wording import one_line, short_when
    from triage.models import DECISIONS
    from triage.store import StoreSettings, open_store

    if args.status and args.status not in STATUSES:
        raise InputError(f"statut inconnu : « {args.status} » (au choix : {', '.join(STATUSES)})")
    if args.decision and args.decision not in (*DECISIONS, NO_DECISION):
        raise InputError(
            f"décision inconnue : « {args.decision} » (au choix : {', '.join(DECISIONS)}, aucune)"
        )
    env = os.environ
    programme = polled_programme(args.programme, env)
    query = Query(
        status=args.status,
        to_check=args.to_check,
        missing=args.missing,
        decision=args.decision,
        search=args.search,
        sort=args.sort,
    )
    with open_store(StoreSettings.from_env(env)) as store, store.sessions.begin() as session:
        rows = list_rows(session, programme, query)
    c = counts(rows)
    print(
        f"{c.total} candidature(s) : {c.complet} complète(s), {c.incomplet} incomplète(s), "
        f"{c.hors_delai} hors délai, {c.retire} retirée(s) ; {c.to_check} à vérifier."
    )
    for r in rows:
        flags = " [à vérifier]" if r.to_check else ""
        flags += " [statut donné]" if r.overridden else ""
        missing = f" – manque : {one_line('; '.join(r.missing_labels), 80)}" if r.missing else ""
        decision = f" – décision : {r.decision_label}" if r.decision else ""
        print(
            f"{r.id:>4}  {r.status_label:<11} {one_line(r.structure, 40):<40} "
            f"reçue le {short_when(r.first_received, programme)}{flags}{missing}{decision}"
        )
    return 0
