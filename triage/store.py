"""Opening the store: where it lives, the database engine, migrations, sessions.

SQLite by default, a file in the data folder (``GUICHET_DATA_DIR``, default ``./var``);
PostgreSQL (or any SQLAlchemy URL) from ``GUICHET_DATABASE_URL``. The data folder also
holds the raw mails (``ingest.archive``). Folders are created 0700 and files 0600: the
dossiers hold personal data. ``open_store`` brings the schema to Alembic's head.

Data functions elsewhere take a ``Session``; whoever runs a job opens it with
``store.sessions.begin()``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from guichet.errors import ConfigError, GuichetError
from ingest.archive import RawArchive

DATA_DIR_ENV = "GUICHET_DATA_DIR"
DATABASE_URL_ENV = "GUICHET_DATABASE_URL"
DEFAULT_DATA_DIR = Path("var")
SQLITE_NAME = "guichet.sqlite3"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class StoreError(GuichetError):
    """The database cannot be opened or brought up to date."""

    exit_code = 12


@dataclass(frozen=True)
class StoreSettings:
    data_dir: Path
    database_url: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StoreSettings:
        env = os.environ if env is None else env
        data_dir = Path(env.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)
        url = env.get(DATABASE_URL_ENV) or f"sqlite:///{data_dir / SQLITE_NAME}"
        try:
            make_url(url)
        except ArgumentError as e:
            raise ConfigError(f"{DATABASE_URL_ENV} : URL de base de données invalide") from e
        return cls(data_dir=data_dir, database_url=url)


@dataclass
class Store:
    settings: StoreSettings
    engine: Engine
    sessions: sessionmaker[Session]
    archive: RawArchive

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed; the folder itself is made 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def open_store(settings: StoreSettings, migrate: bool = True) -> Store:
    """Open (and create) the data folder and the database; migrate it to the head."""
    private_dir(settings.data_dir)
    engine = make_engine(settings.database_url)
    try:
        if migrate:
            upgrade(engine)
    except OperationalError as e:
        engine.dispose()
        where = engine.url.render_as_string(hide_password=True)
        raise StoreError(f"base de données inaccessible ({where}) : {e.orig}") from e
    return Store(
        settings=settings,
        engine=engine,
        sessions=sessionmaker(engine, expire_on_commit=False),
        archive=RawArchive(private_dir(settings.data_dir / "mails")),
    )


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database)
        private_dir(path.parent)
        # Created 0600 before SQLite opens it; SQLite gives its -wal/-shm the same mode.
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    engine = create_engine(url, connect_args={"timeout": 10})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide where transactions begin (pysqlite would not
    # begin one before a SELECT or DDL), then tune the connection.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=FULL",
        "foreign_keys=ON",
        "busy_timeout=10000",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # Deferred: in WAL mode readers never wait for the writer, and one worker writes.
    connection.exec_driver_sql("BEGIN")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (Alembic), in one transaction where the base allows."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
