"""`guichet check FILE.eml`: judge one received mail (status, missing pieces, warnings)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from guichet.commands import leave_quickly
from guichet.errors import UnreadableMessage

HELP = "Examiner un e-mail reçu (.eml) : candidature complète, incomplète, hors délai, ou non."


def _instant(text: str) -> dt.datetime:
    """An ISO 8601 instant; without an offset it is read as UTC."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError as e:
        raise argparse.ArgumentTypeError(
            f"date invalide : « {text} » (attendu : ISO 8601, ex. 2026-09-14T08:00:00Z)"
        ) from e
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "check",
        help=HELP,
        description=HELP
        + " Le dossier est reconnu d'après son contenu, les annexes d'après leur nom ou leur "
        "première page.",
    )
    parser.add_argument("file", metavar="FICHIER", type=Path, help="l'e-mail brut (RFC 5322)")
    parser.add_argument(
        "--received",
        metavar="ISO-8601",
        type=_instant,
        help="heure de réception par le serveur (défaut : l'en-tête Received le plus récent, "
        "sinon Date ; sans fuseau : UTC)",
    )
    parser.add_argument(
        "--programme", metavar="ID", help="identifiant du programme (ex. blossom-2026)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="sortie JSON : status, structure, missing, unread, annexes, bilans_years, fields, "
        "warnings, damaged, not_read",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from parsers.isolation import warm_up

    # the reader's child imports the readers and the form filler while this process imports
    warm_up("parsers.word_reader", "parsers.pdf_reader", "parsers.alignment", "parsers.dossier")
    from triage.check import check_message

    try:
        raw = args.file.read_bytes()
    except OSError as e:
        raise UnreadableMessage(f"{args.file} : fichier illisible ({e.strerror}).") from e
    result = check_message(raw, args.received, args.programme)
    if args.json:
        json.dump(result.to_json(), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(summary(result, args.file.name))
    leave_quickly()
    return 0


_STATUS = {
    "complet": "complet",
    "incomplet": "incomplet",
    "hors_delai": "hors délai",
    "non_candidature": "pas une candidature",
    "automatique": "message automatique (ne pas répondre)",
}


def summary(result, name: str) -> str:
    """The verdict as a few lines of French for a coordinator."""
    from notifications.wording import unread_labels

    v = result.verdict
    m = result.message
    zone = result.programme.zone
    lines = [
        f"{name} — {result.programme.name}",
        f"Statut : {_STATUS.get(v.status, v.status)}",
        "De : "
        + (f"{m.sender_name} <{m.sender}>".strip() if m.sender else "(inconnu)")
        + (f" (répondre à {m.reply_to})" if m.reply_to and m.reply_to != m.sender else ""),
        f"Objet : {m.subject}",
    ]
    if result.received:
        lines.append(f"Reçu le : {result.received.astimezone(zone):%d/%m/%Y %H:%M:%S}")
    if v.structure:
        lines.append(f"Structure : {v.structure}")
    if v.dossier:
        lines.append(f"Dossier : {v.dossier.filename} ({v.dossier.format})")
    if v.status not in ("automatique", "non_candidature"):
        lines.append("Manque : " + (", ".join(v.missing) if v.missing else "rien"))
    if v.unread_required and v.dossier is not None:
        found = unread_labels(result.programme, v.unread_required, v.dossier.unread_raw)
        lines.append("À vérifier : " + " ; ".join(found))
    if v.damaged:
        lines.append("Pièces endommagées (à redemander) : " + ", ".join(v.damaged))
    if v.not_read:
        lines.append(f"Non lus (temps de lecture épuisé) : {len(v.not_read)} fichier(s)")
    labels = {a.key: a.label for a in result.programme.annexes}
    for key, files in v.annexes.items():
        if files:
            label = labels.get(key, "Autres pièces")
            lines.append(f"{label} : " + ", ".join(files))
    if v.bilans_years:
        lines.append("Exercices des bilans : " + ", ".join(map(str, v.bilans_years)))
    if v.warnings:
        lines.append("Avertissements :")
        lines.extend(f"  • {w}" for w in v.warnings)
    return "\n".join(lines) + "\n"
