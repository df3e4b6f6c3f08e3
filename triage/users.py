"""Coordinators' accounts on the desk: an e-mail address and an Argon2 hash of a password.

Passwords never reach a command line or a log: ``guichet users add`` reads them from a
prompt or standard input. ``verify`` takes the same time whether the address is known or
not (a dummy hash is checked), so a login does not tell which addresses have accounts.
"""

from __future__ import annotations

import datetime as dt
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from guichet.errors import InputError
from ingest.intake import log_event
from triage.models import DeskUser

MIN_PASSWORD = 12  # characters
_hasher = PasswordHasher()
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


def normalise_email(text: str) -> str:
    # test_environment: coordinators may have addresses on special-use domains (.test,
    # .local intranets); deliverability is not ours to judge.
    try:
        found = validate_email(
            (text or "").strip(), check_deliverability=False, test_environment=True
        )
    except EmailNotValidError as e:
        raise InputError(f"adresse invalide : « {(text or '').strip()[:80]} » ({e})") from e
    return found.normalized.lower()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"mot de passe trop court ({MIN_PASSWORD} caractères au moins)")


def find_user(session: Session, email: str) -> DeskUser | None:
    return session.scalars(select(DeskUser).where(DeskUser.email == email.strip().lower())).first()


def add_user(
    session: Session, email: str, password: str, now: dt.datetime
) -> tuple[DeskUser, bool]:
    """Create the account, or give an existing one a new password (its sessions end);
    the second value is True when the account is new."""
    address = normalise_email(email)
    check_password(password)
    user = find_user(session, address)
    created = user is None
    if user is None:
        user = DeskUser(email=address, created_at=now)
        session.add(user)
    user.password_hash = _hasher.hash(password)
    user.session_token = secrets.token_hex(16)
    session.flush()
    what = "créé" if created else "mot de passe changé"
    log_event(session, now, "compte", f"Compte du bureau {address} : {what}.", email=address)
    return user, created


def list_users(session: Session) -> list[DeskUser]:
    return list(session.scalars(select(DeskUser).order_by(DeskUser.email)))


def remove_user(session: Session, email: str, now: dt.datetime) -> bool:
    user = find_user(session, email)
    if user is None:
        return False
    session.delete(user)
    log_event(
        session, now, "compte", f"Compte du bureau {user.email} : supprimé.", email=user.email
    )
    session.flush()
    return True


def verify(session: Session, email: str, password: str, now: dt.datetime) -> DeskUser | None:
    """The account when ``password`` is its password, else None (same work either way)."""
    user = find_user(session, email or "")
    try:
        _hasher.verify(user.password_hash if user else _DUMMY, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = now
    return user


def end_sessions(user: DeskUser) -> None:
    """Every session cookie of ``user`` stops being accepted (logout)."""
    user.session_token = secrets.token_hex(16)
