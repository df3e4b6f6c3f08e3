"""Identifiers checked against their standard: Belgian enterprise numbers (modulo 97),
phone numbers (E.164), e-mail addresses (syntax, no DNS).
"""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from stdnum.be import vat
from stdnum.exceptions import InvalidChecksum, InvalidComponent, ValidationError

from parsers.normalise.text import Normalised, _answer, _quoted, _sentences

# --- enterprise numbers -----------------------------------------------------------------------

_ENTERPRISE_NUMBER = re.compile(
    r"(?<![0-9])(?<![0-9][ ./-])[0-9](?:[ ./-]?[0-9]){8,9}(?![ ./-]?[0-9])"
)


def _ten_digits(written: str) -> str | None:
    """The number's ten digits; old numbers had nine, never starting with 0."""
    digits = re.sub(r"\D", "", written)
    if len(digits) == 9 and not digits.startswith("0"):
        return "0" + digits
    return digits if len(digits) == 10 else None


def _enterprise_number_problem(digits: str, formatted: str) -> str | None:
    try:
        vat.validate(digits)
    except InvalidChecksum:
        return f"Le numéro d’entreprise {formatted} ne passe pas le contrôle (modulo 97)."
    except InvalidComponent:
        return f"Le numéro d’entreprise {formatted} devrait commencer par 0 ou 1."
    except ValidationError:
        return f"Le numéro d’entreprise {formatted} n’est pas valable."
    return None


def parse_enterprise_number(text: str | None) -> Normalised:
    """Belgian enterprise (BCE/TVA) number as ``0123.456.789``, checked modulo 97."""
    answer = _answer(text)
    if answer is None:
        return Normalised(None)
    found = (_ten_digits(m[0]) for m in _ENTERPRISE_NUMBER.finditer(answer))
    numbers = [n for n in dict.fromkeys(found) if n]
    if not numbers:
        return Normalised(
            None, f"Numéro d’entreprise illisible : {_quoted(answer)} (10 chiffres attendus)."
        )
    digits = numbers[0]
    formatted = f"{digits[:4]}.{digits[4:7]}.{digits[7:]}"
    warnings = [_enterprise_number_problem(digits, formatted)]
    if len(numbers) > 1:
        warnings.append(f"Plusieurs numéros dans {_quoted(answer)} : le premier est retenu.")
    return Normalised(formatted, _sentences(*warnings))


# --- phones -----------------------------------------------------------------------------------


def parse_phone(text: str | None, default_region: str = "BE") -> Normalised:
    """E.164 (``+32488022725``); numbers without a country code belong to ``default_region``."""
    answer = _answer(text)
    if answer is None:
        return Normalised(None)
    found = [
        m.number
        for m in phonenumbers.PhoneNumberMatcher(
            answer, default_region, leniency=phonenumbers.Leniency.POSSIBLE
        )
    ]
    if not found:
        return Normalised(None, f"Numéro de téléphone illisible : {_quoted(answer)}.")
    e164 = [phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164) for n in found]
    warnings = []
    if not phonenumbers.is_valid_number(found[0]):  # possible (right length) but not allocated
        warnings.append(f"Le numéro {e164[0]} n’existe pas au plan de numérotation : à vérifier.")
    if len(set(e164)) > 1:
        warnings.append(f"Plusieurs numéros dans {_quoted(answer)} : le premier est retenu.")
    return Normalised(e164[0], _sentences(*warnings))


# --- e-mail addresses -------------------------------------------------------------------------

_NOT_IN_ADDRESS = r"\s<>()\[\]{}\"',;:«»"
_EMAIL = re.compile(rf"(?<![^{_NOT_IN_ADDRESS}])[^{_NOT_IN_ADDRESS}]+@[^{_NOT_IN_ADDRESS}]+")
_SPELLED_AT = re.compile(r"\s*[\[(]\s*(?:at|arobase)\s*[\])]\s*", re.IGNORECASE)
_MAILTO = re.compile(r"mailto:", re.IGNORECASE)


def _valid_address(candidate: str) -> str | None:
    try:
        return validate_email(candidate, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def parse_email(text: str | None) -> Normalised:
    """The (first) e-mail address, lower-cased and checked for syntax (no DNS)."""
    answer = _answer(text)
    if answer is None:
        return Normalised(None)
    unmasked = _SPELLED_AT.sub("@", _MAILTO.sub("", answer))
    candidates = [c.split("?")[0].strip(".!?-") for c in _EMAIL.findall(unmasked)]
    candidates = list(dict.fromkeys(c.lower() for c in candidates if c))
    if not candidates:
        return Normalised(None, f"Pas d’adresse e-mail dans {_quoted(answer)}.")
    valid = [address for c in candidates if (address := _valid_address(c))]
    if not valid:
        return Normalised(None, f"Adresse e-mail invalide : {_quoted(answer)}.")
    if len(candidates) > 1:
        return Normalised(
            valid[0],
            f"Plusieurs adresses dans {_quoted(answer)} : la première valable est retenue.",
        )
    return Normalised(valid[0])
