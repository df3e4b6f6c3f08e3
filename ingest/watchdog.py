"""Telling systemd how the worker is doing (``sd_notify``), for ``Type=notify`` and
``WatchdogSec=`` in ``deploy/guichet.service``.

systemd passes a unix datagram socket in ``NOTIFY_SOCKET`` (a path, or ``@name`` in the
abstract namespace); each message is a few ``KEY=value`` lines. ``READY=1`` once the
worker has started, ``WATCHDOG=1`` after each cycle that ran to its end (with its line as
``STATUS=``), while a long one advances, and every half ``WatchdogSec`` while the last
one ran to its end (``ingest.scheduler``): without one for ``WatchdogSec``, systemd
kills and restarts the worker.
Without ``NOTIFY_SOCKET`` (not under systemd) nothing is sent. A failed send is never an
error: the worker carries on, systemd will notice by itself.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Mapping

NOTIFY_SOCKET_ENV = "NOTIFY_SOCKET"
WATCHDOG_USEC_ENV = "WATCHDOG_USEC"
WATCHDOG_PID_ENV = "WATCHDOG_PID"
READY = "READY=1"
WATCHDOG = "WATCHDOG=1"
STOPPING = "STOPPING=1"


def notify(state: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (``READY=1``, ``WATCHDOG=1``, ``STATUS=…``) to systemd; whether it
    was sent."""
    address = (os.environ if env is None else env).get(NOTIFY_SOCKET_ENV) or ""
    if not address or address[0] not in "/@":
        return False  # unset, or a vsock address this worker does not speak
    if address[0] == "@":
        address = "\0" + address[1:]  # the abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode("utf-8"))
    except OSError:
        return False
    return True


def status(text: str) -> str:
    """A ``STATUS=`` line (shown by ``systemctl status``), on one line."""
    return "STATUS=" + " ".join(text.split())


def keepalive_every(env: Mapping[str, str] | None = None) -> dt.timedelta | None:
    """Half of systemd's ``WatchdogSec`` (``WATCHDOG_USEC``) when it watches this
    process, else None."""
    env = os.environ if env is None else env
    pid = (env.get(WATCHDOG_PID_ENV) or "").strip()
    if pid and pid != str(os.getpid()):
        return None  # meant for another process
    try:
        usec = int((env.get(WATCHDOG_USEC_ENV) or "0").strip())
    except ValueError:
        return None
    return dt.timedelta(microseconds=usec / 2) if usec > 0 else None
