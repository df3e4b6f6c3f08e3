"""Fixtures shared by the suite: real servers on loopback (guichet.loopback) and the store.

The servers are started once per session and removed at the end. When their binaries
are missing the tests that need them are skipped with the command that installs them,
except under CI (``CI`` or ``GUICHET_REQUIRE_SERVERS`` set), where that is a failure.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from guichet.loopback.servers import DovecotServer, PostgresCluster, SmtpRelay, guichet_imap_env
from triage.check import CheckResult, check_message
from triage.store import Store, StoreSettings, open_store

INSTALL = "./scripts/install-system-packages.sh"
# Users known when Dovecot starts (a user added later costs up to a second: see add_user).
POOL = [f"{name}{n}@coopcity.test" for n in range(1, 201) for name in ("info", "matthias")]
APPLICANTS = [f"candidat{n}@exemple.test" for n in range(1, 201)]  # inboxes of applicants


def _need(what: str, missing: list[str]) -> None:
    if not missing:
        return
    message = f"{what} absent ({', '.join(missing)}) : lancer {INSTALL}"
    if os.environ.get("CI") or os.environ.get("GUICHET_REQUIRE_SERVERS"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    _need("Dovecot", DovecotServer.missing())
    with DovecotServer(users=dict.fromkeys(POOL + APPLICANTS, "secret")) as server:
        yield server


@pytest.fixture(scope="session")
def smtp_relay(dovecot: DovecotServer) -> Iterator[SmtpRelay]:
    _need("aiosmtpd", SmtpRelay.missing())
    with SmtpRelay(dovecot) as relay:
        yield relay


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    _need("PostgreSQL", PostgresCluster.missing())
    with PostgresCluster() as cluster:
        yield cluster


@dataclass
class Accounts:
    """Fresh IMAP users on the session's Dovecot for the programme's mailboxes (one test)."""

    dovecot: DovecotServer
    users: dict[str, str]  # the programme's mailbox id -> IMAP user
    env: dict[str, str] = field(default_factory=dict)

    def append(self, mailbox_id: str, raw: bytes, when: dt.datetime, folder: str = "INBOX") -> int:
        return self.dovecot.append(self.users[mailbox_id], raw, when, folder)

    def flags(self, mailbox_id: str, folder: str = "INBOX") -> dict[int, set[str]]:
        with self.dovecot.mailbox(self.users[mailbox_id]) as box:
            box.folder.set(folder)
            return {
                int(m.uid): set(m.flags)
                for m in box.fetch(mark_seen=False, headers_only=True, bulk=True)
            }


_accounts = itertools.count(1)


@pytest.fixture
def accounts(dovecot: DovecotServer) -> Accounts:
    """BLOSSOM's two mailboxes (``info``, ``programme``) as new users, and the environment
    that points guichet at them."""
    n = next(_accounts)
    users = {
        "info": dovecot.add_user(f"info{n}@coopcity.test"),
        "programme": dovecot.add_user(f"matthias{n}@coopcity.test"),
    }
    found = Accounts(dovecot, users)
    for mailbox_id, user in users.items():
        found.env.update(guichet_imap_env(dovecot, mailbox_id, user))
    return found


_applicants = itertools.count(1)


@pytest.fixture
def applicant(dovecot: DovecotServer) -> str:
    """The address of a fresh applicant inbox on the session's Dovecot (read it with
    ``dovecot.mailbox(address)``)."""
    return APPLICANTS[next(_applicants) - 1]


_databases = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    name = f"test_{next(_databases)}"
    url = postgres_cluster.create_database(name)
    yield url
    postgres_cluster.drop_database(name)


def sqlite_settings(folder: Path) -> StoreSettings:
    data = folder / "var"
    return StoreSettings(data_dir=data, database_url=f"sqlite:///{data / 'guichet.sqlite3'}")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store at the head revision, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        settings = sqlite_settings(tmp_path)
    else:
        url = request.getfixturevalue("postgres_url")
        settings = StoreSettings(data_dir=tmp_path / "var", database_url=url)
    with open_store(settings) as opened:
        yield opened


@pytest.fixture(scope="session")
def checker() -> Callable[[bytes, dt.datetime | None, str | None], CheckResult]:
    """``check_message``, remembered per (mail, receipt time, programme) for the session.

    The store and polling tests check the same sample mails again and again (on SQLite and
    PostgreSQL); what they test is what happens around the check, not the check itself.
    """
    results: dict[tuple[str, dt.datetime | None, str | None], CheckResult] = {}

    def remembered(
        raw: bytes, received: dt.datetime | None, programme_id: str | None
    ) -> CheckResult:
        key = (hashlib.sha256(raw).hexdigest(), received, programme_id)
        if key not in results:
            results[key] = check_message(raw, received, programme_id)
        return results[key]

    return remembered


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    with open_store(sqlite_settings(tmp_path)) as opened:
        yield opened


@pytest.fixture
def filed(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, checker: object) -> Iterator[Store]:
    """A store holding the desk's varied season of ten applications, filed once per
    session and copied into this test's folder (``tests.desk_store``)."""
    from tests.desk_store import filed_copy

    root = tmp_path_factory.getbasetemp() / "desk-varied"
    root.mkdir(exist_ok=True)
    with filed_copy(root, tmp_path, checker) as store:
        yield store
