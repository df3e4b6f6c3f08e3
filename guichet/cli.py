"""The `guichet` command: a thin composition root.

Each subcommand lives in ``guichet/commands/<name>.py`` and exposes
``register(subparsers)``, which adds its parser with a help text and sets
``func(args) -> int``. Errors of the ``GuichetError`` tree become one French line on
stderr and the error's exit code; nothing else is caught here on purpose, except
that an unexpected exception still ends in one line (and exit 70), never a traceback,
unless GUICHET_DEBUG is set.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from guichet import __version__
from guichet.errors import GuichetError

COMMANDS = (
    "parse",
    "check",
    "poll",
    "reprocess",
    "run",
    "digest",
    "export",
    "decide",
    "decisions",
    "results",
    "purge",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="guichet",
        description="Réception et tri des dossiers de candidature envoyés par e-mail.",
    )
    parser.add_argument("--version", action="version", version=f"guichet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMANDE", required=True)
    for name in COMMANDS:
        importlib.import_module(f"guichet.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GuichetError as e:
        print(f"guichet : {e.message}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("guichet : interrompu", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the last line of defence of a CLI
        if os.environ.get("GUICHET_DEBUG"):
            raise
        print(f"guichet : erreur inattendue ({type(e).__name__}: {e})", file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
