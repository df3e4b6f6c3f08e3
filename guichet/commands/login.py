"""`guichet login MAILBOX`: the one-time Microsoft 365 sign-in (device code) of a mailbox
whose application has no secret of its own (a delegated sign-in), kept for the worker."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from guichet.commands import add_programme_option
from guichet.errors import ConfigError, MailboxError

if TYPE_CHECKING:
    from config.environment import OAuth2Settings

HELP = "Connecter une fois une boîte Microsoft 365 (OAuth2, code à saisir dans un navigateur)."


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "login",
        help=HELP,
        description=HELP
        + " Pour une boîte réglée avec GUICHET_IMAP_<BOÎTE>_AUTH=oauth2-microsoft sans secret "
        "d’application : guichet affiche une adresse et un code ; une personne s’y connecte "
        "avec le compte de la boîte. Le jeton de rafraîchissement est gardé dans "
        "GUICHET_DATA_DIR/oauth2 (lisible par le seul compte du service) et renouvelé seul.",
    )
    parser.add_argument(
        "mailbox",
        metavar="BOÎTE",
        help="identifiant de la boîte dans le fichier du programme (info, programme…), "
        "ou « smtp » pour l’envoi (GUICHET_SMTP_AUTH)",
    )
    add_programme_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ingest import oauth2
    from ingest.oauth2_providers import MicrosoftTokens, cache_path

    env = os.environ
    settings = _oauth2_settings(args, env)
    if settings.provider != "microsoft":
        raise ConfigError(
            f"{settings.variables}AUTH=oauth2-google : pas de connexion à faire ici (compte de "
            f"service, ou {settings.variables}REFRESH_TOKEN)"
        )
    source = MicrosoftTokens(settings)

    def show(url: str, code: str, expires: str) -> None:
        print(f"Ouvrir {url} dans un navigateur et saisir le code {code}")
        print(f"puis se connecter avec le compte {settings.user} (code valable {expires}).")
        print("En attente de la connexion…", flush=True)

    try:
        who = source.device_login(show)
    except oauth2.SignInFailed as e:
        raise MailboxError(f"connexion de {settings.user} : {e.reason}") from e
    print(f"Connecté : {who}. guichet renouvellera seul l’accès (jeton gardé dans "
          f"{cache_path(settings)}).")  # fmt: skip
    return 0


def _oauth2_settings(args: argparse.Namespace, env: Mapping[str, str]) -> OAuth2Settings:
    from ingest.mailbox import env_name, settings_from_env
    from ingest.poll import polled_programme
    from notifications.smtp import ENV_PREFIX, SmtpSettings

    if args.mailbox.lower() == "smtp":
        smtp = SmtpSettings.from_env(env)
        if smtp.oauth2 is None:
            raise ConfigError(f"{ENV_PREFIX}AUTH n'est pas oauth2-microsoft : rien à connecter")
        return smtp.oauth2
    programme = polled_programme(args.programme, env)
    specs = {m.id: m for m in programme.mailboxes}
    if args.mailbox not in specs:
        known = ", ".join(specs) or "aucune"
        raise ConfigError(
            f"boîte « {args.mailbox} » inconnue du programme {programme.id} (boîtes : {known})"
        )
    settings = settings_from_env(specs[args.mailbox], env)
    if settings.oauth2 is None:
        raise ConfigError(
            f"{env_name(args.mailbox, 'AUTH')} n'est pas oauth2-microsoft : la boîte « "
            f"{args.mailbox} » se connecte par mot de passe, rien à connecter"
        )
    return settings.oauth2
