"""The contact person a dossier names, and phone numbers, for people to read.

Shared by the coordinators' digest and the mails to applicants. The contact is found
from the form itself (the section of its first phone field), never from a programme's
field names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import phonenumbers

from config.programme import Programme
from notifications.wording import one_line

CONTACT_WIDTH = 80  # an e-mail address: one line of at most this many characters
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")


@dataclass(frozen=True)
class Phone:
    display: str  # « 0496 24 65 66 » (no-break spaces), international when not Belgian
    uri: str | None  # « tel:+32496246566 »; None when the number could not be read


@dataclass(frozen=True)
class Referent:
    name: str  # « Prénom Nom », or "" when the dossier names nobody
    phone: Phone | None = None
    email: str | None = None

    @property
    def mailto(self) -> str | None:
        return f"mailto:{self.email}" if self.email and _EMAIL.match(self.email) else None


def phone(number: str) -> Phone | None:
    """An E.164 number for people: Belgian numbers in national format (« 0496 24 65 66 »),
    others in international format; what cannot be read is shown as written."""
    if not number.strip():
        return None
    try:
        parsed = phonenumbers.parse(number, "BE")
    except phonenumbers.NumberParseException:
        return Phone(display=one_line(number, 40), uri=None)
    belgian = parsed.country_code == 32
    style = phonenumbers.PhoneNumberFormat.NATIONAL if belgian else None
    display = phonenumbers.format_number(
        parsed, style or phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return Phone(display=display.replace(" ", "\u00a0"), uri=f"tel:{e164}")


def referent(programme: Programme, fields: dict[str, Any]) -> Referent:
    """The contact person: the section of the form's first phone field gives their name
    (``…prenom``, ``…nom`` or ``…contact``), phone and e-mail."""
    specs = list(programme.form.fields())
    phone_spec = next((f for f in specs if f.type == "phone"), None)
    section = phone_spec.key.rsplit(".", 1)[0] + "." if phone_spec else ""
    names = []
    for suffix in ("prenom", "nom", "contact"):
        value = fields.get(f"{section}{suffix}") if section else None
        if isinstance(value, str) and value.strip():
            names.append(one_line(value, 60))
    email_spec = next((f for f in specs if f.type == "email" and f.key.startswith(section)), None)
    email = fields.get(email_spec.key) if email_spec else None
    raw_phone = fields.get(phone_spec.key) if phone_spec else None
    return Referent(
        name=" ".join(names),
        phone=phone(raw_phone) if isinstance(raw_phone, str) else None,
        email=one_line(email, CONTACT_WIDTH) if isinstance(email, str) and email else None,
    )
