"""Subcommands of the guichet CLI, one module each."""

from __future__ import annotations

import argparse
import atexit
import gc

POLLED_PROGRAMME_HELP = (
    "identifiant du programme (défaut : GUICHET_PROGRAMME, sinon celui dont l’appel se clôt "
    "en dernier)"
)


def add_programme_option(parser: argparse.ArgumentParser) -> None:
    """``--programme ID`` for commands that act on the programme ``guichet run`` polls."""
    parser.add_argument("--programme", metavar="ID", help=POLLED_PROGRAMME_HELP)


def leave_quickly() -> None:
    """Let the interpreter end without collecting what a command that only reads built:
    nothing of it needs finalising (output is flushed as usual, the reader's child is
    let go by ``parsers.isolation``), and collecting every object imported and read
    would cost ``guichet parse`` more at exit (about 15 ms) than the normalising. Done
    at exit, so that a process that goes on (the tests) collects as usual until then."""
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
