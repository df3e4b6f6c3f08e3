"""Every command has complete help in French and is described in the README."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from guichet.cli import COMMANDS, build_parser, main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command path, parser) for every parser that runs something, subcommands included."""
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        yield path, parser
        return
    for action in subparsers:
        for name, child in action.choices.items():
            yield from leaves(child, (*path, name))


COMMAND_PARSERS = list(leaves(build_parser()))
IDS = [" ".join(path) for path, _ in COMMAND_PARSERS]


def test_every_module_in_commands_is_registered() -> None:
    folder = Path(__file__).resolve().parent.parent / "guichet" / "commands"
    modules = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    assert modules == set(COMMANDS)
    assert {path[0] for path, _ in COMMAND_PARSERS} == set(COMMANDS)


@pytest.mark.parametrize(("path", "parser"), COMMAND_PARSERS, ids=IDS)
def test_every_command_and_option_has_a_french_help(
    path: tuple[str, ...], parser: argparse.ArgumentParser
) -> None:
    top = build_parser()
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    summary = {c.dest: c.help for c in sub._choices_actions}[path[0]]
    assert summary and len(summary) > 20, f"guichet {path[0]}: no summary in guichet --help"
    assert parser.description and len(parser.description) > 30, f"{path}: no description"
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help and action.help.strip(), f"{path}: {action.dest} has no help"
    text = parser.format_help()
    assert text.startswith("utilisation : ")
    assert "show this help" not in text and "positional arguments" not in text


@pytest.mark.parametrize(("path", "parser"), COMMAND_PARSERS, ids=IDS)
def test_every_command_is_in_the_readme_with_an_example(
    path: tuple[str, ...], parser: argparse.ArgumentParser
) -> None:
    command = "guichet " + " ".join(path)
    examples = re.findall(r"^\s*(?:\.venv/bin/)?(guichet [^\n#]*)", README, re.MULTILINE)
    assert any(e.startswith(command) for e in examples), f"README has no example of « {command} »"


def test_help_exits_zero_and_prints_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert all(re.search(rf"^\s+{name}\b", out, re.MULTILINE) for name in COMMANDS)


def test_a_usage_error_is_one_french_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["decide"])
    assert exit_.value.code == 2
    assert "guichet decide : erreur : arguments obligatoires manquants" in capsys.readouterr().err
