"""The alignment of a filled document's words with the blank form's (pure functions)."""

from __future__ import annotations

from parsers.alignment import BREAK, align, label_end, tokens_of


def keys(texts: list[str]) -> list[str]:
    return [t.key for t in tokens_of(texts)]


def test_words_are_folded_and_breaks_mark_paragraphs_and_line_breaks() -> None:
    assert keys(["Numéro d’entreprise\u00a0: BE 0123", "Fait à\nLe"]) == [
        "numero", "d", "entreprise", "be", "0123", BREAK, "fait", "a", BREAK, "le", BREAK,
    ]  # fmt: skip
    token = tokens_of(["Adresse : Rue Gray"])[1]
    assert (token.key, token.block, token.start, token.end) == ("rue", 0, 10, 13)


def test_a_lone_form_word_is_found_inside_a_merged_line() -> None:
    form = tokens_of(["Fait à", "Le", "Nom, prénom"])
    filled = tokens_of(["Fait à Etterbeek, le 23 août 2026", "Nom, prénom : Judith"])
    pairs = align(form, filled)
    le = next(i for i, t in enumerate(form) if t.key == "le")
    assert filled[pairs[le]].block == 0 and filled[pairs[le] - 1].key == "etterbeek"


def test_words_of_a_deleted_paragraph_do_not_cut_an_answer() -> None:
    form = tokens_of(["Q1 : votre organisation ?", "Au jour d’aujourd’hui, quelle appréciation donneriez-vous à la structure", "E. Autodiagnostic"])
    filled = tokens_of(["Q1 : votre organisation ?", "Le conseil d’administration a validé la participation", "E. Autodiagnostic"])
    pairs = align(form, filled)
    matched_in_answer = [t for t, d in pairs.items() if filled[d].block == 1 and filled[d].key != BREAK]
    assert matched_in_answer == []  # « d », « a », « la » of the deleted instruction stay unmatched
    heading = next(i for i, t in enumerate(form) if t.key == "autodiagnostic")
    assert filled[pairs[heading]].block == 2


def test_labels_retyped_with_abbreviations_or_without_de() -> None:
    texts = ["Forme jur. : SRL", "Date naissance = 1980", "Forme juridique"]
    tokens = tokens_of(texts)
    assert label_end(tokens, texts, 0, ["forme", "juridique"], len(tokens)) == 1
    date = next(i for i, t in enumerate(tokens) if t.key == "date")
    assert label_end(tokens, texts, date, ["date", "de", "naissance"], len(tokens)) == date + 1
    # without the full stop « jur » is a word of its own, not an abbreviation
    plain = ["Forme jur SRL"]
    assert label_end(tokens_of(plain), plain, 0, ["forme", "juridique"], 10) is None
