"""Subcommands of the guichet CLI, one module each."""

from __future__ import annotations

import argparse

POLLED_PROGRAMME_HELP = (
    "identifiant du programme (défaut : GUICHET_PROGRAMME, sinon celui dont l’appel se clôt "
    "en dernier)"
)


def add_programme_option(parser: argparse.ArgumentParser) -> None:
    """``--programme ID`` for commands that act on the programme ``guichet run`` polls."""
    parser.add_argument("--programme", metavar="ID", help=POLLED_PROGRAMME_HELP)
