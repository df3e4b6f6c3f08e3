"""Closed questions: oui/non, and one choice among listed options, written, kept or ticked."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz

from parsers.normalise.text import (
    Normalised,
    _answer,
    _compact,
    _fold,
    _quoted,
    _words,
    clean_text,
)

# --- ticked boxes (yes/no and choices) --------------------------------------------------------

_TICKED_BOXES = "☒☑■⊠"
_TICKS = "✓✔✅✗✘"
_EMPTY_BOXES = "☐□❑"
_BOXES = _TICKED_BOXES + _EMPTY_BOXES
_BRACKETED_TICK = re.compile(r"[\[(]\s*[xX✓✔]\s*[\])]")
_BRACKETED_EMPTY = re.compile(r"\[\s*\]|\(\s+\)")
_LONE_X = r"(?<!\w)[xX](?!\w)"
_MARK = re.compile(rf"[{_BOXES}{_TICKS}]|{_LONE_X}")


def _with_boxes(text: str) -> str:
    """``[x]`` and ``[ ]`` written as the boxes Word prints."""
    return _BRACKETED_EMPTY.sub("☐", _BRACKETED_TICK.sub("☒", text))


def _is_template(text: str, template: str | None) -> bool:
    """The answer as the blank form prints it, whatever the separators, with no box or tick."""
    return (
        template is not None
        and _compact(text) == _compact(template)
        and not _MARK.search(_with_boxes(text))
    )


def _boxes_follow_labels(text: str) -> bool:
    """``oui ☒ non ☐``: the box after its label (the usual layout is the box before)."""
    stripped = text.strip()
    return bool(stripped) and stripped[-1] in _BOXES and stripped[0] not in _BOXES


# --- yes/no -----------------------------------------------------------------------------------

_YES = frozenset({"oui", "yes", "ja"})
_NO = frozenset({"non", "no", "nee", "neen"})
_TICK_TOKENS = frozenset(_TICKED_BOXES + _TICKS + "xX")
_TOKEN = re.compile(rf"[{_BOXES}{_TICKS}]|\w+")
_BETWEEN_OPTIONS = re.compile(r"[/|–—,;\n-]")
_DETAIL_LEAD = re.compile(r"^[\s,;:–—./-]+")
_ENCLOSED = re.compile(r"\((?P<inner>.*)\)\.?", re.DOTALL)

_TokenKind = Literal["yes", "no", "ticked", "empty", "word"]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _TokenKind
    start: int
    end: int

    @property
    def is_answer(self) -> bool:
        return self.kind in ("yes", "no")


def _token_kind(written: str) -> _TokenKind:
    if written in _TICK_TOKENS:
        return "ticked"
    if written in _EMPTY_BOXES:
        return "empty"
    folded = _fold(written)
    return "yes" if folded in _YES else "no" if folded in _NO else "word"


def _tokens(text: str) -> list[_Token]:
    return [_Token(_token_kind(m[0]), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _is_balanced(text: str) -> bool:
    depth = 0
    for c in text:
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


def _detail(rest: str) -> str | None:
    """What follows the oui/non, without the separating punctuation or enclosing parentheses."""
    detail = _DETAIL_LEAD.sub("", rest).strip()
    enclosed = _ENCLOSED.fullmatch(detail)
    if enclosed and _is_balanced(enclosed["inner"]):
        detail = enclosed["inner"].strip()
    if not any(c.isalnum() for c in detail):
        return None
    value = clean_text(detail).value
    return value if isinstance(value, str) else None


def _ticked_answer(text: str, tokens: list[_Token], i: int, boxes_after: bool) -> _Token | None:
    """The oui or non a tick mark belongs to: its neighbour, on the side without a separator."""
    mark = tokens[i]
    before = tokens[i - 1] if i > 0 and tokens[i - 1].is_answer else None
    after = tokens[i + 1] if i + 1 < len(tokens) and tokens[i + 1].is_answer else None
    if before is None or after is None:
        return before or after
    split_before = bool(_BETWEEN_OPTIONS.search(text[before.end : mark.start]))
    split_after = bool(_BETWEEN_OPTIONS.search(text[mark.end : after.start]))
    if split_before != split_after:
        return after if split_before else before
    if text[mark.start] in _TICKED_BOXES:
        return before if boxes_after else after
    return None


def _read_ticked(text: str, tokens: list[_Token]) -> Normalised:
    boxes_after = _boxes_follow_labels(text)
    chosen = {
        answer.kind
        for i, token in enumerate(tokens)
        if token.kind == "ticked" and (answer := _ticked_answer(text, tokens, i, boxes_after))
    }
    if len(chosen) != 1:
        return Normalised(None, f"Réponse oui/non ambiguë : {_quoted(text)}.")
    last = max(t.end for t in tokens if t.is_answer or t.kind in ("ticked", "empty"))
    return Normalised(chosen == {"yes"}, detail=_detail(text[last:]))


def _without_template_prefix(text: str) -> str:
    """``oui/non : oui`` -> ``oui``: the printed options kept, the answer written after them."""
    tokens = _tokens(text)
    if (
        len(tokens) >= 3
        and {tokens[0].kind, tokens[1].kind} == {"yes", "no"}
        and ":" in text[tokens[1].end : tokens[2].start]
    ):
        return text[tokens[1].end :].lstrip(" :")
    return text


def _read_yes_no(text: str) -> Normalised:
    tokens = _tokens(text)
    words = [t for t in tokens if t.kind != "empty"]
    if len(words) == 2 and {t.kind for t in words} == {"yes", "no"}:
        return Normalised(None)  # the form's "oui/non" left as printed
    text = _without_template_prefix(text)
    tokens = _tokens(text)
    if any(t.kind == "ticked" for t in tokens):
        return _read_ticked(text, tokens)
    answers = [t for t in tokens if t.is_answer]
    if not answers:
        return Normalised(None, f"Ni oui ni non dans la réponse {_quoted(text)}.")
    words = [t for t in tokens if t.kind != "empty"]
    lead = words[0]
    if not lead.is_answer:
        if len(answers) == 1 and text[: answers[0].start].rstrip().endswith(":"):
            lead = answers[0]  # "Réponse : oui"
        else:
            return Normalised(None, f"Réponse oui/non illisible : {_quoted(text)}.")
    following = words[words.index(lead) + 1] if lead is not words[-1] else None
    if following is not None and following.is_answer and following.kind != lead.kind:
        return Normalised(None, f"Oui et non laissés tous les deux : {_quoted(text)}.")
    return Normalised(lead.kind == "yes", detail=_detail(text[lead.end :]))


def parse_yes_no(text: str | None, template: str | None = None) -> Normalised:
    """True/False from oui/non (yes/no, ja/nee), ``detail`` holding what follows the answer."""
    answer = _answer(text)
    if answer is None or _is_template(answer, template):
        return Normalised(None)
    return _read_yes_no(_with_boxes(answer))


# --- choices among listed options -------------------------------------------------------------

_OPTION_SEPARATOR = re.compile(r"\n|\s*[–—/;|•▪◦·]\s*|\s+-\s+|^\s*[-*]\s+", re.MULTILINE)
# rapidfuzz ratio: "universitère" (88) still reads, "secondaire inférieur" is not supérieur (85)
_FUZZY_CUTOFF = 88
_FUZZY_MARGIN = 5
_FUZZY_MIN_LENGTH = 5
_AMBIGUOUS = object()

_OptionState = Literal["ticked", "empty", "plain"]


@dataclass(frozen=True, slots=True)
class _Option:
    label: str
    state: _OptionState


def _options_in(text: str) -> list[_Option]:
    """The options left in the answer, each with its box or tick mark if it has one."""
    boxed = _with_boxes(text)
    one_per_box = r"\1\n" if _boxes_follow_labels(boxed) else r"\n\1"
    boxed = re.sub(rf"([{_BOXES}])", one_per_box, boxed)
    options: list[_Option] = []
    for part in _OPTION_SEPARATOR.split(boxed):
        marks = _MARK.findall(part)
        label = _MARK.sub(" ", part).strip()
        ticked = any(m not in _EMPTY_BOXES for m in marks)
        state: _OptionState = "ticked" if ticked else "empty" if marks else "plain"
        if _words(label):
            options.append(_Option(label, state))
        elif ticked and options:  # "secondaire supérieur – X": the mark after its option
            options[-1] = _Option(options[-1].label, "ticked")
    return options


def _phrase_index(choices: Mapping[str, Iterable[str]]) -> list[tuple[tuple[str, ...], str]]:
    index = [(tuple(_words(p).split()), value) for value, ps in choices.items() for p in ps]
    return [(phrase, value) for phrase, value in index if phrase]


def _phrase_matches(
    words: list[str], index: list[tuple[tuple[str, ...], str]]
) -> list[tuple[int, int, str, float]]:
    """Where each phrase is written (exactly, or close enough): word span, value, score."""
    matches = []
    for phrase, value in index:
        written = " ".join(phrase)
        fuzzy = len(written) >= _FUZZY_MIN_LENGTH
        for i in range(len(words) - len(phrase) + 1):
            window = words[i : i + len(phrase)]
            score = 100.0 if tuple(window) == phrase else 0.0
            if fuzzy and not score:
                score = fuzz.ratio(" ".join(window), written)
            if score >= _FUZZY_CUTOFF:
                matches.append((i, i + len(phrase), value, score))
    return matches


def _option_value(label: str, index: list[tuple[tuple[str, ...], str]]) -> object:
    """The value an option means, from the phrases (or close spellings) it contains."""
    matches = _phrase_matches(_words(label).split(), index)
    best: dict[str, float] = {}
    for start, end, value, score in matches:
        # "secondaire" inside "secondaire inférieur" says nothing more
        inside_longer = any(s <= start and end <= e and e - s > end - start for s, e, *_ in matches)
        if not inside_longer and score > best.get(value, 0):
            best[value] = score
    ranked = sorted(best.items(), key=lambda item: item[1], reverse=True)
    if not ranked:
        return None
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < _FUZZY_MARGIN:
        return _AMBIGUOUS
    return ranked[0][0]


def parse_choice(
    text: str | None,
    choices: Mapping[str, Iterable[str]],
    template: str | None = None,
    *,
    label: str = "Niveau d’études",
) -> Normalised:
    """The value of the one option chosen: kept alone, ticked, or named by a synonym."""
    answer = _answer(text)
    if answer is None or _is_template(answer, template):
        return Normalised(None)
    index = _phrase_index(choices)
    readings = [
        (option.state, _option_value(option.label, index)) for option in _options_in(answer)
    ]
    ticked = {value for state, value in readings if state == "ticked"}
    left_unboxed = {value for state, value in readings if state == "plain"} - {None}
    listed = {value for _, value in readings}
    if ticked:
        values = ticked
    elif left_unboxed and any(state == "empty" for state, _ in readings):
        values = left_unboxed  # the others struck out with empty boxes
    elif set(choices) <= listed:
        return Normalised(None)  # every option left in place: the list as printed
    else:
        values = listed - {None}
    if len(values) == 1 and (value := values.pop()) is not _AMBIGUOUS:
        return Normalised(value)
    return Normalised(None, f"{label} illisible : {_quoted(answer)}.")
