"""Alembic environment for guichet's store.

``guichet`` runs migrations itself (``triage.store.upgrade``) and hands over its
connection in ``config.attributes["connection"]``. From the command line, the URL comes
from ``GUICHET_DATABASE_URL`` / ``GUICHET_DATA_DIR`` like everywhere else:

    .venv/bin/alembic -c triage/migrations/alembic.ini revision --autogenerate -m "..."
"""

from __future__ import annotations

from alembic import context

from triage.models import Base

target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # ALTER TABLE on SQLite
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from triage.store import StoreSettings, make_engine, private_dir

    settings = StoreSettings.from_env()
    private_dir(settings.data_dir)
    engine = make_engine(settings.database_url)
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("guichet's migrations run online only (they need a connection)")
run_migrations_online()
