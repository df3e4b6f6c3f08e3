"""`guichet web`: the coordinators' desk, served on 127.0.0.1 (a reverse proxy adds HTTPS)."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap

from guichet.commands import add_programme_option

HELP = "Servir le bureau des coordinateurs (pages web : candidatures, corrections, décisions)."
EXAMPLE = """exemples :
  guichet users add marie@coopcity.be       (un compte par coordinateur, une fois)
  guichet web                                → http://127.0.0.1:8080
  GUICHET_DESK_URL=https://bureau.coopcity.be guichet web --port 8081

Réglages (environnement) : GUICHET_DESK_HOST, GUICHET_DESK_PORT, GUICHET_DESK_URL,
GUICHET_DESK_SECRET ou GUICHET_DESK_SECRET_FILE (clé des cookies de session),
GUICHET_DESK_SECURE_COOKIES. Voir README, « Le bureau des coordinateurs »."""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "web",
        help=HELP,
        description=textwrap.fill(
            HELP + " N’écoute que sur 127.0.0.1 par défaut : pour y accéder d’ailleurs, "
            "placez-le derrière un proxy HTTPS. Stockage : GUICHET_DATA_DIR ou "
            "GUICHET_DATABASE_URL.",
            88,
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", metavar="ADRESSE", help="adresse d’écoute (défaut : 127.0.0.1)")
    parser.add_argument("--port", metavar="PORT", type=int, help="port (défaut : 8080)")
    add_programme_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses

    import uvicorn

    from desk.app import Desk, create_app
    from desk.settings import DeskSettings
    from ingest.poll import polled_programme
    from triage.store import StoreSettings, open_store

    env = os.environ
    settings = DeskSettings.from_env(env)
    settings = dataclasses.replace(
        settings, host=args.host or settings.host, port=args.port or settings.port
    )
    programme = polled_programme(args.programme, env)
    if settings.secret_drawn:
        print(
            "guichet web : aucune clé de session (GUICHET_DESK_SECRET) : une clé tirée au "
            "hasard sert jusqu’à l’arrêt ; les sessions ne survivront pas à un redémarrage.",
            file=sys.stderr,
        )
    with open_store(StoreSettings.from_env(env)) as store:
        app = create_app(Desk(store=store, programme=programme, settings=settings))
        print(f"Bureau de {programme.name} : http://{settings.host}:{settings.port}/", flush=True)
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            proxy_headers=True,
            forwarded_allow_ips="127.0.0.1",
            log_level="warning",
            server_header=False,
        )
    return 0
