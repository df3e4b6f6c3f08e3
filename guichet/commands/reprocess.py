"""`guichet reprocess`: check the stored mails again (after a parser fix), mailboxes untouched."""

from __future__ import annotations

import argparse
import datetime as dt
import os

from guichet.commands import add_programme_option

HELP = "Vérifier à nouveau les courriels archivés (après une correction), sans toucher aux boîtes."


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("reprocess", help=HELP, description=HELP)
    parser.add_argument(
        "--errors",
        action="store_true",
        help="seulement les courriels restés en erreur",
    )
    add_programme_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from guichet.commands.poll import STATUS_LABELS, application_totals
    from ingest.poll import polled_programme
    from ingest.processing import reprocess
    from triage.store import StoreSettings, open_store

    env = os.environ
    programme = polled_programme(args.programme, env)
    with open_store(StoreSettings.from_env(env)) as store:
        now = dt.datetime.now(dt.UTC)
        outcomes = reprocess(store.sessions, store.archive, programme, now, only_errors=args.errors)
        totals = application_totals(store, programme.id)
    changed = [o for o in outcomes if o.status and o.status != o.previous_status]
    errors = [o for o in outcomes if o.error]
    print(
        f"{len(outcomes)} courriel(s) vérifié(s) à nouveau : {len(changed)} changement(s) de "
        f"statut, {len(errors)} en erreur."
    )
    for o in changed:
        before = STATUS_LABELS.get(o.previous_status or "", o.previous_status or "—")
        print(
            f"  • {o.subject or '(sans objet)'} : {before} → {STATUS_LABELS.get(o.status, o.status)}"
        )
    for o in errors:
        print(f"  • {o.subject or '(sans objet)'} : ERREUR — {o.error}")
    if totals:
        parts = ", ".join(f"{STATUS_LABELS.get(k, k)} {n}" for k, n in sorted(totals.items()))
        print(f"Candidatures : {sum(totals.values())} ({parts}).")
    return 0
