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


LOADED = """
import json, sys
from guichet import cli
try:
    cli.main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def top_level_modules(*argv: str, env: dict[str, str]) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", LOADED, *argv], capture_output=True, text=True, check=True, env=env
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_parse_and_check_load_neither_the_validator_nor_the_store(tmp_path) -> None:
    """Issue #15: with the programmes in the cache, `guichet parse` and `guichet check`
    import neither pydantic (the programme is read back as plain dataclasses) nor
    SQLAlchemy (the wording of statuses comes from triage.states), nor rich."""
    import os

    from tests.samples import SAMPLES

    env = {**os.environ, "GUICHET_CACHE_DIR": str(tmp_path / "cache")}
    docx = str(SAMPLES / "dossiers" / "p001.docx")
    first = top_level_modules("parse", docx, env=env)  # an empty cache: the files are validated
    assert len(list((tmp_path / "cache" / "programmes").glob("*.pickle"))) == 2
    assert {"sqlalchemy", "rich"}.isdisjoint(first)
    assert {"pydantic", "sqlalchemy", "rich"}.isdisjoint(top_level_modules("parse", docx, env=env))
    check = top_level_modules("check", str(SAMPLES / "emails" / "pe001.eml"), env=env)
    assert {"pydantic", "sqlalchemy", "rich"}.isdisjoint(check)
    assert "email_validator" in check  # the dossier was read and normalised


def test_a_reading_command_skips_the_collection_only_at_exit() -> None:
    """`guichet parse` leaves the final collection out (gc.freeze at exit), but a process
    that goes on after it, like this one, still collects everything until it ends."""
    import gc

    from guichet import cli
    from tests.samples import SAMPLES

    frozen = gc.get_freeze_count()
    assert cli.main(["parse", str(SAMPLES / "dossiers" / "p001.docx"), "--json"]) == 0
    assert gc.get_freeze_count() == frozen
    probe = (
        "import atexit, gc, sys\nfrom guichet import cli\n"
        "atexit.register(lambda: print('frozen at exit', gc.get_freeze_count() > 0))  # runs last\n"
        "cli.main(['parse', sys.argv[1], '--json'])\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, str(SAMPLES / "dossiers" / "p001.docx")],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("frozen at exit True")
