"""Finding a form's printed labels in text that applicants have retyped.

Text is folded to a *key* (no case, no accents, letters and digits only, single
spaces, no leading bullet or numbering); a label found in the key can be traced back
to where its answer starts in what the applicant wrote. Similarity is rapidfuzz's ratio on keys, with a stricter
bar for short labels (a bare fuzzy score matched "Tel." to "Numéro d'entreprise").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

QUALIFIED_BASE = 80.0  # a label followed by extra words scores this plus its share of the text
QUALIFIED_MIN = 84.0
# Characters after which an answer may start on the label's own line.
SEPARATORS = ":?\t\n"
NUMBERING = re.compile(r"^\s*(?:[·•▪◦‣∙*>–—-]\s*)*(?:(?:\d{1,2}|[a-hA-H])\s*[.)]\s+)?(?:[·•▪◦‣∙*>–—-]\s*)*")


@dataclass(frozen=True, slots=True)
class Folded:
    """A text and its key."""

    text: str
    key: str

    def original_end(self, key_end: int) -> int:
        """Index in the text just after the source of the key's first ``key_end`` characters."""
        produced = 0
        pending_space = False
        for i in range(NUMBERING.match(self.text).end(), len(self.text)):
            for c in _fold_char(self.text[i]):
                if c == " ":
                    pending_space = produced > 0
                    continue
                produced += 2 if pending_space else 1
                pending_space = False
            if produced >= key_end:
                return i + 1
        return len(self.text)


@lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", char)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return "".join(c if c.isalnum() else " " for c in kept) or " "


class _FoldTable(dict):
    """A str.translate table that folds each character the first time it is seen."""

    def __missing__(self, code: int) -> str:
        folded = _fold_char(chr(code))
        self[code] = folded
        return folded


_TABLE = _FoldTable()


def key_of(text: str) -> str:
    """The key of a text: lower case, no accents, letters and digits, single spaces,
    without a leading bullet or numbering."""
    return " ".join(text[NUMBERING.match(text).end():].translate(_TABLE).split())


def fold(text: str) -> Folded:
    return Folded(text, key_of(text))


def threshold(label_key: str) -> float:
    """The ratio a candidate needs to count as this label."""
    n = len(label_key)
    if n <= 6:
        return 100.0  # "nom", "genre", "le": only the exact word
    if n <= 14:
        return 92.0
    return 86.0


@dataclass(frozen=True, slots=True)
class LabelHit:
    label: int  # index of the label in the LabelIndex
    score: float
    split: int  # index in the original text where the answer part begins


@dataclass(frozen=True, slots=True)
class LabelEntry:
    key: str
    inline_free: bool = False  # may be followed by its answer without a colon ("Fait à X")
    trailing_value: bool = False  # may be followed by a score at the end of the line


class LabelIndex:
    """All label keys of a form, matched against a text in a few C-level passes."""

    def __init__(self, entries: list[LabelEntry], trailing: re.Pattern[str] | None = None) -> None:
        self.entries = entries
        self.keys = [e.key for e in entries]
        self.needs = [threshold(k) for k in self.keys]
        self.longest = max((len(k) for k in self.keys), default=0)
        self.trailing = trailing
        self.by_first_word: dict[str, list[int]] = {}
        for i, k in enumerate(self.keys):
            self.by_first_word.setdefault(k.split(" ", 1)[0], []).append(i)

    def hits(self, text: str, folded: Folded) -> dict[int, LabelHit]:
        """Best reading of ``text`` as each label it may start with.

        Candidates: the text up to each separator (":", "?", tab, line break, a full
        stop or closing parenthesis before a space), the
        whole text, the text before a trailing score, and, for labels written without
        a colon ("Fait à Bruxelles"), the text up to where the exact label ends.
        """
        key = folded.key
        best: dict[int, LabelHit] = {}
        if not key:
            return best
        limit = self.longest * 1.4 + 4
        candidates: list[tuple[str, int, str]] = []  # (key, split, "separator" | "whole" | "trailing")
        for i, char in enumerate(text):
            if char in SEPARATORS or (char in ".)" and text[i + 1 : i + 2].isspace()):
                prefix = key_of_prefix(folded, i)
                if len(prefix) > limit:
                    break
                candidates.append((prefix, i + 1, "separator"))
        if len(key) <= limit:
            candidates.append((key, len(text), "whole"))
        if self.trailing is not None:
            m = self.trailing.search(text)
            if m and m.start() > 0:
                candidates.append((key_of_prefix(folded, m.start()), m.start(), "trailing"))
        for cand, split, kind in candidates:
            if not cand:
                continue
            for _, score, i in process.extract(cand, self.keys, scorer=fuzz.ratio, score_cutoff=84, limit=None):
                entry = self.entries[i]
                if kind == "trailing" and not entry.trailing_value:
                    continue
                if score < self.needs[i] and cand != entry.key:
                    continue
                if abs(len(cand) - len(entry.key)) > max(len(entry.key) * 0.35, 3):
                    continue
                current = best.get(i)
                # equal scores: the longer prefix after a separator ("Tél. professionnel :")
                better = score > current.score if current else True
                if better or (kind == "separator" and score == current.score and split > current.split):
                    best[i] = LabelHit(i, float(score), split)
            if kind != "trailing":
                self._qualified(cand, split, best)
        for i in self._prefixes(key):
            entry = self.entries[i]
            if entry.inline_free:
                end = folded.original_end(len(entry.key))
                current = best.get(i)
                if current is None or current.score < 100 or current.split < end:
                    best[i] = LabelHit(i, 100.0, end)
        return best

    def _qualified(self, cand: str, split: int, best: dict[int, LabelHit]) -> None:
        """A label followed by a qualifier ("Forme juridique de l'entreprise", "Genre (F/M/X)").

        Scored by how much of the text the label covers, so that a short label
        ("Nom") never stands for a long heading ("Nom de votre entreprise").
        """
        for i in self._prefixes(cand):
            label = self.keys[i]
            if len(label) < 5 or len(label) == len(cand):
                continue
            score = QUALIFIED_BASE + (100 - QUALIFIED_BASE) * len(label) / len(cand)
            current = best.get(i)
            if score >= QUALIFIED_MIN and (current is None or score > current.score):
                best[i] = LabelHit(i, score, split)

    def _prefixes(self, key: str) -> list[int]:
        """Labels that the key starts with exactly, at a word boundary."""
        found = []
        for i in self.by_first_word.get(key.split(" ", 1)[0], ()):
            k = self.keys[i]
            if key.startswith(k) and (len(key) == len(k) or key[len(k)] == " "):
                found.append(i)
        return found

    def wrapped_starts(self, key: str) -> list[int]:
        """Labels this text may be the first line of (a label wrapped onto more lines)."""
        n = len(key)
        if n < 10:
            return []
        longer = [i for i, k in enumerate(self.keys) if len(k) > n + 2]
        if not longer:
            return []
        heads = [self.keys[i][:n] for i in longer]
        return [longer[j] for _, _, j in process.extract(key, heads, scorer=fuzz.ratio, score_cutoff=90, limit=None)]


def key_of_prefix(folded: Folded, end: int) -> str:
    """Key of the text's first ``end`` characters."""
    return key_of(folded.text[:end])
