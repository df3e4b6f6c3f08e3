"""The new part of a reply: the text a person wrote, without the mail they answer. Pure.

A reply carries the history below its new text, introduced by the line its mail client
writes: « Le jeu. 3 sept. 2026 à 09:02, X <x@…> a écrit : » (French), « On …, X
wrote: » (English), « Op … schreef X: » or « Op … heeft X het volgende geschreven: » (Dutch),
« Am … schrieb X: » (German), possibly folded over up to three lines; or an Outlook block
(« De : … » then « Envoyé : … » / « From: » then « Sent: » / « Van: » then « Verzonden: »);
or a separator (« -----Message d'origine----- », « ---------- Forwarded message --------- »,
« Début du message réexpédié : »). Everything from the first of these is cut. Lines
quoted with « > » are dropped wherever they are (an answer written between quoted lines
is kept), and so are the « Envoyé de mon iPhone » lines of mobile clients.

No library was kept for this: ``mail-parser-reply`` (the best kept one) misses the Dutch
« Op … schreef … : » header and a French header folded over two lines, and then keeps
the quoted lines too.
"""

from __future__ import annotations

import re

WINDOW = 3  # lines an attribution header may be folded over
MAX_HEADER = 400  # characters of an attribution header

_ATTRIBUTION = re.compile(
    r"(?:le|on|op|am)\b.{0,%d}?" % MAX_HEADER
    + r"(?:a\s+écrit|wrote|schreef.{0,200}?|het\s+volgende\s+geschreven|schrieb.{0,200}?)"
    r"\s*:",
    re.IGNORECASE | re.DOTALL,
)
_END = re.compile(
    r"(?:a\s+écrit|wrote|schreef\b.{0,200}?|het\s+volgende\s+geschreven|schrieb\b.{0,200}?)"
    r"\s*:\s*$",
    re.IGNORECASE,
)
_FROM = re.compile(r"^\s*\*?(?:de|from|van|von|expéditeur)\s*\*?\s*:\s*\S", re.IGNORECASE)
_SENT = re.compile(
    r"^\s*\*?(?:envoyé|date|sent|verzonden|verstuurd|gesendet|datum)\s*\*?\s*:", re.IGNORECASE
)
_OUTLOOK_BLOCK = 6  # lines after « De : » where « Envoyé : » may stand
_SEPARATOR = re.compile(
    r"^\s*(?:-{2,}\s*(?:original message|message d['’]origine|oorspronkelijk bericht|"
    r"ursprüngliche nachricht|forwarded message|message transféré|doorgestuurd bericht)"
    r"\s*-{2,}|(?:begin forwarded message|début du message réexpédié|"
    r"begin doorgestuurd bericht)\s*:)\s*$",
    re.IGNORECASE,
)
_MOBILE = re.compile(
    r"^\s*(?:envoyé\s+(?:de|depuis)\s+mon|sent\s+from\s+my|verzonden\s+(?:vanaf|met)\s+mijn|"
    r"verstuurd\s+(?:vanaf|met)\s+mijn|von\s+meinem)\s+\S.{0,60}$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*[_\-=*]{3,}\s*$")  # a line drawn above a quoted block


def quote_start(lines: list[str]) -> int | None:
    """The index of the line where the quoted history starts, or None.

    An attribution header is found by its end (« a écrit : », « wrote: »…), then read back
    over at most ``WINDOW`` lines without a blank one to where it starts (« Le », « On »,
    « Op », « Am »): the shortest such header, so that a sentence of the new text that
    starts like one is never taken in."""
    for j, line in enumerate(lines):
        if _SEPARATOR.match(line):
            return j
        if _FROM.match(line) and any(
            _SENT.match(after) for after in lines[j + 1 : j + 1 + _OUTLOOK_BLOCK]
        ):
            return j
        if not (_END.search(line) or line.rstrip().endswith(":")):
            # « Op … schreef COOPCITY » folded before « <info@…>: » ends with a colon only
            continue
        for i in range(j, max(j - WINDOW, -1), -1):
            if not lines[i].strip():
                break
            folded = " ".join(part.strip() for part in lines[i : j + 1])
            if len(folded) <= MAX_HEADER + 200 and _ATTRIBUTION.fullmatch(folded):
                return i
    return None


def new_text(body: str) -> str:
    """The text a reply's author wrote: ``body`` without the history it quotes."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = quote_start(lines)
    if start is not None:
        lines = lines[:start]
    kept = [line.rstrip() for line in lines if not line.lstrip().startswith(">")]
    kept = [line for line in kept if not _MOBILE.match(line)]
    while kept and (not kept[-1].strip() or _RULE.match(kept[-1])):
        kept.pop()
    text = "\n".join(kept).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def first_lines(text: str, limit: int = 300) -> str:
    """The start of ``text`` on one line, cut on a word with « … », for a list."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:") + "…"
