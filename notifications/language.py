"""The language guichet writes to an applicant in, detected once per application.

    sources    the applicant's own words: the body of their first mail (quoted text, a
               signature and a forwarded or replied-to mail left out), then the free-text
               answers of their dossier; a subject is too short to tell
    detect     the first source long enough (``MIN_LETTERS``) whose language is clear
               (``MIN_CONFIDENCE``): a short or mixed text tells nothing
    choose     that language when the programme offers it, else the programme's default
    keep       the detection is an event of the application (``langue_detectee``, its data:
               language, detected, confidence, source), recorded with its first mail to
               it; every later mail reads it back, so an application is never detected
               twice and a conversation never changes language (one that began before
               detection existed stays in French)

Detection is lingua (``lingua-language-detector``): offline, its models inside the wheel,
only French, Dutch, English and German built (German, so that a German mail is not taken
for Dutch), in low-accuracy mode (trigram models: 14 MB more memory once loaded, 0.13 s
to load on the first detection, never at import; then 0.2 ms a mail; the high-accuracy
mode took 140 MB and 1.4 s). The detector is a parameter; tests of pure logic pass their own.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.programme import Programme
from guichet.errors import GuichetError
from ingest.archive import RawArchive
from ingest.intake import log_event
from parsers.message import read_message
from parsers.quotes import new_text
from triage.models import Application, Event, OutboxMail

DETECTED = "langue_detectee"  # the event keeping an application's detection
MIN_LETTERS = 40  # fewer letters of the applicant's own words tell no language
MIN_CONFIDENCE = 0.75  # share of the letters read that must be in the language found
MIN_SENTENCE_LETTERS = 12  # a shorter sentence (« Bonjour, », « Bien à vous, ») is not read
SENTENCE_CONFIDENCE = 0.9  # lingua's confidence for a sentence to count (a name, a subject: less)
DOSSIER_ANSWER_MIN = 20  # characters of a dossier answer worth reading (not a name, a date)
NAMES = {"fr": "français", "nl": "néerlandais", "en": "anglais", "de": "allemand"}
SOURCE_NAMES = {"courriel": "dans son courriel", "dossier": "dans son dossier"}
EARLIER = "courriels_precedents"  # source: mails were sent before languages were detected
LANGUAGE_BEFORE = "fr"  # the language of every mail guichet sent before

# language -> confidence (0 to 1), best first
Detector = Callable[[str], Sequence[tuple[str, float]]]


@dataclass(frozen=True)
class Detection:
    language: str | None  # an ISO 639-1 code, or None when unsure
    confidence: float = 0.0
    source: str = ""  # "courriel", "dossier", or "" when unsure


UNSURE = Detection(None)


@cache
def _lingua() -> Any:
    from lingua import Language, LanguageDetectorBuilder  # a few MB: imported when needed

    return (
        LanguageDetectorBuilder.from_languages(
            Language.FRENCH, Language.DUTCH, Language.ENGLISH, Language.GERMAN
        )
        .with_low_accuracy_mode()
        .build()
    )


def lingua_detector(text: str) -> list[tuple[str, float]]:
    """Confidences of French, Dutch, English and German for ``text``, best first."""
    return [
        (value.language.iso_code_639_1.name.lower(), value.value)
        for value in _lingua().compute_language_confidence_values(text)
    ]


_SIGNATURE = re.compile(r"^(?:-- ?|_{5,})$")  # where a signature starts
_NOT_WORDS = re.compile(r"\S+@\S+|https?://\S+|www\.\S+|\S*\d\S*")


def own_words(body: str) -> str:
    """The applicant's own words in a mail body: the new text of a reply (the quoted mail
    cut off as for coordinators, ``parsers.quotes``), up to a signature, without
    addresses, links and numbers."""
    kept = []
    for line in new_text(body).splitlines():
        if _SIGNATURE.match(line.strip()):
            break
        kept.append(line)
    return "\n".join(" ".join(_NOT_WORDS.sub(" ", line).split()) for line in kept).strip()


def letters(text: str) -> int:
    return sum(1 for c in text if c.isalpha())


_SENTENCE = re.compile(r"(?<=[.!?;:])\s+|\n+")


def detect(sources: Sequence[tuple[str, str]], detector: Detector = lingua_detector) -> Detection:
    """The language of the first of ``sources`` (name, text) that is long enough and
    clearly in one language; ``UNSURE`` when none is.

    A text is read sentence by sentence (a greeting or a name alone is too short to
    count, and a sentence lingua is unsure of does not count): its language is the one
    holding ``MIN_CONFIDENCE`` of the letters of the sentences read, so that a mail in
    French and Dutch alike tells none."""
    for source, text in sources:
        share: dict[str, int] = {}
        for sentence in _SENTENCE.split(text):
            size = letters(sentence)
            if size < MIN_SENTENCE_LETTERS:
                continue
            ranked = list(detector(sentence))
            if ranked and ranked[0][1] >= SENTENCE_CONFIDENCE:
                share[ranked[0][0]] = share.get(ranked[0][0], 0) + size
        total = sum(share.values())
        if total < MIN_LETTERS:
            continue
        best = max(share, key=lambda language: share[language])
        if share[best] / total >= MIN_CONFIDENCE:
            return Detection(best, round(share[best] / total, 3), source)
    return UNSURE


def choose(programme: Programme, detected: str | None) -> str:
    """The language of mails to an applicant writing in ``detected``: it when offered, else
    the programme's default."""
    spec = programme.languages
    return detected if detected in spec.offered else spec.default


# --- the application's language, kept in its events ----------------------------------------


def sources(
    archive: RawArchive, application: Application, programme: Programme
) -> list[tuple[str, str]]:
    """(name, text) of what ``application``'s applicant wrote themselves, in the order
    ``detect`` reads them: their first mail's own words, then their dossier's free-text
    answers (not names, dates, numbers or choices)."""
    mails = sorted(
        (m for m in application.messages if m.role is not None),
        key=lambda m: (m.received_at, m.id),
    )
    found: list[tuple[str, str]] = []
    if mails:
        try:
            body = read_message(archive.read(mails[0].raw_sha256)).body
        except GuichetError:  # gone from the archive, or unreadable: the dossier may tell
            body = ""
        found.append(("courriel", own_words(body)))
    version = application.current_version
    parsed = version.message.parsed if version is not None else None
    if parsed is not None:
        free = {f.key for f in programme.form.fields() if f.type == "text"}
        answers = [
            " ".join(value.split())
            for key, value in (parsed.fields or {}).items()
            if key in free and isinstance(value, str) and len(value) >= DOSSIER_ANSWER_MIN
        ]
        found.append(("dossier", " ".join(answers)))
    return found


def kept(session: Session, application_id: int) -> dict[str, Any] | None:
    """The data of the detection kept for the application, or None if never detected."""
    return session.scalar(
        select(Event.data)
        .where(Event.kind == DETECTED, Event.application_id == application_id)
        .order_by(Event.id.desc())
        .limit(1)
    )


def kept_language(session: Session, programme: Programme, application_id: int) -> str | None:
    """The language mails to the application are written in, if already chosen (read only)."""
    data = kept(session, application_id)
    if data is None:
        return None
    language = data.get("language")
    if language in programme.languages.offered:
        return str(language)
    detected = data.get("detected")
    return choose(programme, detected if isinstance(detected, str) else None)


def application_language(
    session: Session,
    archive: RawArchive,
    programme: Programme,
    application: Application,
    now: dt.datetime,
    detector: Detector = lingua_detector,
) -> str:
    """The language of mails to ``application``: detected and kept the first time (an
    event for the coordinators, in French), read back from then on. An application that
    had mails before languages were detected goes on in theirs (French)."""
    chosen = kept_language(session, programme, application.id)
    if chosen is not None:
        return chosen
    written = session.scalar(
        select(OutboxMail.id).where(OutboxMail.application_id == application.id).limit(1)
    )
    if written is not None:
        detection = Detection(LANGUAGE_BEFORE, 1.0, EARLIER)
        language = LANGUAGE_BEFORE
    else:
        detection = detect(sources(archive, application, programme), detector)
        language = choose(programme, detection.language)
    log_event(
        session,
        now,
        DETECTED,
        describe(detection, language),
        application_id=application.id,
        language=language,
        detected=detection.language,
        confidence=detection.confidence,
        source=detection.source,
    )
    return language


def describe(detection: Detection, language: str) -> str:
    """For coordinators: « Courriels en néerlandais (langue détectée dans son courriel) »."""
    name = NAMES.get(language, language)
    if detection.language is None:
        return f"Courriels en {name} (langue par défaut : aucune langue sûre dans ses textes)"
    if detection.language != language:
        found = NAMES.get(detection.language, detection.language)
        return f"Courriels en {name} (langue par défaut : {found} détecté, non proposé)"
    if detection.source == EARLIER:
        return f"Courriels en {name} (la langue des courriels déjà envoyés)"
    where = SOURCE_NAMES.get(detection.source, "")
    return f"Courriels en {name} (langue détectée {where})".replace("  ", " ")
