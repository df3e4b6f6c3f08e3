"""Rendering the digest: subject, plain-text part and HTML part (Jinja2 templates in
``notifications/templates``), from ``DigestData`` alone."""

from __future__ import annotations

import re
import textwrap
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from config.programme import Programme
from notifications.compose import Rendered
from notifications.digest.model import (
    STRUCTURE_WIDTH,
    DigestData,
    period,
    plural,
)
from notifications.wording import day, one_line, short_when, when
from triage.verdict import COMPLET, HORS_DELAI, INCOMPLET

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_BADGES = {
    COMPLET: ("#14532d", "#dcfce7"),
    INCOMPLET: ("#7c2d12", "#ffedd5"),
    HORS_DELAI: ("#7f1d1d", "#fee2e2"),
    "en service": ("#14532d", "#dcfce7"),  # MailboxHealth.state
    "en erreur": ("#7f1d1d", "#fee2e2"),
}
_FRENCH_SPACES = (
    (re.compile(r"« "), "«\u00a0"),
    (re.compile(r" »"), "\u00a0»"),
    (re.compile(r" :(?=\s|$)", re.MULTILINE), "\u00a0:"),
    (re.compile(r" ([;!?])(?=\s|$)", re.MULTILINE), "\u202f\\1"),
)


def french_spacing(text: str) -> str:
    """No-break spaces inside « » and before : ; ! ? (French typography)."""
    for pattern, replacement in _FRENCH_SPACES:
        text = pattern.sub(replacement, text)
    return text


def _decimal(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}".replace(".", ",")


def _wrap(text: str, first: str = "  ", rest: str = "    ", width: int = 78) -> str:
    return textwrap.fill(
        one_line(text, 2000) or "—",
        width=width,
        initial_indent=first,
        subsequent_indent=rest,
        break_on_hyphens=False,
    )


def _badge(status: str) -> str:
    colour, background = _BADGES.get(status, ("#374151", "#e5e7eb"))
    return (
        f"background:{background};color:{colour};border-radius:3px;padding:2px 6px;"
        "font-size:12px;font-weight:bold;white-space:nowrap"
    )


@cache
def environment() -> Environment:
    """The digest's Jinja2 environment: HTML templates escaped, undefined names fail."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        cut=lambda text, limit=STRUCTURE_WIDTH: one_line(text, limit) or "—",
        decimal=_decimal,
        wrap=_wrap,
        badge=_badge,
    )
    return env


def subject(data: DigestData, programme: Programme, *, final: bool = False) -> str:
    """« Guichet BLOSSOM 2026-2027 – point du lundi 7 septembre 2026 : 12 candidatures,
    5 complètes »; « … – clôture : … » for the closing digest."""
    moment = "clôture" if final else f"point du {day(data.now.astimezone(programme.zone).date())}"
    counts = data.counts
    return french_spacing(
        f"Guichet {programme.name} – {moment} : {plural(counts.total, 'candidature')}, "
        f"{plural(counts.complet, 'complète')}"
    )


def render_digest(
    data: DigestData,
    programme: Programme,
    *,
    final: bool = False,
    attachment: str | None = None,
) -> Rendered:
    """The digest as a mail: subject, plain text and HTML. ``attachment`` names the export
    joined to it, if any; ``final`` makes it the closing digest of the deadline day."""
    title = subject(data, programme, final=final)
    context = {
        "data": data,
        "programme": programme,
        "final": final,
        "attachment": attachment,
        "title": title,
        "when": lambda moment: when(moment, programme),
        "short_when": lambda moment: short_when(moment, programme),
        "day": day,
        "period": period,
        "plural": plural,
        "deadline": programme.deadline_at,
    }
    env = environment()
    text = env.get_template("digest.txt.j2").render(context)
    html = env.get_template("digest.html.j2").render(context)
    return Rendered(subject=title, text=french_spacing(text), html=french_spacing(html))
