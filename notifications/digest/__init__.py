"""The coordinators' daily digest: what the store holds, gathered, then rendered.

``gather_digest`` reads one session at one ``now`` and returns plain values
(``DigestData``); ``render_digest`` turns them into a subject, a plain-text part and an
HTML part (Jinja2 templates in ``notifications/templates``), without touching the store.

Choices a reader should know:

* Applications are listed incomplete first, then complete, then late; within a status,
  in order of first receipt. Structure names are cut to 80 characters on one line.
* The call list (``programme.phone_calls``, shown only during that period) holds the
  applications received in time that COOPCITY may have questions about: incomplete ones
  first, then complete ones with warnings or answers to check. Late applications are not
  called.
* An application is « à vérifier » when a required answer of the dossier that counts was
  written but could not be read (a score « 12/10 »): it is counted at the top, whatever its
  status, and its row names each such field with the text found, quoted and cut. It is
  never listed as missing.
* A mailbox is « en erreur » when its last poll failed, or when no poll succeeded in the
  last hour (``STALE_AFTER``), or when it was never polled.
* Mails to applicants are listed when abandoned or when their delivery is uncertain
  (possibly received twice), whatever their age: they need a person.
* The decisions warning shows from ``decisions_warning_days`` before the results date to
  the results date itself, while a candidature received in time has no decision.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from config.programme import Programme
from notifications.compose import Rendered
from notifications.digest.gather import (
    DIGEST_KIND,
    STALE_AFTER,
    digest_key,
    digest_since,
    gather_digest,
    last_digest_at,
)
from notifications.digest.model import (
    CallList,
    Counts,
    DecisionsWarning,
    DigestData,
    MailboxHealth,
    OutboxProblem,
    Row,
    plural,
)
from notifications.digest.render import environment, french_spacing, render_digest, subject
from notifications.people import Phone, Referent, phone, referent

__all__ = [
    "DIGEST_KIND",
    "STALE_AFTER",
    "CallList",
    "Counts",
    "DecisionsWarning",
    "DigestData",
    "MailboxHealth",
    "OutboxProblem",
    "Phone",
    "Referent",
    "Row",
    "build_digest",
    "digest_key",
    "digest_since",
    "environment",
    "french_spacing",
    "gather_digest",
    "last_digest_at",
    "phone",
    "plural",
    "referent",
    "render_digest",
    "subject",
]


def build_digest(
    session: Session,
    programme: Programme,
    now: dt.datetime,
    *,
    final: bool = False,
    attachment: str | None = None,
) -> Rendered:
    """Gather (new since the last digest sent) and render, at ``now``."""
    data = gather_digest(session, programme, now)
    return render_digest(data, programme, final=final, attachment=attachment)
