"""``guichet web``: the coordinators' desk, a small Starlette application.

Pages (French, no JavaScript needed): the login, the list of applications, one
application with its forms (correct a field or a file's kind, give a status, withdraw,
decide), its files, and the worker's health. Security, for the applicants' personal data:

- accounts with Argon2 hashes (``triage.users``); logins limited per address and per
  client (``LoginLimiter``);
- the session in a signed cookie (HttpOnly, SameSite=Strict, Secure behind HTTPS) that
  carries the account's ``session_token``: a logout changes it, ending every session;
- a CSRF token (per session) in every form, checked on every POST;
- files served only through the store's rows (``desk.files``), as downloads
  (``application/octet-stream``, ``nosniff``), each download an event;
- a strict Content-Security-Policy, no caching of pages.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from config.programme import Programme
from desk import dossier as views
from desk.files import ServedFile, attachment_file, dossier_file, mail_file
from desk.health import worker_health
from desk.settings import DeskSettings
from guichet.errors import InputError
from ingest.intake import log_event
from notifications.digest.render import french_spacing
from notifications.wording import decision_label, short_when, status_label, when
from triage.decisions import DECISIONS, display_structure
from triage.messages import mark_read
from triage.models import Application, Attachment, DeskUser, Message
from triage.review import (
    annex_choices,
    correct_annex,
    correct_field,
    decide,
    note_view,
    set_status,
)
from triage.store import Store
from triage.users import end_sessions, verify

HERE = Path(__file__).resolve().parent
COOKIE = "guichet_bureau"
SESSION_AGE = 12 * 3600  # seconds: a working day
LOGIN_WINDOW = 15 * 60  # seconds
LOGIN_TRIES = 5  # failures per address, and per client, within the window
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


class LoginLimiter:
    """Failed logins per key (an address, a client) in a sliding window, in memory: one
    desk process serves the coordinators."""

    def __init__(self, tries: int = LOGIN_TRIES, window: float = LOGIN_WINDOW) -> None:
        self.tries, self.window = tries, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str, now: float) -> deque[float]:
        found = self._failures[key]
        while found and now - found[0] > self.window:
            found.popleft()
        return found

    def blocked(self, keys: list[str], now: float) -> bool:
        return any(len(self._recent(k, now)) >= self.tries for k in keys)

    def failed(self, keys: list[str], now: float) -> None:
        for key in keys:
            self._recent(key, now).append(now)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["status"] = status_label
    env.filters["decision"] = decision_label
    env.filters["size"] = file_size
    return env


def file_size(size: int) -> str:
    """« 812 octets », « 51 Ko », « 2,4 Mo »."""
    if size < 1024:
        return f"{size} octets"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} Ko"
    return f"{size / 1024 / 1024:.1f} Mo".replace(".", ",")


@dataclass
class Desk:
    store: Store
    programme: Programme
    settings: DeskSettings
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    env: jinja2.Environment = field(default_factory=_environment)

    # --- rendering -----------------------------------------------------------------------

    def page(
        self, request: Request, name: str, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        session = request.session
        flash = session.pop("flash", None)
        html = self.env.get_template(name).render(
            request=request,
            programme=self.programme,
            user=context.pop("user", None),
            csrf=csrf_token(request),
            flash=flash,
            when=lambda m: short_when(m, self.programme),
            long_when=lambda m: when(m, self.programme),
            **context,
        )
        return HTMLResponse(french_spacing(html), status_code)

    def refuse(self, request: Request, status_code: int, message: str) -> HTMLResponse:
        return self.page(request, "erreur.html.j2", status_code, message=message, title="Refusé")

    def refuse_form(self, request: Request) -> HTMLResponse:
        """A form posted without its CSRF token, or with a stale one."""
        return self.refuse(request, 403, "Jeton de sécurité manquant ou périmé : rechargez la page.")

    # --- who is there ---------------------------------------------------------------------

    def user(self, request: Request, session: Any) -> DeskUser | None:
        uid, token = request.session.get("uid"), request.session.get("token")
        if not isinstance(uid, int) or not isinstance(token, str):
            return None
        user = session.get(DeskUser, uid)
        if user is None or not hmac.compare_digest(user.session_token, token):
            return None
        return user


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def _form(request: Request) -> dict[str, str] | None:
    """The posted form when its CSRF token is the session's, else None."""
    form = await request.form()
    sent = form.get("csrf")
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not isinstance(expected, str):
        return None
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        return None
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _download(served: ServedFile) -> Response:
    name = served.filename.replace("\r", " ").replace("\n", " ")
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    return Response(
        served.data,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(name)}",
        },
    )


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((text or "").strip()) if text else None
    except ValueError:
        return None


def create_app(desk: Desk) -> Starlette:
    """The ASGI application of ``desk``."""
    programme = desk.programme
    sessions = desk.store.sessions

    def login_required(request: Request) -> Response:
        if request.method == "GET":
            # back to this page after the login (a link from the spreadsheet): a path of
            # ours only, never another site
            request.session["suite"] = request.url.path + (
                f"?{request.url.query}" if request.url.query else ""
            )
            return RedirectResponse("/connexion", 303)
        return desk.refuse(request, 403, "Session expirée : reconnectez-vous.")

    async def login_page(request: Request) -> Response:
        return desk.page(request, "connexion.html.j2", title="Connexion", email="", error=None)

    async def login(request: Request) -> Response:
        form = await _form(request)
        if form is None:
            return desk.refuse_form(request)
        email = (form.get("email") or "").strip().lower()
        client = request.client.host if request.client else "?"
        keys = [f"adresse:{email}", f"client:{client}"]
        moment = time.monotonic()
        if desk.limiter.blocked(keys, moment):
            return desk.page(
                request, "connexion.html.j2", 429, title="Connexion", email=email,
                error="Trop de tentatives : réessayez dans 15 minutes.",
            )  # fmt: skip
        with sessions.begin() as session:
            user = verify(session, email, form.get("password") or "", desk.clock())
            if user is None:
                desk.limiter.failed(keys, moment)
                return desk.page(
                    request, "connexion.html.j2", 401, title="Connexion", email=email,
                    error="Adresse ou mot de passe incorrect.",
                )  # fmt: skip
            desk.limiter.forget(f"adresse:{email}")
            log_event(
                session,
                desk.clock(),
                "connexion",
                f"{user.email} : connexion au bureau.",
                by=user.email,
            )
            after = request.session.get("suite")
            request.session.clear()
            request.session.update(
                uid=user.id, token=user.session_token, csrf=secrets.token_urlsafe(32)
            )
        return RedirectResponse(_own_path(after), 303)

    async def logout(request: Request) -> Response:
        form = await _form(request)
        if form is None:
            return desk.refuse_form(request)
        with sessions.begin() as session:
            user = desk.user(request, session)
            if user is not None:
                end_sessions(user)
                log_event(
                    session,
                    desk.clock(),
                    "deconnexion",
                    f"{user.email} : déconnexion.",
                    by=user.email,
                )
        request.session.clear()
        return RedirectResponse("/connexion", 303)

    async def index(request: Request) -> Response:
        p = request.query_params
        query = views.Query(
            status=p.get("statut") or None,
            to_check=p.get("a_verifier") == "1",
            messages=p.get("messages") == "1",
            missing=p.get("manque") or None,
            decision=p.get("decision") or None,
            received_from=_date(p.get("du")),
            received_to=_date(p.get("au")),
            search=(p.get("q") or "").strip() or None,
            sort=p.get("tri") if p.get("tri") in views.SORTS else "recu",
            descending=p.get("ordre") == "desc",
        )
        with sessions.begin() as session:
            user = desk.user(request, session)
            if user is None:
                return login_required(request)
            everything = views.all_rows(session, programme)
            rows = views.select_rows(everything, query, programme)
            return desk.page(
                request, "liste.html.j2", title="Candidatures", user=user, rows=rows,
                counts=views.counts(everything), shown=len(rows), query=query,
                statuses=views.STATUSES, decisions=DECISIONS, no_decision=views.NO_DECISION,
                missing_choices=views.missing_choices(programme, everything),
                sort_link=lambda key: _sort_link(request, key, query),
                filtered=bool(request.query_params),
            )  # fmt: skip

    def _signed_in(session: Any, request: Request, missing: str) -> tuple[DeskUser, Application] | Response:
        """The signed-in coordinator and the programme's application the address names,
        or the page that says why not: the login page, or ``missing`` (404)."""
        user = desk.user(request, session)
        if user is None:
            return login_required(request)
        app = session.get(Application, request.path_params["id"])
        if app is None or app.programme_id != programme.id:
            return desk.refuse(request, 404, missing)
        return user, app

    async def show(request: Request) -> Response:
        with sessions.begin() as session:
            found = _signed_in(session, request, "Candidature introuvable.")
            if isinstance(found, Response):
                return found
            user, app = found
            view = views.application_view(session, programme, app)
            note_view(session, app, user.email, desk.clock(), "fiche consultée sur le bureau")
            return desk.page(
                request, "candidature.html.j2", title=view.row.structure, user=user, view=view,
                annex_choices=annex_choices(programme), statuses=views.STATUSES,
                decisions=DECISIONS,
            )  # fmt: skip

    def _serve(request: Request, what: str, find: Callable[[Any, Application], Any]) -> Response:
        with sessions.begin() as session:
            found = _signed_in(session, request, "Fichier introuvable.")
            if isinstance(found, Response):
                return found
            user, app = found
            served = find(session, app)
            if served is None:
                return desk.refuse(request, 404, "Fichier introuvable.")
            note_view(
                session, app, user.email, desk.clock(), f"{what} « {served.filename} » téléchargé"
            )
            return _download(served)

    async def download_file(request: Request) -> Response:
        def find(session: Any, app: Application) -> ServedFile | None:
            attachment = session.get(Attachment, request.path_params["file"])
            if attachment is None or attachment.message.application_id != app.id:
                return None
            return attachment_file(desk.store.archive, attachment)

        return _serve(request, "fichier", find)

    async def download_dossier(request: Request) -> Response:
        def find(session: Any, app: Application) -> ServedFile | None:
            version = app.current_version
            return dossier_file(desk.store.archive, version.message) if version else None

        return _serve(request, "dossier", find)

    async def download_mail(request: Request) -> Response:
        def find(session: Any, app: Application) -> ServedFile | None:
            message = session.get(Message, request.path_params["mail"])
            if message is None or message.application_id != app.id:
                return None
            return mail_file(desk.store.archive, message)

        return _serve(request, "courriel", find)

    def _change(action: Callable[[Any, Application, dict[str, str], DeskUser], str]) -> Callable:
        async def endpoint(request: Request) -> Response:
            form = await _form(request)
            if form is None:
                return desk.refuse_form(request)
            with sessions.begin() as session:
                found = _signed_in(session, request, "Candidature introuvable.")
                if isinstance(found, Response):
                    return found
                user, app = found
                try:
                    with session.begin_nested():  # a refused change leaves nothing behind
                        message = action(session, app, form, user)
                except InputError as e:
                    message = f"Rien n’a changé : {e.message}."
                request.session["flash"] = message
            return RedirectResponse(f"/candidatures/{request.path_params['id']}", 303)

        return endpoint

    def field_action(session: Any, app: Application, form: dict[str, str], user: DeskUser) -> str:
        outcome = correct_field(
            session, desk.store.archive, programme, app, form.get("champ", ""),
            form.get("valeur"), user.email, desk.clock(), form.get("raison"),
        )  # fmt: skip
        return _said(outcome, "Champ corrigé")

    def annex_action(session: Any, app: Application, form: dict[str, str], user: DeskUser) -> str:
        try:
            file_id = int(form.get("piece", ""))
        except ValueError:
            raise InputError("pièce inconnue pour cette candidature") from None
        outcome = correct_annex(
            session, desk.store.archive, programme, app, file_id, form.get("type", ""),
            user.email, desk.clock(), form.get("raison"),
        )  # fmt: skip
        return _said(outcome, "Pièce reclassée")

    def status_action(session: Any, app: Application, form: dict[str, str], user: DeskUser) -> str:
        status = form.get("statut") or None
        outcome = set_status(
            session, desk.store.archive, programme, app, status, form.get("raison"),
            user.email, desk.clock(),
        )  # fmt: skip
        if not outcome.changed:
            return "Rien n’a changé : c’était déjà le statut."
        if status is None:
            return f"Statut rendu au calcul : {status_label(outcome.status_after)}."
        return f"Statut : {status_label(outcome.status_after)}."

    def message_action(session: Any, app: Application, form: dict[str, str], user: DeskUser) -> str:
        try:
            message_id = int(form.get("message", ""))
        except ValueError:
            raise InputError("message inconnu pour cette candidature") from None
        message = session.get(Message, message_id)
        if message is None or message.application_id != app.id:
            raise InputError("message inconnu pour cette candidature")
        if not mark_read(session, programme.id, message_id, desk.clock(), by=user.email):
            return "Rien n’a changé : ce message était déjà traité."
        return "Message marqué comme traité."

    def decision_action(
        session: Any, app: Application, form: dict[str, str], user: DeskUser
    ) -> str:
        decision = form.get("decision", "")
        if not decide(session, app, decision, form.get("note"), user.email, desk.clock()):
            return "Rien n’a changé : cette décision et cette note sont déjà enregistrées."
        return f"Décision enregistrée : {decision_label(decision)}."

    async def health(request: Request) -> Response:
        with sessions.begin() as session:
            user = desk.user(request, session)
            if user is None:
                return login_required(request)
            found = worker_health(session, programme, desk.clock())
            return desk.page(
                request, "etat.html.j2", title="État du worker", user=user, health=found
            )

    async def security_headers(request: Request, call_next: Callable) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    from starlette.middleware.base import BaseHTTPMiddleware

    routes = [
        Route("/", index),
        Route("/connexion", login_page, methods=["GET"]),
        Route("/connexion", login, methods=["POST"]),
        Route("/deconnexion", logout, methods=["POST"]),
        Route("/etat", health),
        Route("/candidatures/{id:int}", show),
        Route("/candidatures/{id:int}/dossier", download_dossier),
        Route("/candidatures/{id:int}/fichiers/{file:int}", download_file),
        Route("/candidatures/{id:int}/courriels/{mail:int}", download_mail),
        Route("/candidatures/{id:int}/champ", _change(field_action), methods=["POST"]),
        Route("/candidatures/{id:int}/piece", _change(annex_action), methods=["POST"]),
        Route("/candidatures/{id:int}/statut", _change(status_action), methods=["POST"]),
        Route("/candidatures/{id:int}/decision", _change(decision_action), methods=["POST"]),
        Route("/candidatures/{id:int}/message", _change(message_action), methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [
        Middleware(BaseHTTPMiddleware, dispatch=security_headers),
        Middleware(
            SessionMiddleware,
            secret_key=desk.settings.secret,
            session_cookie=COOKIE,
            max_age=SESSION_AGE,
            same_site="strict",
            https_only=desk.settings.secure_cookies,
        ),
    ]
    return Starlette(routes=routes, middleware=middleware)


def _said(outcome: Any, done: str) -> str:
    if not outcome.changed:
        return "Rien n’a changé : c’était déjà la valeur enregistrée."
    text = f"{done}."
    if outcome.status_before != outcome.status_after:
        text += f" Statut : {status_label(outcome.status_before)} → {status_label(outcome.status_after)}."
    if outcome.mail is not None:
        text += f" Courriel au candidat préparé : « {outcome.mail.subject} »."
    return text


def _own_path(path: object) -> str:
    """``path`` when it is a path of this site (``/candidatures/4``), else the list."""
    if isinstance(path, str) and path.startswith("/") and not path.startswith(("//", "/\\")):
        return path
    return "/"


def _sort_link(request: Request, key: str, query: views.Query) -> str:
    params = dict(request.query_params)
    descending = query.sort == key and not query.descending
    params.update(tri=key, ordre="desc" if descending else "asc")
    return "/?" + urlencode(params)


__all__ = ["Desk", "LoginLimiter", "create_app", "display_structure"]
