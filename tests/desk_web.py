"""Builders for the desk's web tests: a filed store, an account, the application."""

from __future__ import annotations

import datetime as dt
import re

from desk.app import Desk, create_app
from desk.settings import DeskSettings
from tests.stores import BLOSSOM, NOW
from triage.store import Store
from triage.users import add_user

EMAIL = "marie@coopcity.test"
PASSWORD = "cheval-agrafe-batterie"
SECRET = "x" * 40


def desk_for(store: Store, secure: bool = False, now: dt.datetime = NOW) -> Desk:
    with store.sessions.begin() as session:
        add_user(session, EMAIL, PASSWORD, now)
    settings = DeskSettings(secret=SECRET, secure_cookies=secure)
    return Desk(store=store, programme=BLOSSOM, settings=settings, clock=lambda: now)


def app_for(desk: Desk):
    return create_app(desk)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)
