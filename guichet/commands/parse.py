"""`guichet parse FILE`: read one dossier and print its record."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

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
        "--json", action="store_true", help="sortie JSON : programme, fields, missing, warnings"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from parsers.dossier import parse_dossier

    try:
        data = args.file.read_bytes()
    except OSError as e:
        raise UnreadableDocument(f"{args.file} : fichier illisible ({e.strerror}).") from e
    dossier = parse_dossier(data, args.file.name, args.programme)
    if args.json:
        json.dump(dossier.to_json(), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        print_summary(dossier, args.file.name)
    return 0


def print_summary(dossier, name: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    labels = {f.key: (f.label or f.key) for f in dossier.programme.form.fields()}
    table = Table(title=f"{name} — {dossier.programme.name} ({dossier.format})", show_lines=False)
    table.add_column("Champ", overflow="fold", max_width=40)
    table.add_column("Valeur", overflow="fold")
    for key, value in dossier.fields.items():
        shown = (
            "—" if value is None else ", ".join(value) if isinstance(value, list) else str(value)
        )
        if isinstance(value, bool):
            shown = "oui" if value else "non"
        style = "red" if key in dossier.missing else None
        table.add_row(f"{labels[key]}\n[dim]{key}[/dim]", shown, style=style)
    console.print(table)
    if dossier.missing:
        console.print(
            f"[bold]Manquant ({len(dossier.missing)}) :[/bold] " + ", ".join(dossier.missing)
        )
    else:
        console.print("[bold]Rien ne manque.[/bold]")
    for warning in dossier.warnings:
        console.print(f"• {warning}")
