"""What ``guichet doctor`` checks, for real, and ``guichet run`` at start (the fast part).

Each check gives one ``Check``: ✓ and what was found, or ✗, the reason and the fix.
The checks touch the world (DNS, IMAP, SMTP, the store, LibreOffice, the kernel's
clock): they are the edges, nothing here decides about mail. A mailbox is checked step
by step (DNS, connection, TLS, sign-in, folder, keywords, IDLE) and stops at the first
step that fails; the sign-in goes through ``ingest.mailbox.ImapSession`` and SMTP's
through ``notifications.smtp.SmtpSender``, the very code the worker uses, so whatever
way of signing in they support is checked too.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import datetime as dt
import imaplib
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from config.programme import Programme
from guichet.errors import ConfigError, GuichetError, MailboxError
from ingest.mailbox import (
    ImapSession,
    MailboxSettings,
    UnconfiguredMailbox,
    env_name,
    programme_mailboxes,
    tls_context,
)
from triage.store import DATA_DIR_ENV, DEFAULT_DATA_DIR, StoreSettings

PROBE_TIMEOUT = 15.0  # seconds for one network step (the worker allows 60)
KEYWORD_ANY = b"\\*"


@dataclass(frozen=True)
class Check:
    ok: bool
    what: str
    detail: str
    fix: str | None = None

    def line(self) -> str:
        if self.ok:
            return f"✓ {self.what} : {self.detail}"
        fix = f" → {self.fix}" if self.fix else ""
        return f"✗ {self.what} : {self.detail}{fix}"


def good(what: str, detail: str) -> Check:
    return Check(True, what, detail)


def bad(what: str, detail: str, fix: str | None = None) -> Check:
    return Check(False, what, detail, fix)


# --- data folder, programme, store -------------------------------------------------------


def check_data_dir(env: Mapping[str, str]) -> Check:
    """``GUICHET_DATA_DIR`` set, and a folder the worker can create or write, private."""
    what = "dossier des données"
    text = (env.get(DATA_DIR_ENV) or "").strip()
    if not text:
        here = (Path.cwd() / DEFAULT_DATA_DIR).resolve()
        return bad(
            what,
            f"{DATA_DIR_ENV} n'est pas défini (les commandes utiliseraient {here})",
            f"définir {DATA_DIR_ENV}=/var/lib/guichet (l’unité systemd le fait) ; "
            "guichet run refuse de démarrer sans",
        )
    path = Path(text)
    if not path.is_absolute():
        return bad(what, f"{text} n'est pas un chemin absolu", f"{DATA_DIR_ENV}=/var/lib/guichet")
    if not path.exists():
        parent = next((p for p in path.parents if p.exists()), Path("/"))
        if os.access(parent, os.W_OK):
            return good(what, f"{path} (créé 0700 au premier démarrage)")
        return bad(
            what,
            f"{path} n'existe pas et {parent} n'est pas inscriptible",
            f"sudo install -d -m 0700 -o guichet -g guichet {path}",
        )
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        return bad(what, f"{path} n'est pas un dossier inscriptible", f"sudo chown guichet {path}")
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        return bad(what, f"{path} est lisible par d’autres (mode {mode:o})", f"chmod 700 {path}")
    return good(what, f"{path} (privé)")


def check_programme(
    programme_id: str | None, env: Mapping[str, str]
) -> tuple[Check, Programme | None]:
    from ingest.poll import polled_programme

    what = "programme"
    try:
        programme = polled_programme(programme_id, env)
    except GuichetError as e:
        return bad(what, e.message, "corriger le fichier du programme ou GUICHET_PROGRAMME"), None
    if not programme.mailboxes:
        return bad(what, f"{programme.id} ne déclare aucune boîte (clé « mailboxes »)"), programme
    if not programme.digest_recipients:
        return (
            bad(
                what,
                f"{programme.id} : personne à prévenir (ni notifications.digest.recipients "
                "ni manager.email)",
                "ajouter un destinataire dans le fichier du programme",
            ),
            programme,
        )
    deadline = programme.deadline_at
    closes = (
        f", clôture le {deadline.astimezone(programme.zone):%d/%m/%Y à %H:%M}" if deadline else ""
    )
    return (
        good(what, f"{programme.id} ({len(programme.mailboxes)} boîte(s){closes})"),
        programme,
    )


@dataclass(frozen=True)
class StoreState:
    check: Check
    current: bool  # at the head revision: the doctor may write to it (alerts, test mail)


def check_store(settings: StoreSettings) -> StoreState:
    """The database reachable and at the code's revision; never created nor migrated
    here (``guichet run`` does both at start)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from triage.store import alembic_config, current_revision, head_revision, make_engine

    what = "base de données"
    url = make_url(settings.database_url)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return StoreState(
            good(what, f"{url.database} pas encore créée (guichet run la crée)"), False
        )
    engine = make_engine(settings.database_url)
    try:
        current = current_revision(engine)
    except SQLAlchemyError as e:
        reason = " ".join(str(getattr(e, "orig", None) or type(e).__name__).split())[:200]
        return StoreState(
            bad(
                what,
                f"inaccessible ({shown}) : {reason}",
                f"vérifier {DATA_DIR_ENV} ou GUICHET_DATABASE_URL",
            ),
            False,
        )
    finally:
        engine.dispose()
    head = head_revision()
    if current == head:
        return StoreState(good(what, f"à jour (révision {head}, {shown})"), True)
    if current is None:
        return StoreState(good(what, f"vide ({shown}) : guichet run la crée"), False)
    try:
        known = ScriptDirectory.from_config(alembic_config()).get_revision(current) is not None
    except CommandError:
        known = False
    if not known:
        return StoreState(
            bad(
                what,
                f"révision {current} inconnue de cette version de guichet (attendue : {head})",
                "installer la version de guichet qui a écrit cette base",
            ),
            False,
        )
    return StoreState(
        bad(
            what,
            f"révision {current}, attendue {head}",
            "redémarrer le service (sudo systemctl restart guichet) : la mise à jour se fait au démarrage",
        ),
        False,
    )


# --- mailboxes ---------------------------------------------------------------------------


def mailbox_settings(
    programme: Programme, env: Mapping[str, str]
) -> tuple[list[Check], list[MailboxSettings]]:
    """A line per mailbox whose settings are missing or wrong; the others' settings."""
    checks: list[Check] = []
    found: list[MailboxSettings] = []
    for box in programme_mailboxes(programme.mailboxes, env):
        if isinstance(box, UnconfiguredMailbox):
            detail = box.error.split(" : ", 1)[-1]
            checks.append(
                bad(
                    f"boîte « {box.id} » : réglages",
                    detail,
                    f"définir {env_name(box.id, 'HOST')}, {env_name(box.id, 'USER')} et "
                    f"{env_name(box.id, 'PASSWORD_FILE')} (voir deploy/guichet.env.example)",
                )
            )
        else:
            found.append(box)
    return checks, found


def check_dns(host: str, port: int, what: str, variable: str) -> Check:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        reason = "nom inconnu" if isinstance(e, socket.gaierror) else "nom invalide"
        return bad(f"{what} : DNS", f"{reason} : « {host} »", f"vérifier {variable}")
    addresses = sorted({str(info[4][0]) for info in infos})
    return good(f"{what} : DNS", f"{host} → {', '.join(addresses[:3])}")


def _connection_failure(error: OSError, host: str, port: int) -> str:
    if isinstance(error, ConnectionRefusedError):
        return f"connexion refusée sur {host}:{port}"
    if isinstance(error, TimeoutError | socket.timeout):
        return f"{host}:{port} ne répond pas"
    return f"{host}:{port} injoignable ({error.strerror or type(error).__name__})"


def _tls_failure(error: ssl.SSLError, variable: Callable[[str], str]) -> tuple[str, str]:
    if isinstance(error, ssl.SSLCertVerificationError):
        return (
            f"certificat refusé ({error.verify_message})",
            f"vérifier le nom du serveur ({variable('HOST')}) ; "
            + f"un serveur à certificat maison : {variable('CAFILE')}",
        )
    return (
        f"échec de la négociation TLS ({error.reason or type(error).__name__})",
        f"ce port attend-il STARTTLS ? régler {variable('SECURITY')} ou {variable('PORT')}",
    )


def check_mailbox(settings: MailboxSettings, *, timeout: float = PROBE_TIMEOUT) -> list[Check]:
    """One mailbox, step by step; stops at the first step that fails."""
    s = dataclasses.replace(settings, timeout=timeout)
    name = f"boîte « {s.id} »"
    dns = check_dns(s.host, s.port, name, env_name(s.id, "HOST"))
    if not dns.ok:
        return [dns]
    checks = [dns]
    port_fix = (
        f"vérifier {env_name(s.id, 'PORT')} (993 en ssl, 143 en starttls) et "
        f"{env_name(s.id, 'SECURITY')} ; un pare-feu ?"
    )
    context = tls_context(s)

    def variable(key: str) -> str:
        return env_name(s.id, key)

    try:
        if s.security == "ssl":
            probe: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                s.host, s.port, ssl_context=context, timeout=timeout
            )
        else:
            probe = imaplib.IMAP4(s.host, s.port, timeout=timeout)
    except ssl.SSLError as e:
        reason, fix = _tls_failure(e, variable)
        return [
            *checks,
            good(f"{name} : connexion", f"{s.host}:{s.port}"),
            bad(f"{name} : TLS", reason, fix),
        ]
    except (OSError, imaplib.IMAP4.error, EOFError) as e:
        reason = (
            _connection_failure(e, s.host, s.port)
            if isinstance(e, OSError)
            else f"réponse inattendue de {s.host}:{s.port} ({str(e)[:100]})"
        )
        return [*checks, bad(f"{name} : connexion", reason, port_fix)]
    checks.append(good(f"{name} : connexion", f"{s.host}:{s.port}, le serveur répond"))
    try:
        if s.security == "starttls":
            probe.starttls(ssl_context=context)
        capabilities = set(probe.capabilities)
    except ssl.SSLError as e:
        reason, fix = _tls_failure(e, variable)
        _quietly(probe)
        return [*checks, bad(f"{name} : TLS", reason, fix)]
    except (OSError, imaplib.IMAP4.error, EOFError) as e:
        _quietly(probe)
        return [*checks, bad(f"{name} : TLS", f"STARTTLS refusé ({str(e)[:100]})", port_fix)]
    sock = probe.socket()
    if isinstance(sock, ssl.SSLSocket):
        verified = "certificat vérifié" if s.verify else "certificat NON vérifié (TLS_VERIFY=0)"
        checks.append(good(f"{name} : TLS", f"{sock.version()}, {verified}"))
    else:
        checks.append(good(f"{name} : TLS", "sans chiffrement (machine locale seulement)"))
    _quietly(probe)
    oauth = any(c.upper() in ("AUTH=XOAUTH2", "AUTH=OAUTHBEARER") for c in capabilities)
    checks.extend(_signed_in_steps(s, name, oauth))
    return checks


def _signed_in_steps(s: MailboxSettings, name: str, oauth: bool) -> list[Check]:
    from imap_tools.utils import encode_folder

    session = ImapSession(dataclasses.replace(s, folder="INBOX", idle=False))
    try:
        session.open()
    except MailboxError as e:
        if s.oauth2 is not None:  # a token, never a password: the reason says what to check
            fix = (
                f"les réglages {env_name(s.id, 'AUTH')}, {env_name(s.id, 'CLIENT_ID')}… "
                f"(README, « Microsoft 365 and Google Workspace »), ou « guichet login {s.id} »"
            )
        else:
            fix = f"vérifier {env_name(s.id, 'USER')} et le mot de passe ({env_name(s.id, 'PASSWORD_FILE')})"
            if oauth:
                fix += " ; ce serveur propose OAuth2 (Microsoft 365, Gmail) : voir « guichet login » dans le README"
        return [bad(f"{name} : identification", e.message.split(" : ", 1)[-1], fix)]
    checks = [good(f"{name} : identification", f"connecté en tant que {s.user}")]
    try:
        client = session.client
        client.untagged_responses.clear()
        typ, data = client.select(encode_folder(s.folder), False)
        if typ != "OK":
            detail = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
            checks.append(
                bad(
                    f"{name} : dossier",
                    f"« {s.folder} » introuvable ou inaccessible ({detail[:100]})",
                    f"vérifier {env_name(s.id, 'FOLDER')} (INBOX par défaut)",
                )
            )
            return checks
        permanent = b" ".join(
            d for d in client.untagged_responses.get("PERMANENTFLAGS", []) if isinstance(d, bytes)
        )
        checks.append(good(f"{name} : dossier", f"« {s.folder} », {int(data[0] or 0)} courriel(s)"))
        from triage.models import KEYWORD

        if KEYWORD_ANY in permanent or KEYWORD.encode() in permanent:
            checks.append(good(f"{name} : mots-clés", f"« {KEYWORD} » peut être posé"))
        else:
            checks.append(
                bad(
                    f"{name} : mots-clés",
                    f"le serveur ne garde pas de mot-clé sur « {s.folder} » "
                    f"(PERMANENTFLAGS {permanent.decode('ascii', 'replace') or 'vide'})",
                    "les courriels traités ne seront pas marqués « guichet-traite » : "
                    "vérifier les droits du compte sur ce dossier",
                )
            )
        idle = session.prepare_idle()
        if idle:
            checks.append(good(f"{name} : IDLE", "proposé" + (" et activé" if s.idle else "")))
        elif s.idle:
            checks.append(
                bad(
                    f"{name} : IDLE",
                    "demandé mais non proposé par le serveur",
                    f"retirer {env_name(s.id, 'IDLE')} : le relevé régulier suffit",
                )
            )
        else:
            checks.append(good(f"{name} : IDLE", "non proposé : relevé régulier seulement"))
    except (MailboxError, OSError, imaplib.IMAP4.error, EOFError) as e:
        reason = e.message if isinstance(e, MailboxError) else str(e)[:150]
        checks.append(bad(f"{name} : dossier", f"connexion interrompue ({reason})"))
    finally:
        session.close()
    return checks


def _quietly(client: imaplib.IMAP4) -> None:
    try:
        client.logout()
    except (OSError, imaplib.IMAP4.error, EOFError):
        try:
            client.shutdown()
        except OSError:
            pass


# --- SMTP --------------------------------------------------------------------------------


def check_smtp(env: Mapping[str, str], *, timeout: float = PROBE_TIMEOUT) -> list[Check]:
    from notifications.smtp import ENV_PREFIX, SendFailed, SmtpSender, SmtpSettings

    what = "envoi (SMTP)"
    if not (env.get(ENV_PREFIX + "HOST") or "").strip():
        return [
            bad(
                what,
                f"{ENV_PREFIX}HOST n'est pas défini : ni accusé de réception, ni point quotidien, ni alerte",
                f"définir {ENV_PREFIX}HOST, {ENV_PREFIX}USER et {ENV_PREFIX}PASSWORD_FILE",
            )
        ]
    try:
        s = dataclasses.replace(SmtpSettings.from_env(env), timeout=timeout)
    except ConfigError as e:
        return [bad(f"{what} : réglages", e.message)]
    dns = check_dns(s.host, s.port, what, ENV_PREFIX + "HOST")
    if not dns.ok:
        return [dns]
    checks = [dns]
    port_fix = f"vérifier {ENV_PREFIX}PORT (465 en ssl, 587 en starttls) et {ENV_PREFIX}SECURITY"
    context = tls_context(s)  # type: ignore[arg-type]  # the same three fields
    try:
        if s.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                s.host, s.port, timeout=timeout, context=context
            )
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=timeout)
    except ssl.SSLError as e:
        reason, fix = _tls_failure(e, lambda key: ENV_PREFIX + key)
        return [
            *checks,
            good(f"{what} : connexion", f"{s.host}:{s.port}"),
            bad(f"{what} : TLS", reason, fix),
        ]
    except (OSError, smtplib.SMTPException) as e:
        reason = _connection_failure(e, s.host, s.port) if isinstance(e, OSError) else str(e)[:150]
        return [*checks, bad(f"{what} : connexion", reason, port_fix)]
    checks.append(good(f"{what} : connexion", f"{s.host}:{s.port}, le serveur répond"))
    try:
        with client:
            client.ehlo()
            if s.security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            sock = client.sock
            if isinstance(sock, ssl.SSLSocket):
                checks.append(
                    good(
                        f"{what} : TLS",
                        f"{sock.version()}, certificat vérifié"
                        if s.verify
                        else f"{sock.version()}, certificat NON vérifié",
                    )
                )
            else:
                checks.append(good(f"{what} : TLS", "sans chiffrement (machine locale seulement)"))
    except ssl.SSLError as e:
        reason, fix = _tls_failure(e, lambda key: ENV_PREFIX + key)
        return [*checks, bad(f"{what} : TLS", reason, fix)]
    except (OSError, smtplib.SMTPException) as e:
        return [*checks, bad(f"{what} : TLS", f"STARTTLS refusé ({str(e)[:120]})", port_fix)]
    if not s.user:
        checks.append(good(f"{what} : identification", f"aucune ({ENV_PREFIX}USER non défini)"))
        return checks
    try:
        # The worker's own connection code, sign-in included (SmtpSender opens one per mail).
        SmtpSender(s)._connect().quit()
    except SendFailed as e:  # OAuth2: a token refused, or a server that wants another sign-in
        checks.append(
            bad(
                f"{what} : identification",
                e.message.split(" : ", 1)[-1] if e.message.startswith(s.label) else e.message,
                f"les réglages {ENV_PREFIX}AUTH, {ENV_PREFIX}CLIENT_ID… (README, « Microsoft 365 "
                "and Google Workspace »), ou « guichet login smtp »",
            )
        )
        return checks
    except (OSError, smtplib.SMTPException) as e:
        reply = (
            e.smtp_error.decode("utf-8", "replace")
            if isinstance(e, smtplib.SMTPResponseException) and isinstance(e.smtp_error, bytes)
            else str(e)
        )
        checks.append(
            bad(
                f"{what} : identification",
                f"refusée pour {s.user} ({' '.join(reply.split())[:120]})",
                f"vérifier {ENV_PREFIX}USER et le mot de passe ({ENV_PREFIX}PASSWORD_FILE)",
            )
        )
        return checks
    checks.append(good(f"{what} : identification", f"acceptée pour {s.user}"))
    return checks


# --- templates, LibreOffice, clock --------------------------------------------------------


def check_templates(programme: Programme, now: dt.datetime) -> Check:
    """Every template compiles; the alert and the test mail render."""
    from jinja2 import TemplateError

    from ingest.health import ALERT, AlertSettings, Outage, alert_context
    from notifications.compose import environment, render
    from notifications.digest.render import environment as digest_environment

    what = "modèles de courriels"
    env = environment()
    names = env.list_templates(filter_func=lambda n: n.endswith(".j2"))
    try:
        for template in names:  # the digest's have their own filters
            (digest_environment() if template.startswith("digest.") else env).get_template(template)
        render(ALERT, alert_context(programme, Outage("", now, "essai"), now, AlertSettings()))
        render("essai", test_mail_context(programme, now))
    except TemplateError as e:
        where = f"{getattr(e, 'name', None) or '?'}, ligne {getattr(e, 'lineno', None) or '?'}"
        return bad(
            what,
            f"{where} : {e.message or type(e).__name__}",
            "corriger le modèle dans notifications/templates",
        )
    return good(what, f"{len(names)} modèles lus, alerte et essai rendus")


def test_mail_context(programme: Programme, now: dt.datetime) -> dict[str, object]:
    from notifications.wording import when

    return {
        "programme": programme.name,
        "organisation": programme.organisation,
        "now": when(now, programme),
    }


def check_libreoffice(timeout: float = 60.0) -> Check:
    what = "LibreOffice"
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    fix = "sudo apt-get install libreoffice-writer-nogui (scripts/install-system-packages.sh)"
    if soffice is None:
        return bad(what, "absent : les dossiers .doc et .odt ne seront pas lus", fix)
    try:
        done = subprocess.run(
            [soffice, "--version"], capture_output=True, timeout=timeout, check=False,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as e:
        return bad(what, f"{soffice} ne démarre pas ({type(e).__name__})", fix)
    version = " ".join(done.stdout.decode("utf-8", "replace").split()[:2])
    if done.returncode != 0 or not version:
        return bad(what, f"{soffice} ne démarre pas (code {done.returncode})", fix)
    return good(what, version)


def kernel_clock_synchronised() -> bool | None:
    """What the kernel says (``adjtimex``, as ``timedatectl`` reads it): True when an NTP
    client keeps the clock in sync, False when not, None when it cannot be asked."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        buffer = ctypes.create_string_buffer(1024)  # struct timex, modes = 0: read only
        state = libc.adjtimex(buffer)
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != 5  # TIME_ERROR: the clock is not synchronised


def check_clock(
    programme: Programme | None,
    now: dt.datetime,
    synchronised: Callable[[], bool | None] = kernel_clock_synchronised,
) -> list[Check]:
    state = synchronised()
    local = now.astimezone()
    clock = f"{now:%d/%m/%Y %H:%M:%S} UTC"
    if state is False:
        checks = [
            bad(
                "horloge",
                f"{clock}, non synchronisée (NTP) : l’heure de clôture en dépend",
                "sudo timedatectl set-ntp true (ou installer chrony)",
            )
        ]
    elif state is None:
        checks = [good("horloge", f"{clock} (synchronisation non vérifiable sur ce système)")]
    else:
        checks = [good("horloge", f"{clock}, synchronisée")]
    if programme is not None:
        try:
            zone = programme.zone
            here = now.astimezone(zone)
        except Exception as e:  # noqa: BLE001 - a zone missing from tzdata, whatever the error
            checks.append(
                bad(
                    "fuseau horaire",
                    f"« {programme.timezone} » inconnu ({type(e).__name__})",
                    "sudo apt-get install tzdata",
                )
            )
        else:
            offset = here.strftime("%z")
            checks.append(
                good(
                    "fuseau horaire",
                    f"{programme.timezone} : il y est {here:%H:%M} (UTC{offset[:3]}:{offset[3:]}) ; "
                    f"la machine : {local.tzname()}",
                )
            )
    return checks


def failing(checks: Sequence[Check]) -> list[Check]:
    return [c for c in checks if not c.ok]
