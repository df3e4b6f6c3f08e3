"""The desk's list of 1,000 applications: server-side time to answer ``GET /`` on SQLite.

The store holds the ten applications of the varied season, really filed, then copied to
1,000 (each copy its own structure, mail, version and parsed dossier, a decision on one in
three). Measured in-process through Starlette's TestClient (no network), logged in: the
whole request, and its parts (reading the rows, rendering the template).
"""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from starlette.testclient import TestClient

from desk import dossier as views
from desk.app import create_app
from tests.conftest import sqlite_settings
from tests.desk_web import EMAIL, PASSWORD, csrf_of, desk_for
from tests.stores import BLOSSOM, NOW, file_varied
from triage.models import Application, ApplicationVersion, Decision, Message, ParsedDossier
from triage.store import Store, open_store

TARGET = 1000


def _median_ms(
    func: Callable[[], object], repeat: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    func()
    times = []
    for _ in range(repeat):
        start = clock()
        func()
        times.append(clock() - start)
    return statistics.median(times) * 1000


def _grow(store: Store, target: int) -> None:
    """Copy the filed applications until there are ``target``."""
    with store.sessions.begin() as session:
        models = session.scalars(select(Application)).all()
        n = len(models)
        for i in range(n, target):
            model = models[i % len(models)]
            version = model.current_version
            source = version.message if version else model.messages[0]
            name = f"{model.structure} {i}"
            message = Message(
                content_hash=f"bench-{i:064d}"[-64:], raw_sha256=source.raw_sha256,
                size=source.size, sender=f"candidat{i}@exemple.test", subject=source.subject,
                received_at=source.received_at + dt.timedelta(minutes=i), state=source.state,
                programme_id=BLOSSOM.id, status=source.status, structure=name,
                reply_to=f"candidat{i}@exemple.test", role=source.role, created_at=NOW,
                references=[],
            )  # fmt: skip
            app = Application(
                programme_id=BLOSSOM.id, structure_key=f"bench {i}", structure=name,
                sender=message.sender, reply_to=message.sender, status=model.status,
                missing=list(model.missing), unread=list(model.unread or []),
                annexes=dict(model.annexes), bilans_years=list(model.bilans_years),
                warnings=list(model.warnings), first_received_at=message.received_at,
                last_received_at=message.received_at, created_at=NOW, updated_at=NOW,
            )  # fmt: skip
            message.application = app
            session.add_all([app, message])
            if source.parsed is not None:
                p = source.parsed
                message.parsed = ParsedDossier(
                    programme_id=p.programme_id, filename=p.filename, format=p.format,
                    fields=dict(p.fields), missing=list(p.missing), unread=list(p.unread or []),
                    unread_raw=dict(p.unread_raw or {}), warnings=list(p.warnings),
                    tracked_changes=p.tracked_changes, created_at=NOW,
                )  # fmt: skip
                session.flush()
                session.add(
                    ApplicationVersion(
                        application_id=app.id, message_id=message.id, number=1,
                        received_at=message.received_at, counts=True, created_at=NOW,
                    )
                )  # fmt: skip
            if i % 3 == 0:
                session.flush()
                session.add(
                    Decision(application_id=app.id, decision="retenu", source="bench",
                             note="Projet solide", created_at=NOW)
                )  # fmt: skip


def run(repeat: int = 15) -> None:
    with (
        tempfile.TemporaryDirectory() as folder,
        open_store(sqlite_settings(Path(folder))) as store,
    ):
        started = time.perf_counter()
        file_varied(store)
        _grow(store, TARGET)
        built = time.perf_counter() - started
        desk = desk_for(store)
        with TestClient(create_app(desk)) as client:
            token = csrf_of(client.get("/connexion").text)
            client.post("/connexion", data={"csrf": token, "email": EMAIL, "password": PASSWORD})
            page = client.get("/")
            assert page.status_code == 200, page.status_code
            rows = page.text.count('<th scope="row"')
            assert rows == TARGET, rows
            whole = _median_ms(lambda: client.get("/"), repeat)
            # CPU time of the process (all its threads): the figure without other programs
            # competing for the processor
            cpu = _median_ms(lambda: client.get("/"), repeat, time.process_time)
            filtered = _median_ms(
                lambda: client.get("/", params={"q": "velo", "statut": "incomplet"}), repeat
            )

        def read() -> list[views.ListRow]:
            with store.sessions() as session:
                return views.all_rows(session, BLOSSOM)

        reading = _median_ms(read, repeat)
        template = desk.env.get_template("liste.html.j2")
        found = read()
        rendering = _median_ms(
            lambda: template.render(
                request=None, programme=BLOSSOM, user=None, csrf="x", flash=None,
                when=lambda m: m.strftime("%d/%m/%Y %H:%M"), long_when=str, title="t",
                rows=found, counts=views.counts(found), shown=len(found), query=views.Query(),
                statuses=views.STATUSES, decisions=(), no_decision="aucune",
                missing_choices=[], sort_link=lambda key: "/", filtered=False,
            ),
            repeat,
        )  # fmt: skip
        size = len(page.content) / 1024
    print(f"desk: list of {TARGET} applications on SQLite (store built in {built:.1f} s)")
    print(
        f"  GET /                      {whole:7.1f} ms median of {repeat} ({size:.0f} KiB of HTML)"
    )
    print(f"  GET /, CPU time            {cpu:7.1f} ms")
    print(f"  GET /?q=velo&statut=…      {filtered:7.1f} ms")
    print(f"  of which reading the rows  {reading:7.1f} ms")
    print(f"  of which the template      {rendering:7.1f} ms")
