"""What the coordinators' digest shows, as plain values (no session, no template).

``gather`` fills these from the store; ``render`` turns them into a mail. Applicant text
is kept as written: the templates cut it to one line and escape it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from babel.dates import format_date

from notifications.people import Referent
from notifications.plan import (
    ACCUSE,
    COMPLEMENT,
    HORS_DELAI,
    MESSAGE_RECU,
    RAPPEL,
    RELANCE,
    RESULTAT,
)
from notifications.wording import LOCALE, day, decision_label, status_label
from triage.messages import PendingMessage

STRUCTURE_WIDTH = 80  # structure names, addresses: one line of at most this many characters
MAIL_KINDS = {  # OutboxMail.kind, for people
    ACCUSE: "accusé de réception",
    COMPLEMENT: "accusé de réception d’un complément",
    HORS_DELAI: "réponse hors délai",
    RELANCE: "relance",
    RAPPEL: "rappel",
    RESULTAT: "résultat",
    MESSAGE_RECU: "accusé de réception d’un message",
}
_NUMBERS = ("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix")


def period(start: dt.date, end: dt.date) -> str:
    """« du lundi 14 au vendredi 18 septembre 2026 »."""
    if (start.year, start.month) == (end.year, end.month):
        return f"du {format_date(start, 'EEEE d', locale=LOCALE)} au {day(end)}"
    return f"du {day(start)} au {day(end)}"


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """« 0 candidature », « 1 candidature », « 2 candidatures » (French: 0 and 1 agree)."""
    return f"{n}\u00a0{singular if n <= 1 else plural_form or singular + 's'}"


@dataclass(frozen=True)
class Counts:
    complet: int = 0
    incomplet: int = 0
    hors_delai: int = 0
    total: int = 0  # applications, whatever their status
    # applications « à vérifier »: a required answer written but not read, a damaged file,
    # files left unread (triage.verdict.flagged)
    to_check: int = 0
    automatique: int = 0  # mails: automatic replies (absences, bounces)
    non_candidature: int = 0  # mails: not applications (questions…)
    messages: int = 0  # messages on applications no coordinator has dealt with yet


@dataclass(frozen=True)
class Row:
    """One application, as one row of the table (applicant text as written: templates cut
    and escape it)."""

    id: int
    structure: str
    status: str
    missing: tuple[str, ...]  # labels, for people
    warnings: tuple[str, ...]
    first_received: dt.datetime
    last_received: dt.datetime
    versions: int
    autodiagnostic: float | None  # mean of the self-assessment scores
    referent: Referent
    decision: str | None = None  # the latest decision, one of triage.models.DECISIONS
    # « à vérifier »: required answers written but not read, by title with the text found
    to_check: tuple[str, ...] = ()

    @property
    def status_label(self) -> str:
        return status_label(self.status)

    @property
    def decision_label(self) -> str:
        return decision_label(self.decision)


@dataclass(frozen=True)
class CallList:
    start: dt.date
    end: dt.date
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class MailboxHealth:
    id: str
    address: str
    folder: str | None  # None: never polled
    last_success: dt.datetime | None
    failures: int  # in a row
    last_error: str | None
    next_attempt: dt.datetime | None
    failing: bool

    @property
    def state(self) -> str:
        return "en erreur" if self.failing else "en service"


@dataclass(frozen=True)
class OutboxProblem:
    """A mail to an applicant that a person should look at."""

    kind: str
    recipient: str
    structure: str | None
    abandoned: bool  # refused for good (else: sent, but perhaps twice)
    last_error: str | None
    attempts: int
    at: dt.datetime

    @property
    def kind_label(self) -> str:
        return MAIL_KINDS.get(self.kind, self.kind)

    @property
    def state(self) -> str:
        return "abandonné" if self.abandoned else "remise incertaine (peut-être reçu deux fois)"


@dataclass(frozen=True)
class DecisionsWarning:
    missing: int  # candidatures received in time without a decision
    results_date: dt.date
    days_left: int

    @property
    def text(self) -> str:
        if self.days_left == 0:
            delay = "le jour des résultats"
        elif self.days_left == 1:
            delay = "la veille des résultats"
        else:
            n = self.days_left
            delay = f"à {_NUMBERS[n] if n < len(_NUMBERS) else n} jours des résultats"
        return (
            f"{plural(self.missing, 'candidature')} sans décision {delay} "
            f"({day(self.results_date)})"
        )


@dataclass(frozen=True)
class DigestData:
    programme_id: str
    now: dt.datetime
    since: dt.datetime  # « new » means after this
    counts: Counts
    news: tuple[str, ...]  # one line of French each
    rows: tuple[Row, ...]
    calls: CallList | None  # None outside the call period
    mailboxes: tuple[MailboxHealth, ...]
    outbox: tuple[OutboxProblem, ...]
    unchecked: tuple[str, ...]  # mails the check failed on, one line each
    decisions: DecisionsWarning | None
    unreachable: tuple[str, ...] = ()  # applications no mail can be sent to, one line each
    # « Messages à lire »: replies bringing no new file, until a coordinator deals with them
    messages: tuple[PendingMessage, ...] = ()

    @property
    def failing_mailboxes(self) -> tuple[MailboxHealth, ...]:
        return tuple(m for m in self.mailboxes if m.failing)

    @property
    def alerts(self) -> bool:
        return bool(
            self.failing_mailboxes
            or self.outbox
            or self.unchecked
            or self.decisions
            or self.unreachable
        )
