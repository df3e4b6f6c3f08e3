"""Fault injection for the crash benchmark (``bench/faults.py``, ``tests/test_faults.py``).

``checkpoint(step)`` is called once at each step where a crash matters; it does nothing
unless ``GUICHET_FAULTS`` is set. With ``GUICHET_FAULTS=<step>:<n>`` the process kills
itself (SIGKILL: no cleanup, no rollback, no ``finally``) the ``n``-th time it reaches
``checkpoint(<step>)``. The steps, and where a kill there leaves things:

    fetching         a mail archived, not recorded yet          ingest/poll.py
    checking         a mail claimed and checked, not filed       ingest/processing.py
    filing           the filing transaction open, not committed  ingest/processing.py
    recording        the outbox transaction open, not committed  notifications/outbox.py
    sending.claimed  an outgoing mail claimed, not given to SMTP notifications/delivery.py
    sending.sent     accepted by SMTP, not marked sent           notifications/delivery.py
    copying          appended to Sent, not marked copied          notifications/sent_folder.py
"""

from __future__ import annotations

import os
import signal

ENV = "GUICHET_FAULTS"
STEPS = (
    "fetching",
    "checking",
    "filing",
    "recording",
    "sending.claimed",
    "sending.sent",
    "copying",
)

_plan: tuple[str, int] | None = None
_read = False
_reached = 0


def parse(value: str | None) -> tuple[str, int] | None:
    """``"filing:3"`` → ``("filing", 3)``; None when unset or empty."""
    if not value or not value.strip():
        return None
    step, _, count = value.strip().rpartition(":")
    if step not in STEPS or not count.isdigit() or int(count) < 1:
        raise ValueError(f"{ENV}={value!r}: expected <step>:<n>, steps {', '.join(STEPS)}")
    return step, int(count)


def checkpoint(step: str) -> None:
    """Kill this process here if ``GUICHET_FAULTS`` names ``step`` and its turn has come."""
    global _plan, _read, _reached
    if not _read:
        _plan, _read = parse(os.environ.get(ENV)), True
    if _plan is None or _plan[0] != step:
        return
    _reached += 1
    if _reached >= _plan[1]:
        os.kill(os.getpid(), signal.SIGKILL)
