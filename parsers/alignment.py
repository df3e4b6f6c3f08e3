"""Reading a filled form by aligning its words with the blank form's.

The blank form's text is the template. Both texts become sequences of folded words
(case, accents, punctuation and non-breaking spaces folded away) with a break token at
every paragraph, cell and line break; rapidfuzz aligns the two sequences (a longest
common subsequence, in C). Whatever the applicant added between a label's last word and
the next word of the form that is still there is that label's answer; what they deleted
of the form's own answer text (« oui/non », a list of options) tells how they answered.
Merged lines, missing separators, labels retyped without accents or colon, « Fait à X,
le DATE » on one line and moved answers all read without a rule for each.

A label whose words are gone is looked for as retyped between its neighbours: its
variants from the programme file, abbreviated (« Forme jur. ») or without « de »; labels
the form prints twice (the signature table) take their occurrences in reading order.

The label reader (``parsers.filling``) finds where each label stands in the blank form;
its readings of the filled document (variant labels the form does not print) also end
an answer here, so a retyped label never becomes part of the answer before it; so do
lines that are the form's headings (the programme's ``stops``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from rapidfuzz.distance import Indel

from parsers.filling import FillResult, LabelPlace, has_content
from parsers.labels import key_of
from parsers.normalise import is_placeholder

BREAK = "\n"  # the token standing for a paragraph, cell or line break
_WORD_OR_BREAK = re.compile(r"\w+|\n")
_LEADING = re.compile(r"^[\s:;=?.,)\]\u00a0\u202f·•▪–—-]+")
_TRAILING = re.compile(r"(?:[\s,;:(\[\u00a0\u202f·•▪–—-]|\s[/|])+$")  # not the « / » ending a URL


class Token(NamedTuple):
    key: str  # folded word, or BREAK
    block: int
    start: int  # offsets in the block's text
    end: int


_WORD_KEYS: dict[str, str] = {}


def _word_key(word: str) -> str:
    key = _WORD_KEYS.get(word)
    if key is None:
        key = "".join(key_of(word).split())
        if len(_WORD_KEYS) < 200_000:
            _WORD_KEYS[word] = key
    return key


def tokens_of(texts: Sequence[str]) -> list[Token]:
    """Folded words of every text, a BREAK after each text and at each line break in it."""
    tokens: list[Token] = []
    append = tokens.append
    known = _WORD_KEYS.get
    for b, text in enumerate(texts):
        for m in _WORD_OR_BREAK.finditer(text):
            word = m.group()
            start, end = m.span()
            if word == "\n":
                append(Token(BREAK, b, start, start))
            elif key := (known(word) or _word_key(word)):
                append(Token(key, b, start, end))
        append(Token(BREAK, b, len(text), len(text)))
    return tokens


@dataclass(frozen=True, slots=True)
class TemplateField:
    """A field's label and the form's own answer text (« oui/non », options), as ranges
    of template tokens."""

    key: str
    label: range
    answer: range


@dataclass
class Template:
    """The blank form's words and where each field's label stands among them."""

    tokens: list[Token]
    fields: dict[str, TemplateField]

    @classmethod
    def from_reading(cls, texts: Sequence[str], places: dict[str, LabelPlace]) -> Template:
        tokens = tokens_of(texts)
        fields = {}
        for key, place in places.items():
            label = [i for i, t in enumerate(tokens)
                     if t.key != BREAK and place.start <= t.block <= place.end
                     and (t.block < place.end or t.end <= place.split)]
            if not label:
                continue
            answer = [i for i, t in enumerate(tokens)
                      if t.key != BREAK and t.block == place.end and t.start >= place.split]
            first, last = label[0], label[-1] + 1
            fields[key] = TemplateField(key, range(first, last),
                                        range(last, answer[-1] + 1) if answer else range(last, last))
        return cls(tokens, fields)


@dataclass
class AlignedAnswer:
    """What the filled document holds where the blank form has one field."""

    found: bool  # enough of the label's words are there
    lines: list[str] = field(default_factory=list)  # the answer, one entry per paragraph or line
    block: int | None = None  # where the answer starts (a block of the reading order)
    template_kept: bool = False  # the form's own answer text left whole, nothing added
    label_block: int | None = None  # where the label ends


def label_needs(words: int) -> int:
    """How many of a label's words must be found: all of a short label, half of a long one."""
    return words if words <= 2 else max(2, math.ceil(words * 0.5))


class Aligner:
    """Aligns documents with one blank form; ``read`` is pure and reusable."""

    def __init__(self, template: Template, labels: dict[str, list[str]],
                 repeated: Sequence[tuple[Sequence[str], Sequence[str]]] = (), stops: Sequence[str] = ()) -> None:
        self.template = template
        self.sizes = block_sizes(template.tokens)
        # the form's headings and instructions, by first word: a line that is one of them
        # ends an answer
        self.stops: dict[str, list[list[str]]] = {}
        for stop in stops:
            words = key_of(stop).split()
            if words:
                self.stops.setdefault(words[0], []).append(words)
        # fields printed with the same label in a section read in any order (the signature
        # table's two « Nom, prénom »): the n-th such label found in the section is the
        # n-th field's; (the section's fields, the group)
        self.repeated = [(list(section), list(group)) for section, group in repeated
                         if all(k in template.fields for k in (*section, *group))]
        self.keys = [t.key for t in template.tokens]
        # each field's printed label and its variants, as word keys
        self.labels = {key: ["".join(key_of(text).split()) for text in texts] for key, texts in labels.items()}
        self.label_words = {key: [key_of(text).split() for text in texts] for key, texts in labels.items()}

    def _is_label(self, key: str, words: list[Token]) -> bool:
        """These words are one of the field's labels (not a label and its answer)."""
        written = "".join(t.key for t in words if t.key != BREAK)
        return written in self.labels.get(key, ())

    def read(self, texts: Sequence[str], labels: FillResult) -> dict[str, AlignedAnswer]:
        """Each field's answer in the document whose reading-order texts are ``texts``;
        ``labels`` is the label reader's filling of the same document."""
        tokens = tokens_of(texts)
        to_doc = align(self.template.tokens, tokens, self.sizes)
        # the document word of the nearest form word still there, after / before each place
        kept = [i in to_doc and k != BREAK for i, k in enumerate(self.keys)]
        next_kept: list[int | None] = [None] * (len(self.keys) + 1)
        for i in range(len(self.keys) - 1, -1, -1):
            next_kept[i] = to_doc[i] if kept[i] else next_kept[i + 1]
        last_kept: list[int] = [-1] * (len(self.keys) + 1)  # shifted by one: before position i
        for i, k in enumerate(self.keys):
            last_kept[i + 1] = to_doc[i] if kept[i] else last_kept[i]
        heads = self._heads(tokens, texts, to_doc, kept, next_kept, last_kept)
        # where other labels begin ends an answer: the label reader's (variants on their
        # own paragraph), every label found here, and the form's headings
        starts = sorted({_token_at(tokens, place.start) for place in labels.places.values()}
                        | {first for first, _ in heads.values()} | set(self._stop_lines(tokens, texts)))
        return {key: self._answer(spec, heads.get(key), tokens, texts, to_doc, next_kept, starts, labels)
                for key, spec in self.template.fields.items()}

    def _heads(self, tokens: list[Token], texts: Sequence[str], to_doc: dict[int, int], kept: list[bool],
               next_kept: list[int | None], last_kept: list[int]) -> dict[str, tuple[int, int]]:
        """Field -> the first and last document word of its label: the form's words still
        there, else a label or variant retyped between its neighbours."""
        heads: dict[str, tuple[int, int]] = {}
        claimed: set[int] = set()  # retyped labels already given to a field (« Qualité » twice)
        for key, spec in sorted(self.template.fields.items(), key=lambda item: item[1].label.start):
            found = [to_doc[i] for i in spec.label if kept[i]]
            if len(found) >= label_needs(len(found) + sum(1 for i in spec.label if not kept[i] and self.keys[i] != BREAK)):
                heads[key] = (min(found), max(found))
                continue
            window = (last_kept[spec.label.start], next_kept[spec.answer.stop])
            hit = self._retyped_label(key, tokens, texts, *window, claimed)
            if hit is not None:
                heads[key] = hit
                claimed.add(hit[0])
        for key, (first, last) in heads.items():
            # « Nom de famille = … »: the form's « Nom » found, the variant written in full
            longest = max((label_end(tokens, texts, first, words, len(tokens)) or -1
                           for words in self.label_words.get(key, ())), default=-1)
            if longest > last:
                heads[key] = (first, longest)
        for section, group in self.repeated:
            self._share_repeated(section, group, tokens, texts, heads, last_kept, next_kept)
        return heads

    def _share_repeated(self, section: list[str], group: list[str], tokens: list[Token], texts: Sequence[str],
                        heads: dict[str, tuple[int, int]], last_kept: list[int], next_kept: list[int | None]) -> None:
        """Fields sharing a printed label take its occurrences at line starts in reading
        order, when there are as many: the signature block retyped as paragraphs (« Nom,
        prénom », « Fonction », « Nom, prénom », « Fonction ») reads like its table."""
        specs = [self.template.fields[key] for key in section]
        low = last_kept[min(spec.label.start for spec in specs)]
        high = next_kept[max(spec.answer.stop for spec in specs)]
        high = len(tokens) if high is None else high
        found: list[tuple[int, int]] = []
        d = max(low + 1, 0)
        while d < high:
            hit = None
            if d == 0 or tokens[d - 1].key == BREAK:
                for words in self.label_words.get(group[0], ()):
                    last = label_end(tokens, texts, d, words, high)
                    if last is not None and (hit is None or last > hit[1]):
                        hit = (d, last)
            if hit is not None:
                found.append(hit)
                d = hit[1] + 1
            else:
                d += 1
        if len(found) == len(group):
            heads.update(zip(group, found))

    def _stop_lines(self, tokens: list[Token], texts: Sequence[str]) -> list[int]:
        """Lines that are a heading or instruction of the form (« Signature », « ETAPE 4 »);
        a short one must be the whole line; a line starting in lower case continues a
        sentence (« modèle économique. » wrapped in a PDF)."""
        found = []
        for d, token in enumerate(tokens):
            candidates = self.stops.get(token.key)
            if not candidates or (d and tokens[d - 1].key != BREAK):
                continue
            if texts[token.block][token.start : token.start + 1].islower():
                continue
            for words in candidates:
                end = d + len(words)
                if end <= len(tokens) and all(tokens[d + k].key == w for k, w in enumerate(words)):
                    if len(words) > 2 or end == len(tokens) or tokens[end].key == BREAK:
                        found.append(d)
                        break
        return found

    def _retyped_label(self, key: str, tokens: list[Token], texts: Sequence[str], low: int, high: int | None,
                       claimed: set[int]) -> tuple[int, int] | None:
        """The first of the field's labels or variants (« Date » for « Le ») starting a line,
        else inside a line, between two words of the form that are still there, and not
        given to another field."""
        high = len(tokens) if high is None else high
        for line_start in (True, False):
            hits = []
            for words in self.label_words.get(key, ()):
                for d in range(max(low + 1, 0), high):
                    if d in claimed or (line_start and d and tokens[d - 1].key != BREAK):
                        continue
                    last = label_end(tokens, texts, d, words, high)
                    # inside a line (« Genre : F Date naissance : … »), two words at least
                    if last is not None and (line_start or last > d):
                        hits.append((d, last))
                        break
            if hits:
                return min(hits, key=lambda hit: (hit[0], -hit[1]))
        return None

    def _answer(self, spec: TemplateField, head: tuple[int, int] | None, tokens: list[Token],
                texts: Sequence[str], to_doc: dict[int, int], next_kept: list[int | None],
                label_starts: list[int], labels: FillResult) -> AlignedAnswer:
        if head is None:
            return AlignedAnswer(found=False)
        first, last = head
        begin = last + 1
        place = labels.places.get(spec.key)
        if place is not None and place.start <= tokens[last].block <= place.end:
            # the label reader saw where this label ends (« Adresse du siège social : »)
            after = _first_token_from(tokens, place.end, place.split)
            colon = _after_separator(texts[place.end], place.split)
            exact = self._is_label(spec.key, tokens[_token_at(tokens, place.start):after])
            skipped = max(begin, _token_at(tokens, place.end))  # in the line where the label ends
            if after > begin and (exact or (colon and _few_plain_words(tokens, skipped, after))):
                begin = after
            elif (colon or exact) and place.start <= tokens[first].block and after <= last:
                # « Nombre d’ETP : 20 équivalents temps plein »: the form's last label words
                # were found in the answer, after the end of the label
                begin = after
        stop = next_kept[spec.answer.stop]
        end = len(tokens) if stop is None else stop
        end = min([end, *(s for s in label_starts if begin <= s < end)])
        label_block = tokens[last].block
        if end <= begin:
            return AlignedAnswer(found=True, block=label_block, label_block=label_block)
        kept = {to_doc[i] for i in spec.answer if i in to_doc}
        words = [d for d in range(begin, end) if tokens[d].key != BREAK]
        options = [self.keys[i] for i in spec.answer]
        n = len(options)
        if options and len(words) > n and len(kept) < n:
            # « Oui (SAW-B) : oui/non »: the printed options after the answer (or before it),
            # whichever of the two « oui » the alignment took
            if [tokens[d].key for d in words[-n:]] == options:
                kept = set(words[-n:])
            elif [tokens[d].key for d in words[:n]] == options:
                kept = set(words[:n])
        added = [d for d in words if d not in kept]
        whole = spec.answer and len(kept) == len(spec.answer)
        if whole and not added:
            lines = _text(tokens, texts, begin, end)
            if not any(unicodedata.category(c) == "So" for line in lines for c in line):
                return AlignedAnswer(found=True, block=tokens[begin].block, template_kept=True, label_block=label_block)
            # a box ticked among the printed options (« ☒ supérieur de type court »)
            return AlignedAnswer(True, lines, tokens[begin].block, label_block=label_block)
        if whole and max(kept) < min(added):  # the answer after the form's options left whole
            begin = max(kept) + 1
        elif whole and min(kept) > max(added):  # the answer before them
            end = min(kept)
        # otherwise options deleted or marked: what is left of them is the answer
        start = next((d for d in range(begin, end) if tokens[d].key != BREAK), begin)
        return AlignedAnswer(True, _text(tokens, texts, begin, end), tokens[start].block, label_block=label_block)


def align(template: list[Token], document: list[Token], sizes: dict[int, int] | None = None) -> dict[int, int]:
    """Template token index -> document token index, for the form's words still there.

    Pairs of words first: a pair the applicant wrote by chance in an answer (« d’
    administration ») is rarer than a word (« d »), so the pairs anchor the alignment;
    single words are then aligned between anchors only (« Fait à Ixelles, le 3 mai »:
    the lone « Le » of the form). Last, words of a long paragraph of the form found
    alone are dropped (its text was deleted; an answer shares its « de »).
    """
    t_keys = [t.key for t in template]
    d_keys = [t.key for t in document]
    pairs: dict[int, int] = {}
    last = -1
    for t, d in sorted(_matches(_bigrams(t_keys), _bigrams(d_keys)).items()):
        for k in (0, 1):
            if t + k not in pairs and d + k > last:
                pairs[t + k] = d + k
                last = d + k
    anchors = [(-1, -1), *sorted(pairs.items()), (len(t_keys), len(d_keys))]
    for (t1, d1), (t2, d2) in zip(anchors, anchors[1:]):
        if t2 - t1 > 1 and d2 - d1 > 1:
            for t, d in _matches(t_keys[t1 + 1 : t2], d_keys[d1 + 1 : d2]).items():
                pairs[t1 + 1 + t] = d1 + 1 + d
    _close_gaps(template, document, pairs)
    _keep_blocks_together(template, document, pairs)
    _drop_stray_words(template, document, pairs, sizes if sizes is not None else block_sizes(template))
    return pairs


def _close_gaps(template: list[Token], document: list[Token], to_doc: dict[int, int]) -> None:
    """Among equally long alignments, prefer the one where the words of a sentence of the
    form follow each other: a question ending « … en dehors des journées de formation ? »
    keeps its words, not those of an answer repeating them."""
    order = sorted(to_doc)
    for previous, t in zip(order, order[1:]):
        if template[previous].block != template[t].block:
            continue
        if any(template[i].key != BREAK for i in range(previous + 1, t)):
            continue
        d = to_doc[previous] + 1
        while d < to_doc[t] and document[d].key == BREAK:
            d += 1
        if d < to_doc[t] and document[d].key == template[t].key:
            to_doc[t] = d


def _bigrams(keys: list[str]) -> list[str]:
    return [f"{a} {b}" for a, b in zip(keys, keys[1:])]


def _matches(template: list[str], document: list[str]) -> dict[int, int]:
    """Index in ``template`` -> index in ``document`` of the items a longest common
    subsequence keeps."""
    pairs = {}
    for op in Indel.opcodes(template, document):
        if op.tag == "equal":
            for k in range(op.src_end - op.src_start):
                pairs[op.src_start + k] = op.dest_start + k
    return pairs


def _keep_blocks_together(template: list[Token], document: list[Token], to_doc: dict[int, int]) -> None:
    """Among equally long alignments, prefer the one that keeps each paragraph of the form
    in one paragraph of the document: the « d » of « D. Votre disponibilité » belongs to
    that heading, not to the « d’enthousiasme » that ends the answer before it."""
    order = sorted(to_doc)
    by_block: dict[int, list[int]] = {}
    for t in order:
        by_block.setdefault(template[t].block, []).append(t)
    position = {t: n for n, t in enumerate(order)}
    for members in by_block.values():
        if len(members) < 2:
            continue
        blocks = [document[to_doc[t]].block for t in members]
        main = max(set(blocks), key=blocks.count)
        for t, block in zip(members, blocks):
            if block == main:
                continue
            n = position[t]
            low = to_doc[order[n - 1]] if n > 0 else -1
            high = to_doc[order[n + 1]] if n + 1 < len(order) else len(document)
            for d in range(low + 1, high):
                if document[d].block == main and document[d].key == template[t].key:
                    to_doc[t] = d
                    break


def _drop_stray_words(template: list[Token], document: list[Token], to_doc: dict[int, int],
                      sizes: dict[int, int]) -> None:
    """Forget matches that are a word or two of a longer paragraph of the form, alone: the
    form's text was deleted there and an answer happens to share its « de » or « la »."""
    order = [t for t in sorted(to_doc) if template[t].key != BREAK]
    run: list[int] = []
    for n, t in enumerate(order + [None]):
        if run and t is not None and _follows(run[-1], t, template, document, to_doc):
            run.append(t)
            continue
        if run:
            size = sizes[template[run[0]].block]
            needed = 1 if size <= 2 else 2 if size <= 7 else 3
            if len(run) < needed:
                for r in run:
                    del to_doc[r]
        run = [t] if t is not None else []
    # the break after a paragraph of the form none of whose words is left is no anchor
    present = {template[t].block for t in to_doc if template[t].key != BREAK}
    for t in [t for t in to_doc if template[t].key == BREAK]:
        if template[t].block in sizes and template[t].block not in present:
            del to_doc[t]


def block_sizes(template: list[Token]) -> dict[int, int]:
    """Words per paragraph of the form."""
    sizes: dict[int, int] = {}
    for t in template:
        if t.key != BREAK:
            sizes[t.block] = sizes.get(t.block, 0) + 1
    return sizes


def _follows(a: int, b: int, template: list[Token], document: list[Token], to_doc: dict[int, int]) -> bool:
    """Template words a then b are next to each other on both sides (breaks aside)."""
    if template[a].block != template[b].block:
        return False
    if b == a + 1 and to_doc[b] == to_doc[a] + 1:
        return True
    return _only_breaks(template, a + 1, b) and _only_breaks(document, to_doc[a] + 1, to_doc[b])


def _only_breaks(tokens: list[Token], start: int, stop: int) -> bool:
    for i in range(start, stop):
        if tokens[i].key != BREAK:
            return False
    return True


_ELISIONS = frozenset({"d", "l", "de", "du"})  # often left out when a label is retyped (« N° entreprise »)


def label_end(tokens: list[Token], texts: Sequence[str], d: int, words: Sequence[str], high: int) -> int | None:
    """Index of the last document word of ``words`` written from word ``d`` (before
    ``high``), or None. A word may be abbreviated with a full stop (« Forme jur. »,
    « Date de naiss. ») or before the colon (« Tél. pro : »), and « d’ », « l’ », « de »,
    « du » may be left out (« N° entreprise », « Date naissance »)."""
    k = 0
    last = None
    while k < len(words):
        if d >= high or tokens[d].key == BREAK:
            return None
        token = tokens[d]
        word = words[k]
        if token.key == word:
            last, d, k = d, d + 1, k + 1
        elif len(token.key) >= 2 and word.startswith(token.key) and _abbreviated(texts[token.block], token.end):
            last, d, k = d, d + 1, k + 1
        elif word in _ELISIONS:
            k += 1
        else:
            return None
    return last


def _abbreviated(text: str, end: int) -> bool:
    """The word ending at ``end`` is cut short: a full stop (« jur. »), or a colon right
    after it (« Tél. pro : »)."""
    rest = text[end:].lstrip(" \u00a0\u202f")
    return text[end : end + 1] == "." or rest[:1] == ":"


def _few_plain_words(tokens: list[Token], begin: int, end: int) -> bool:
    """A few words without digits: what may qualify a label (« du siège social »), not an
    answer (« 0032 497 24 48 19 / E-mail : »)."""
    words = [t.key for t in tokens[begin:end] if t.key != BREAK]
    return len(words) <= 4 and not any(c.isdigit() for w in words for c in w)


def _after_separator(text: str, split: int) -> bool:
    """The label reader's answer starts after a colon or a question mark (a tab may just
    as well separate two answers on one line)."""
    return text[:split].rstrip()[-1:] in (":", "?")


def _first_token_from(tokens: list[Token], block: int, offset: int) -> int:
    """Index of the first token at or after ``offset`` in ``block`` (or in a later block)."""
    d = _token_at(tokens, block)
    while d < len(tokens) and tokens[d].block == block and tokens[d].start < offset:
        d += 1
    return d


def _token_at(tokens: list[Token], block: int) -> int:
    """Index of the first token of a block (len(tokens) past the end)."""
    lo, hi = 0, len(tokens)
    while lo < hi:
        mid = (lo + hi) // 2
        if tokens[mid].block < block:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _text(tokens: list[Token], texts: Sequence[str], begin: int, end: int) -> list[str]:
    """The document's text from just after token ``begin - 1`` to just before token ``end``,
    one entry per block or line."""
    before = tokens[begin - 1] if begin > 0 else None
    start = (before.block, before.end) if before else (tokens[begin].block, 0)
    after = tokens[end] if end < len(tokens) else None
    stop = (after.block, after.start) if after else (len(texts) - 1, len(texts[-1]))
    lines = []
    for b in range(start[0], stop[0] + 1):
        text = texts[b]
        piece = text[start[1] if b == start[0] else 0: stop[1] if b == stop[0] else len(text)]
        lines.extend(piece.split("\n"))
    # the separator after a label (« : », « – », « = ») goes; a bullet the applicant typed
    # at the start of an answer's own paragraph stays, as written
    lines[0] = _LEADING.sub("", lines[0])
    kept = [line.strip() for line in lines if has_content(line)]
    if kept:
        kept[-1] = _TRAILING.sub("", kept[-1])
    kept = [line for line in kept if has_content(line)]
    # a content control's placeholder printed beside an answer (PDF exports) is no answer
    return [line for line in kept if not (len(line) < 80 and is_placeholder(line) and any(c.isalpha() for c in line))] or kept
