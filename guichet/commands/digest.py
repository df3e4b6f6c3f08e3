"""`guichet digest --preview | --send`: the coordinators' digest, written to files for a look,
or sent now to its recipients (``guichet run`` sends it every morning by itself)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from guichet.commands import add_programme_option

if TYPE_CHECKING:
    from config.programme import Programme
    from notifications.compose import Rendered
    from triage.store import Store

HELP = "Le point quotidien des coordinateurs : aperçu (HTML et texte) ou envoi immédiat."
DEFAULT_OUT = Path("digest-apercu")
EXAMPLE = """exemple :
  guichet digest --preview --out /tmp/point --at 2026-09-14T10:05 --final
  → écrit /tmp/point/digest.html et /tmp/point/digest.txt : le point de clôture
    tel qu’il serait envoyé le 14 septembre à 10:05 ; rien n’est envoyé.
  guichet digest --send
  → envoie le point du jour à ses destinataires (une fois par jour au plus)."""


def _moment(text: str) -> dt.datetime:
    """An ISO 8601 date and time; without an offset, local time of the programme (set later)."""
    try:
        return dt.datetime.fromisoformat(text.strip())
    except ValueError as e:
        raise argparse.ArgumentTypeError(
            f"date invalide : « {text} » (attendu : ISO 8601, ex. 2026-09-14T08:00)"
        ) from e


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "digest",
        help=HELP,
        description=textwrap.fill(
            HELP + " Le point résume les candidatures (comptes par statut, nouveautés depuis le "
            "dernier point envoyé, une ligne par candidature, liste d’appels), l’état des "
            "boîtes aux lettres et les courriels aux candidats à vérifier. L’envoi quotidien "
            "est fait par « guichet run ». Stockage : GUICHET_DATA_DIR ou GUICHET_DATABASE_URL.",
            width=78,
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,  # keeps the example's lines
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument(
        "--preview",
        action="store_true",
        help="écrire digest.html et digest.txt dans un dossier au lieu d’envoyer",
    )
    mode.add_argument(
        "--send",
        action="store_true",
        help="envoyer le point maintenant (export XLSX joint) ; rien si celui du jour est parti",
    )
    parser.add_argument(
        "--out",
        metavar="DOSSIER",
        type=Path,
        default=DEFAULT_OUT,
        help=f"dossier de l’aperçu (défaut : ./{DEFAULT_OUT}), créé si besoin",
    )
    add_programme_option(parser)
    parser.add_argument(
        "--at",
        metavar="ISO-8601",
        type=_moment,
        help="date et heure du point (défaut : maintenant ; sans fuseau : heure du programme)",
    )
    parser.add_argument(
        "--final",
        action="store_true",
        help="le point de clôture, envoyé juste après l’heure limite",
    )
    parser.set_defaults(func=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    from ingest.poll import polled_programme
    from triage.store import StoreSettings, open_store

    env = os.environ
    programme = polled_programme(args.programme, env)
    now = args.at or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=programme.zone)
    if args.send:
        return send(programme, now, final=args.final)
    with open_store(StoreSettings.from_env(env)) as store:
        digest = build(store, programme, now, final=args.final)
    paths = write_preview(digest, args.out)
    print(f"Aperçu du point écrit (rien n’a été envoyé) : {paths[0]} et {paths[1]}")
    print(f"Objet : {digest.subject}")
    return 0


def send(programme: Programme, now: dt.datetime, *, final: bool) -> int:
    from guichet.errors import ConfigError
    from notifications.digest_mail import send_digest
    from notifications.jobs import Notifier, smtp_sender
    from triage.store import StoreSettings, open_store

    env = os.environ
    sender = smtp_sender(env)
    if sender is None:
        raise ConfigError("GUICHET_SMTP_HOST n'est pas défini : le point ne peut pas partir")
    with open_store(StoreSettings.from_env(env)) as store:
        delivery = send_digest(Notifier(store, programme, env, sender), now, final=final)
    if delivery.sent:
        print(
            f"Point envoyé à {len(delivery.sent)} destinataire(s) : {', '.join(programme.digest_recipients)}"
        )
    elif delivery.postponed:
        print(
            "Serveur d’envoi indisponible : le point partira au prochain passage de « guichet run »."
        )
        return 11
    else:
        print("Rien à envoyer : le point de ce jour est déjà parti.")
    return 0


def build(store: Store, programme: Programme, now: dt.datetime, *, final: bool = False) -> Rendered:
    """The digest at ``now``, read in one transaction."""
    from notifications.digest import build_digest

    with store.sessions.begin() as session:
        return build_digest(session, programme, now, final=final)


def write_preview(digest: Rendered, folder: Path) -> tuple[Path, Path]:
    """``digest.html`` and ``digest.txt`` in ``folder``, each 0600: personal data. A new
    folder is made 0700; an existing one keeps its mode (it may be ``.``)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = []
    for name, content in (("digest.html", digest.html), ("digest.txt", digest.text)):
        path = folder / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(content)
        path.chmod(0o600)
        written.append(path)
    return written[0], written[1]
