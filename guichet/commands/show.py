"""`guichet show STRUCTURE`: one application, its fields, verdict, files and timeline."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import textwrap

from guichet.commands import add_programme_option

HELP = (
    "Afficher une candidature : champs du formulaire, verdict, pièces, courriels reçus et envoyés."
)
EXAMPLE = """exemples :
  guichet show "Vélo Solidaire"
  guichet show 12

La structure peut être écrite approximativement ou donnée par son n° (« guichet list »).
Chaque consultation est notée dans le journal (données personnelles)."""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "show",
        help=HELP,
        description=textwrap.fill(
            HELP + " Stockage : GUICHET_DATA_DIR ou GUICHET_DATABASE_URL.", 88
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "structure", metavar="STRUCTURE", help="nom de la structure ou n° de la candidature"
    )
    add_programme_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from desk.dossier import application_view
    from ingest.poll import polled_programme
    from notifications.wording import one_line, short_when, status_label
    from triage.decisions import find_application
    from triage.review import note_view
    from triage.store import StoreSettings, open_store

    env = os.environ
    programme = polled_programme(args.programme, env)
    who = f"ligne de commande ({os.environ.get('USER') or 'utilisateur inconnu'})"
    with open_store(StoreSettings.from_env(env)) as store, store.sessions.begin() as session:
        application = find_application(session, programme, args.structure)
        view = application_view(session, programme, application)
        note_view(session, application, who, dt.datetime.now(dt.UTC), "fiche affichée")
    row = view.row

    def when(moment: dt.datetime) -> str:
        return short_when(moment, programme)

    print(f"« {row.structure} » – candidature n° {row.id}")
    status = status_label(row.status)
    if view.computed_status:
        status += (
            f" (donné par {view.override_by} : {view.override_reason} ; "
            f"calculé : {status_label(view.computed_status)})"
        )
    print(f"Statut : {status}" + (" – à vérifier" if row.to_check else ""))
    print(f"Reçue le {when(row.first_received)} ; dernier courriel le {when(row.last_received)}")
    print(f"Adresse de réponse : {view.reply_to or '—'}")
    if row.decision:
        print(f"Décision : {row.decision_label}" + (f" – {row.note}" if row.note else ""))
    if row.missing_labels:
        print("Manque :")
        for label in row.missing_labels:
            print(f"  - {label}")
    for label in view.to_check:
        print(f"À vérifier : {label}")
    for warning in view.warnings:
        print(f"Remarque : {one_line(warning, 200)}")
    for message in view.pending:
        print(
            f"Message à lire (n° {message.message_id}, {when(message.received_at)}, "
            f"{message.sender}) : {message.excerpt} – guichet messages --lu {message.message_id}"
        )
    print("\nChamps du formulaire :")
    for f in view.fields:
        mark = "*" if f.required else " "
        if f.state == "illisible":
            shown = f"[non lu] texte trouvé : « {one_line(f.raw, 80)} »"
        elif f.state == "vide":
            shown = "[vide]"
        else:
            shown = one_line(f.value, 100)
        if f.corrected_by:
            shown += f"  (corrigé par {f.corrected_by} ; lu : « {one_line(f.read, 40)} »)"
        print(f" {mark} {one_line(f.label, 50):<50} {shown}")
    print("\nPièces :")
    for a in view.annexes:
        state = "manquante" if a.missing else ", ".join(a.files) or "—"
        print(f"  {a.label} : {state}")
    print("\nCourriels :")
    for item in view.timeline:
        arrow = {"recu": "←", "envoye": "→", "note": "•"}[item.direction]
        print(f"  {when(item.at)} {arrow} {one_line(item.title, 90)}")
        if item.detail:
            print(f"      {one_line(item.detail, 110)}")
        for file in item.files:
            print(f"      📎 {file.filename} ({file.kind_label})")
    return 0
