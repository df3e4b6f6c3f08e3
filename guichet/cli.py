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
from typing import Any, NoReturn

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
    "doctor",
    "login",
    "messages",
    "list",
    "show",
    "users",
    "web",
)


# argparse's own messages, in French. argparse looks its ``_`` up at each call, and ships
# no French catalogue: this table stands in for one (other messages stay in English).
ARGPARSE_FRENCH = {
    "the following arguments are required: %s": "arguments obligatoires manquants : %s",
    "one of the arguments %s is required": "un de ces arguments est obligatoire : %s",
    "unrecognized arguments: %s": "arguments inconnus : %s",
    "invalid choice: %(value)r (choose from %(choices)s)": "choix invalide : %(value)r (au choix : %(choices)s)",
    "expected one argument": "une valeur est attendue",
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
    "not allowed with argument %s": "incompatible avec l’argument %s",
    "invalid %(type)s value: %(value)r": "valeur invalide : %(value)r",
    "ambiguous option: %(option)s could match %(matches)s": "option ambiguë : %(option)s peut être %(matches)s",
}


def _french(text: str) -> str:
    return ARGPARSE_FRENCH.get(text, text)


class FrenchParser(argparse.ArgumentParser):
    """argparse in French: headings, the help option, usage and error lines. Subcommand
    parsers are of the same class (argparse's default for ``add_subparsers``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = "arguments"
        self._optionals.title = "options"
        self.add_argument(
            "-h", "--help", action="help", default=argparse.SUPPRESS,
            help="afficher cette aide et quitter",
        )  # fmt: skip

    def _get_formatter(self) -> argparse.HelpFormatter:
        formatter = super()._get_formatter()
        add_usage = formatter.add_usage

        def french_usage(usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
            add_usage(usage, actions, groups, "utilisation : " if prefix is None else prefix)

        formatter.add_usage = french_usage  # type: ignore[method-assign]
        return formatter

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog} : erreur : {message}\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of the command ``only`` alone (a command's module
    imports what it needs: ``guichet parse`` need not import the store or the mail)."""
    argparse._ = _french  # type: ignore[attr-defined]
    parser = FrenchParser(
        prog="guichet",
        description="Réception et tri des dossiers de candidature envoyés par e-mail.",
        epilog="Aide d’une commande : guichet COMMANDE --help. Guide complet : README.md.",
    )
    parser.add_argument(
        "--version", action="version", version=f"guichet {__version__}",
        help="afficher la version et quitter",
    )  # fmt: skip
    sub = parser.add_subparsers(
        dest="command", metavar="COMMANDE", required=True, title="commandes"
    )
    for name in COMMANDS if only is None else (only,):
        importlib.import_module(f"guichet.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(words[0] if words and words[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GuichetError as e:
        print(f"guichet : {e.message}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("guichet : interrompu", file=sys.stderr)
        return 130
    except Exception as e:
        if os.environ.get("GUICHET_DEBUG"):
            raise
        print(f"guichet : erreur inattendue ({type(e).__name__}: {e})", file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
