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

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from parsers.normalise.answers import parse_choice, parse_yes_no
    from parsers.normalise.dates import parse_date
    from parsers.normalise.identifiers import parse_email, parse_enterprise_number, parse_phone
    from parsers.normalise.quantities import parse_number, parse_score
    from parsers.normalise.text import PLACEHOLDERS, Normalised, clean_text, is_placeholder

# Each name is loaded with its module on first use: the identifiers' libraries
# (email_validator, phonenumbers, python-stdnum) take tens of milliseconds to import, and
# the reader child, which only asks ``is_placeholder``, never needs them.
_MODULES = {
    "PLACEHOLDERS": "text",
    "Normalised": "text",
    "clean_text": "text",
    "is_placeholder": "text",
    "parse_choice": "answers",
    "parse_yes_no": "answers",
    "parse_date": "dates",
    "parse_email": "identifiers",
    "parse_enterprise_number": "identifiers",
    "parse_phone": "identifiers",
    "parse_number": "quantities",
    "parse_score": "quantities",
}
__all__ = sorted(_MODULES)


def __getattr__(name: str) -> object:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def load() -> None:
    """Import every normaliser now (while waiting for something else)."""
    for module in sorted(set(_MODULES.values())):
        importlib.import_module(f"{__name__}.{module}")
