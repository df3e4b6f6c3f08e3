"""`guichet parse FILE`: read one dossier and print its record."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import textwrap
from pathlib import Path

from guichet.commands import leave_quickly
from guichet.errors import UnreadableDocument

HELP = "Lire un dossier de candidature (.docx, .pdf ; .doc/.odt via LibreOffice) et afficher ses champs."


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "parse",
        help=HELP,
        description=HELP + " Le programme est reconnu d'après le contenu, sauf --programme.",
    )
    parser.add_argument("file", metavar="FICHIER", type=Path, help="le dossier à lire")
    parser.add_argument(
        "--programme", metavar="ID", help="identifiant du programme (ex. blossom-2026)"
    )
    parser.add_argument(
        "--json", action="store_true", help="sortie JSON : programme, fields, missing, unread, warnings"
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="pour chaque champ : valeur, état (rempli, vide, à vérifier), texte brut, où il a été "
        "trouvé et par quel lecteur (avec --json : clé « explain »)",
    )
    parser.set_defaults(func=run)


STATES = {"filled": "rempli", "blank": "vide", "unread": "à vérifier"}
READERS = {"alignment": "alignement", "labels": "rubriques"}


def run(args: argparse.Namespace) -> int:
    from parsers.isolation import warm_up

    # the reader's child starts and imports the reader and the form filler (it reads the
    # file and fills the form) while this process imports the rest
    reader = "parsers.pdf_reader" if args.file.suffix.lower() == ".pdf" else "parsers.word_reader"
    warm_up(reader, "parsers.alignment", "parsers.dossier")
    from parsers.dossier import parse_dossier

    try:
        data = args.file.read_bytes()
    except OSError as e:
        raise UnreadableDocument(f"{args.file} : fichier illisible ({e.strerror}).") from e
    dossier = parse_dossier(data, args.file.name, args.programme)
    if args.json:
        record = dossier.to_json()
        if args.explain:
            record["explain"] = explanation(dossier)
        json.dump(record, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    elif args.explain:
        print_explanation(dossier, args.file.name)
    else:
        print_summary(dossier, args.file.name)
    leave_quickly()
    return 0


def explanation(dossier) -> dict[str, dict]:
    """Per field: value, state, raw text, where and by which reader it was read."""
    return {
        key: {
            "value": dossier.fields[key],
            "state": reading.state,
            "raw": reading.raw,
            "where": reading.location,
            "how": reading.where,
            "reader": reading.reader,
        }
        for key, reading in dossier.readings.items()
    }


def print_explanation(dossier, name: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    form = dossier.programme.form
    table = Table(title=f"{name} — {dossier.programme.name} ({dossier.format}) : lecture détaillée", show_lines=True)
    for column, width in (("Champ", 30), ("Valeur", 30), ("État", 10), ("Texte trouvé", 40), ("Où", 24)):
        table.add_column(column, overflow="fold", max_width=width)
    styles = {"blank": "red", "unread": "yellow"}
    for key, reading in dossier.readings.items():
        spec = form.field(key)
        value = dossier.fields[key]
        raw = "(rubrique introuvable)" if reading.raw is None else reading.raw or "(rien)"
        where = ", ".join(filter(None, [reading.location, READERS.get(reading.reader, reading.reader)]))
        table.add_row(f"{spec.title or spec.label or key}\n[dim]{key}[/dim]", shown(value), STATES[reading.state], raw, where,
                      style=styles.get(reading.state))
    console.print(table)


def print_summary(dossier, name: str) -> None:
    """Each field's label and key, then its value indented below (wrapped to the terminal);
    plain text, which prints at once where a table would cost more than the reading."""
    width = max(40, min(shutil.get_terminal_size().columns, 100))
    out = [f"{name} — {dossier.programme.name} ({dossier.format})", ""]
    labels = {f.key: f.label for f in dossier.programme.form.fields()}
    for key, value in dossier.fields.items():
        out.extend(textwrap.wrap(f"{labels[key]} · {key}" if labels[key] else key, width, break_on_hyphens=False))
        missing = " (manquant)" if key in dossier.missing else ""
        for line in shown(value).splitlines() or [""]:
            out.extend(textwrap.wrap(line + missing, width, initial_indent="    ",
                                     subsequent_indent="    ") or ["    "])
            missing = ""
    out.append("")
    if dossier.missing:
        out.append(f"Manquant ({len(dossier.missing)}) : " + ", ".join(dossier.missing))
    else:
        out.append("Rien ne manque.")
    out.extend(f"• {warning}" for warning in dossier.warnings)
    print("\n".join(out))


def shown(value) -> str:
    """A field's value as a person reads it."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):
        return ", ".join(value)
    return str(value)
