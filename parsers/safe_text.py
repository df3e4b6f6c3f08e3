"""Text from outside (file names, header values) made harmless to show, store or send.

Applicants' mails and archives can carry characters that change how a text is shown
rather than what it says: a right-to-left override makes ``statuts\\u202efdp.exe`` show
as « statutsexe.pdf »; zero-width and other format characters hide inside words; control
characters and line or paragraph separators break lines where none should be.
``visible`` removes them all: control characters (C0 and C1) and line or paragraph
separators become a space, format characters (Unicode category Cf: bidirectional
controls, zero-width characters, soft hyphens, tags…), lone surrogates and unassigned
code points are dropped.
"""

from __future__ import annotations

import unicodedata

_AS_SPACE = frozenset({"Cc", "Zl", "Zp"})  # controls, U+2028, U+2029
_DROPPED = frozenset({"Cf", "Cs", "Cn"})  # format, lone surrogates, unassigned

MAX_FILENAME = 180  # characters; longer names are cut, their extension kept
_MAX_EXTENSION = 10


def visible(text: str) -> str:
    """``text`` without control, separator or format characters (see the module)."""
    if text.isascii() and text.isprintable():
        return text
    out: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if category in _AS_SPACE:
            out.append(" ")
        elif category not in _DROPPED:
            out.append(char)
    return "".join(out)


def clean_filename(name: str | None) -> str:
    """A file name fit to show and store: visible characters only, no folder, blanks
    collapsed, at most ``MAX_FILENAME`` characters (the extension kept); "" if nothing is
    left."""
    text = visible(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = " ".join(text.split()).strip('"').strip()
    if len(text) <= MAX_FILENAME:
        return text
    stem, dot, ext = text.rpartition(".")
    if dot and stem and len(ext) <= _MAX_EXTENSION:
        return text[: MAX_FILENAME - len(ext) - 1].rstrip() + "." + ext
    return text[:MAX_FILENAME].rstrip()
