"""Reading what applicants write in a form field into a value a program can use.

Each ``parse_*`` function takes the raw answer to one field and returns a :class:`Normalised`:
a JSON-ready value (or None) and, when the text could not be read with confidence or was read
but looks wrong, one French sentence for the coordinator. The functions are pure (no I/O, no
clock) and never raise on text. They are generous in what they read and strict in not
inventing: an answer that cannot be read is None with a warning, never a guess.

Modules: ``text`` (the value, placeholders, clean text), ``dates``, ``quantities`` (numbers,
scores), ``identifiers`` (enterprise numbers, phones, e-mails), ``answers`` (oui/non, choices).
"""

from __future__ import annotations

from parsers.normalise.answers import parse_choice, parse_yes_no
from parsers.normalise.dates import parse_date
from parsers.normalise.identifiers import parse_email, parse_enterprise_number, parse_phone
from parsers.normalise.quantities import parse_number, parse_score
from parsers.normalise.text import PLACEHOLDERS, Normalised, clean_text, is_placeholder

__all__ = [
    "PLACEHOLDERS",
    "Normalised",
    "clean_text",
    "is_placeholder",
    "parse_choice",
    "parse_date",
    "parse_email",
    "parse_enterprise_number",
    "parse_number",
    "parse_phone",
    "parse_score",
    "parse_yes_no",
]
