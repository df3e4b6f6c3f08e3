"""Push for the worker: a mailbox with ``GUICHET_IMAP_<ID>_IDLE=1`` keeps a connection open
in IMAP IDLE (RFC 2177) and asks for a polling cycle as soon as the server announces a mail.

    IdleWatch     one daemon thread per mailbox: connect, IDLE, and on EXISTS or RECENT
                  call ``on_new_mail``; IDLE again every ``RENEW`` (RFC 2177: at most 29
                  minutes); on any error one French line (mailbox id, no address, no
                  secret), a growing pause, a new connection
    PollNudge     what ``on_new_mail`` does: run the poll job now; a request that comes
                  while a cycle runs gets one more cycle after it
    watch_idle    both, for the mailboxes that ask for it, started and stopped with the
                  scheduler

The watch fetches nothing: polling still does all the work and stays the fallback (a
watch that fails only delays mails until the next scheduled cycle). A watch that (re)
connects asks for a cycle too: what arrived before it listened was announced to nobody.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import imaplib
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    EVENT_SCHEDULER_SHUTDOWN,
    EVENT_SCHEDULER_STARTED,
    JobEvent,
)
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import BaseScheduler
from imap_tools.errors import MailboxLoginError, UnexpectedCommandStatusError

from guichet.errors import MailboxError
from ingest.mailbox import ImapSession, MailboxSettings, UnconfiguredMailbox
from ingest.scheduler import POLL_JOB

RENEW = dt.timedelta(minutes=10)  # IDLE again this often: under RFC 2177's 29 minutes
RETRY_FIRST = 5.0  # seconds before the first new connection after an error…
RETRY_MAX = 300.0  # …doubling up to five minutes

log = logging.getLogger("guichet.worker")


def retry_delay(failures: int) -> float:
    """Seconds before connecting again after ``failures`` errors in a row: 5, 10, 20… 300."""
    return min(RETRY_FIRST * 2 ** max(failures - 1, 0), RETRY_MAX)


class IdleSession(Protocol):
    """What a watch needs from a connection (``ImapSession``; a fake in unit tests)."""

    def prepare_idle(self) -> bool: ...
    def wait_for_new_mail(self, seconds: float, stop: threading.Event) -> bool: ...


Connect = Callable[[MailboxSettings], AbstractContextManager[IdleSession]]


class IdleWatch(threading.Thread):
    """One mailbox held in IDLE until ``stop()``; ``on_new_mail`` is called from this thread."""

    def __init__(
        self,
        settings: MailboxSettings,
        on_new_mail: Callable[[], None],
        *,
        connect: Connect = ImapSession,
        renew: dt.timedelta = RENEW,
        retry: Callable[[int], float] = retry_delay,
    ) -> None:
        super().__init__(name=f"idle-{settings.id}", daemon=True)
        self.settings = settings
        self.on_new_mail = on_new_mail
        self.connect = connect
        self.renew = renew
        self.retry = retry
        self.idling = threading.Event()  # set while IDLE runs (tests wait for it)
        self._stopping = threading.Event()
        self._failures = 0  # in a row, without a whole IDLE between them

    def stop(self) -> None:
        """Ask the thread to end: it sends DONE and LOGOUT within about a second."""
        self._stopping.set()

    def run(self) -> None:
        listened = False
        while not self._stopping.is_set():
            try:
                with self.connect(self.settings) as session:
                    if not session.prepare_idle():
                        log.warning(
                            "boîte « %s » : le serveur ne propose pas IDLE ; relevé périodique "
                            "seulement",
                            self.settings.id,
                        )
                        return
                    if self._failures:
                        log.info("boîte « %s » : notification (IDLE) rétablie", self.settings.id)
                    elif not listened:
                        log.info("boîte « %s » : notification (IDLE) active", self.settings.id)
                    listened = True
                    self._listen(session)
            except Exception as e:  # noqa: BLE001 - the watch carries on; polling covers meanwhile
                self.idling.clear()
                if self._stopping.is_set():
                    break  # cut short by the stop: nothing to report
                self._failures += 1
                delay = self.retry(self._failures)
                log.warning(
                    "boîte « %s » : notification (IDLE) interrompue (%s) ; nouvel essai dans %s s",
                    self.settings.id,
                    reason(e),
                    f"{delay:g}".replace(".", ","),
                )
                self._stopping.wait(delay)
        self.idling.clear()

    def _listen(self, session: IdleSession) -> None:
        self.on_new_mail()  # what arrived before we listened was announced to nobody
        self.idling.set()
        while not self._stopping.is_set():
            news = session.wait_for_new_mail(self.renew.total_seconds(), self._stopping)
            self._failures = 0  # a whole IDLE went through: the delays start over
            if news:
                log.debug("boîte « %s » : nouveau courriel annoncé", self.settings.id)
                self.on_new_mail()


def reason(error: BaseException) -> str:
    """Why a watch failed, in French, without the address or server answers in it."""
    cause = error
    if isinstance(error, MailboxError) and error.__cause__ is not None:
        cause = error.__cause__
    if isinstance(cause, MailboxLoginError):
        return "identifiant ou mot de passe refusé"
    if isinstance(cause, ssl.SSLCertVerificationError):
        return "certificat refusé"
    if isinstance(cause, ConnectionRefusedError):
        return "connexion refusée"
    if isinstance(cause, (TimeoutError, socket.timeout)):
        return "pas de réponse du serveur"
    if isinstance(cause, (OSError, EOFError, imaplib.IMAP4.abort)):
        return "connexion coupée"
    if isinstance(cause, (imaplib.IMAP4.error, UnexpectedCommandStatusError, MailboxError)):
        return "commande refusée par le serveur"
    return f"erreur inattendue ({type(cause).__name__})"


class PollNudge:
    """Runs a scheduler's poll job now. The job is wrapped so each cycle marks, as it
    starts, every request made until then as served; a request made during a cycle (the
    mail may have come after the cycle looked) runs one more cycle when it ends."""

    def __init__(self, scheduler: BaseScheduler, job_id: str = POLL_JOB) -> None:
        self.scheduler = scheduler
        self.job_id = job_id
        self._wanted = threading.Event()
        job = scheduler.get_job(job_id)
        if job is None:
            raise ValueError(f"no job {job_id!r} to nudge")
        inner = job.func

        def cycle(*args: Any, **kwargs: Any) -> Any:
            self._wanted.clear()  # this cycle sees whatever has arrived until now
            return inner(*args, **kwargs)

        scheduler.modify_job(job_id, func=cycle)
        scheduler.add_listener(
            self._after_run, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED
        )

    @property
    def pending(self) -> bool:
        """A request that no cycle has served yet."""
        return self._wanted.is_set()

    def __call__(self) -> None:
        self._wanted.set()
        self._run_now()  # refused by the scheduler if a cycle runs: _after_run sees to it

    def _after_run(self, event: JobEvent) -> None:
        if event.job_id == self.job_id and self._wanted.is_set():
            self._run_now()

    def _run_now(self) -> None:
        # The scheduler's own time base (the wall clock), not the worker's clock.
        with contextlib.suppress(JobLookupError):
            self.scheduler.modify_job(self.job_id, next_run_time=dt.datetime.now(dt.UTC))


def watch_idle(
    scheduler: BaseScheduler,
    mailboxes: Sequence[MailboxSettings | UnconfiguredMailbox],
    *,
    connect: Connect = ImapSession,
) -> list[IdleWatch]:
    """A watch per mailbox with ``idle`` set, nudging the scheduler's poll job; they start
    when the scheduler starts and are told to stop when it shuts down (join them after)."""
    wanted = [m for m in mailboxes if isinstance(m, MailboxSettings) and m.idle]
    if not wanted:
        return []
    nudge = PollNudge(scheduler)
    watches = [IdleWatch(m, nudge, connect=connect) for m in wanted]

    def on_scheduler(event: Any) -> None:
        for watch in watches:
            if event.code == EVENT_SCHEDULER_STARTED and watch.ident is None:
                watch.start()
            elif event.code == EVENT_SCHEDULER_SHUTDOWN:
                watch.stop()

    scheduler.add_listener(on_scheduler, EVENT_SCHEDULER_STARTED | EVENT_SCHEDULER_SHUTDOWN)
    return watches
