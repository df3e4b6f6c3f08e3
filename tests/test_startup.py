"""Start-up of the command line (issue #15): a command imports what it needs, not every
command's modules."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
from guichet import cli
try:
    cli.main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.startswith(("guichet.commands.", "triage.store", "ingest.")))))
"""


def imported(*argv: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_command_imports_its_own_module_only() -> None:
    assert imported("parse", "--help") == ["guichet.commands.parse"]


def test_the_general_help_still_lists_every_command() -> None:
    from guichet.cli import COMMANDS

    modules = imported("--help")
    assert {f"guichet.commands.{name}" for name in COMMANDS} <= set(modules)
