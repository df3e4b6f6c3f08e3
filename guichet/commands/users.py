"""`guichet users add|list|remove`: the coordinators' accounts on the desk (`guichet web`)."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import os
import sys
import textwrap

HELP = "Gérer les comptes des coordinateurs sur le bureau (guichet web)."
EXAMPLE = """exemples :
  guichet users add marie@coopcity.be          (mot de passe demandé deux fois)
  printf '%s\\n' "$MOT_DE_PASSE" | guichet users add marie@coopcity.be
  guichet users list
  guichet users remove marie@coopcity.be

Le mot de passe n’est jamais un argument (il resterait dans l’historique du shell) : il est
demandé, ou lu sur l’entrée standard (première ligne). 12 caractères au moins ; redonner
une adresse existante change son mot de passe et ferme ses sessions."""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "users",
        help=HELP,
        description=textwrap.fill(
            HELP + " Stockage : GUICHET_DATA_DIR ou GUICHET_DATABASE_URL.", 88
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True, title="actions")
    add = actions.add_parser(
        "add",
        help="créer un compte (ou changer son mot de passe)",
        description="Créer le compte d’un coordinateur, ou changer son mot de passe (ses "
        "sessions ouvertes se ferment). Le mot de passe est demandé deux fois, ou lu sur "
        "la première ligne de l’entrée standard ; 12 caractères au moins.",
    )
    add.add_argument("email", metavar="EMAIL", help="adresse du coordinateur")
    add.set_defaults(func=run)
    listing = actions.add_parser(
        "list",
        help="lister les comptes",
        description="Lister les comptes du bureau : adresse, création, dernière connexion.",
    )
    listing.set_defaults(func=run)
    remove = actions.add_parser(
        "remove",
        help="supprimer un compte",
        description="Supprimer le compte d’un coordinateur ; ses sessions ne sont plus acceptées.",
    )
    remove.add_argument("email", metavar="EMAIL", help="adresse du coordinateur")
    remove.set_defaults(func=run)


def read_password() -> str:
    """From a prompt (twice) on a terminal, else the first line of standard input."""
    from guichet.errors import InputError

    if sys.stdin.isatty():
        first = getpass.getpass("Mot de passe : ")
        if getpass.getpass("Mot de passe (encore) : ") != first:
            raise InputError("les deux mots de passe diffèrent")
        return first
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


def run(args: argparse.Namespace) -> int:
    from guichet.errors import InputError
    from triage.store import StoreSettings, open_store
    from triage.users import add_user, check_password, list_users, normalise_email, remove_user

    now = dt.datetime.now(dt.UTC)
    settings = StoreSettings.from_env(os.environ)
    if args.action == "add":
        address = normalise_email(args.email)
        password = read_password()
        check_password(password)
        with open_store(settings) as store, store.sessions.begin() as session:
            _, created = add_user(session, address, password, now)
        print(f"Compte {address} {'créé' if created else ': mot de passe changé'}.")
        return 0
    if args.action == "remove":
        with open_store(settings) as store, store.sessions.begin() as session:
            removed = remove_user(session, args.email, now)
        if not removed:
            raise InputError(f"aucun compte {args.email.strip().lower()}")
        print(f"Compte {args.email.strip().lower()} supprimé.")
        return 0
    with open_store(settings) as store, store.sessions.begin() as session:
        users = [(u.email, u.created_at, u.last_login_at) for u in list_users(session)]
    if not users:
        print("Aucun compte. Créez-en un : guichet users add EMAIL")
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/Brussels")
    for email, created, last in users:
        seen = (
            f"dernière connexion le {last.astimezone(zone):%d/%m/%Y %H:%M}"
            if last
            else "jamais connecté"
        )
        print(f"{email}  (créé le {created.astimezone(zone):%d/%m/%Y}, {seen})")
    return 0
