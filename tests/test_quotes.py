"""The new part of a reply (``parsers.quotes``): the quoted history cut in French, Dutch
and English, as the usual mail clients write it."""

from __future__ import annotations

import pytest

from parsers.quotes import first_lines, new_text

NEW = "Bonjour,\n\nLe numéro d’entreprise est faux, c’est 0123.456.789.\n\nFatima"


@pytest.mark.parametrize(
    "history",
    [
        # Gmail, French
        "Le jeu. 3 sept. 2026 à 09:02, COOPCITY – BLOSSOM <info@coopcity.be> a écrit :\n"
        "> Bonjour,\n> Nous avons bien reçu votre dossier.\n",
        # Gmail, French, the header folded over two lines
        "Le jeu. 3 sept. 2026 à 09:02, COOPCITY – BLOSSOM 2026-2027 <\n"
        "info@coopcity.be> a écrit :\n\n> Bonjour,\n",
        # Apple Mail, French
        "Le 3 sept. 2026 à 09:02, COOPCITY <info@coopcity.be> a écrit :\n\n> Bonjour,\n",
        # Gmail, Dutch
        "Op do 3 sep. 2026 om 09:02 schreef COOPCITY <info@coopcity.be>:\n> Bonjour,\n",
        # Apple Mail, Dutch
        "Op 3 sep. 2026 om 09:02 heeft COOPCITY <info@coopcity.be> het volgende geschreven:\n"
        "\n> Bonjour,\n",
        # Gmail, English
        "On Thu, Sep 3, 2026 at 9:02 AM COOPCITY <info@coopcity.be> wrote:\n> Bonjour,\n",
        # Outlook, French: no « > », a header block
        "________________________________\nDe : COOPCITY <info@coopcity.be>\n"
        "Envoyé : jeudi 3 septembre 2026 09:02\nÀ : Fatima El Amrani\n"
        "Objet : Accusé de réception – Vélo Solidaire\n\nBonjour,\nNous avons bien reçu…\n",
        # Outlook, English and Dutch
        "From: COOPCITY <info@coopcity.be>\nSent: Thursday, September 3, 2026 9:02 AM\n"
        "To: Fatima\nSubject: Accusé de réception\n\nBonjour,\n",
        "Van: COOPCITY <info@coopcity.be>\nVerzonden: donderdag 3 september 2026 09:02\n"
        "Aan: Fatima\nOnderwerp: Accusé de réception\n\nBonjour,\n",
        # old Outlook and forwards
        "-----Message d'origine-----\nDe : info@coopcity.be\nBonjour,\n",
        "-----Original Message-----\nFrom: info@coopcity.be\nBonjour,\n",
        "---------- Forwarded message ---------\nDe : COOPCITY <info@coopcity.be>\n",
        "Début du message réexpédié :\n\nDe: COOPCITY <info@coopcity.be>\n",
    ],
)
def test_the_quoted_history_is_cut_whatever_the_client(history: str) -> None:
    assert new_text(NEW + "\n\n" + history) == NEW


def test_quoted_lines_are_dropped_and_an_answer_between_them_kept() -> None:
    body = (
        "> Numéro d’entreprise : 0725.922.660\n"
        "Faux : c’est 0123.456.789.\n"
        "> Nom : Vélo Solidaire\n"
        "Juste.\n"
    )
    assert new_text(body) == "Faux : c’est 0123.456.789.\nJuste."


def test_mobile_signatures_and_blank_runs_go_crlf_too() -> None:
    body = "Merci,\r\n\r\n\r\n\r\nle nom est faux.\r\n\r\nEnvoyé de mon iPhone\r\n"
    assert new_text(body) == "Merci,\n\nle nom est faux."


def test_a_sentence_that_merely_starts_like_a_header_is_kept() -> None:
    body = "Le numéro est faux.\nOn a changé d’adresse : rue Haute 5.\nOp maandag bel ik u."
    assert new_text(body) == body


def test_a_reply_with_only_the_quote_has_no_new_text() -> None:
    assert new_text("\n> Bonjour,\n> Nous avons bien reçu\n") == ""


def test_first_lines_cut_on_a_word() -> None:
    assert first_lines("Bonjour,\n\nle  nom est faux.") == "Bonjour, le nom est faux."
    cut = first_lines("mot " * 100, 50)
    assert cut.endswith("mot…") and len(cut) <= 50


def test_a_header_is_never_read_across_a_blank_line_into_the_new_text() -> None:
    body = "le numéro est faux.\n\nOn Thu, Sep 3, 2026 at 9:02 AM COOPCITY wrote:\n> Bonjour,\n"
    assert new_text(body) == "le numéro est faux."
    body = "Le numéro est faux.\nLe jeu. 3 sept. 2026, COOPCITY <info@coopcity.be> a écrit :\n"
    assert new_text(body) == "Le numéro est faux."


def test_a_dutch_header_folded_inside_the_address_is_cut() -> None:
    """Gmail folds « Op … schreef COOPCITY » before « <info@…>: »: only the second line
    ends with the colon."""
    body = (
        "Het juiste ondernemingsnummer is 0123.456.789.\n\n"
        "Op ma 7 sep. 2026 om 10:00 schreef COOPCITY\n<info@coopcity.be>:\n\n"
        "> Beste, we hebben uw kandidatuur ontvangen.\n"
    )
    assert new_text(body) == "Het juiste ondernemingsnummer is 0123.456.789."
    # a sentence of the new text ending with a colon is kept
    assert new_text("Voici ce qui change :\n- le numéro") == "Voici ce qui change :\n- le numéro"
