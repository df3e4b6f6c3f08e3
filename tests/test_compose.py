"""Rendering and building mails to applicants (notifications.compose, letters, templates):
French text, escaping, headers that applicant data cannot break."""

from __future__ import annotations

import email
import email.policy
from typing import Any

import pytest

from guichet.errors import DeliveryError
from notifications.compose import build_mail, new_message_id, render
from notifications.plan import APPLICANT_KINDS

HOSTILE = "<script>alert(1)</script> Coop\r\nBcc: victim@example.org\r\nX-Evil: 1"
LONG = "Coopérative " + "très " * 400  # 2,000 characters


def context(**over: Any) -> dict[str, Any]:
    base = {
        "programme": "BLOSSOM 2026-2027",
        "organisation": "COOPCITY",
        "structure": "Vélo Solidaire",
        "status": "incomplet",
        "complete": False,
        "incomplete": True,
        "late": False,
        "missing": ["Vos statuts", "Le CV de la personne référente pour COOPCITY"],
        "missing_short": "vos statuts et le CV de la personne référente pour COOPCITY",  # chasers' subject
        "to_check": [],
        "understood": [("Nom de l’entreprise", "Vélo Solidaire")],
        "files": [{"name": "dossier.docx", "what": "dossier de candidature", "received": "hier"}],
        "answered_at": "jeudi 3 septembre 2026 à 09:00",
        "answered_late": False,
        "deadline": "lundi 14 septembre 2026 à 10:00",
        "deadline_passed": False,
        "subject_convention": "Dossier de candidature – COOPCITY 2026 – [nom de votre structure]",
        "phone_calls": "du lundi 14 au vendredi 18 septembre 2026",
        "results_day": "vendredi 2 octobre 2026",
        "manager": "Matthias Meirlaen",
        "manager_email": "matthias@coopcity.be",
        "manager_phone": "0496 24 65 66",
        "decision": None,
        "decision_label": "—",
    }
    base.update(over)
    return base


def parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def mail(structure: str, kind: str = "accuse", **headers: Any) -> bytes:
    rendered = render(kind, context(structure=structure))
    return build_mail(
        rendered,
        sender_name="COOPCITY – BLOSSOM 2026-2027",
        sender="info@coopcity.be",
        recipient=headers.get("recipient", "alice@example.org"),
        message_id=new_message_id("info@coopcity.be"),
        date=__import__("datetime").datetime(2026, 9, 3, 9, 5, tzinfo=__import__("datetime").UTC),
        in_reply_to=headers.get("in_reply_to", "<orig@example.org>"),
        references=headers.get("references", ["<root@example.org>"]),
    )


@pytest.mark.parametrize("kind", APPLICANT_KINDS)
def test_every_kind_renders_in_french_with_both_parts(kind: str) -> None:
    rendered = render(kind, context(decision="retenu" if kind == "resultat" else None))
    assert "Vélo Solidaire" in rendered.subject
    assert rendered.text.startswith("Bonjour,")
    assert "L’équipe COOPCITY" in rendered.text
    assert "<html" in rendered.html and "Vélo Solidaire" in rendered.html
    assert "{{" not in rendered.text + rendered.html


def test_the_missing_list_and_deadline_are_in_the_acknowledgement() -> None:
    rendered = render("accuse", context())
    assert "  - Vos statuts" in rendered.text
    assert "avant le lundi 14 septembre 2026 à 10:00, heure de Bruxelles" in rendered.text.replace(
        "\n", " "
    )
    done = render("accuse", context(complete=True, incomplete=False, missing=[]))
    assert "Votre dossier est complet" in done.text and "Il manque" not in done.text


def test_after_the_deadline_nobody_is_asked_to_send_more() -> None:
    rendered = render("accuse", context(deadline_passed=True))
    assert "est passée" in rendered.text and "avant le lundi" not in rendered.text


@pytest.mark.parametrize(("decision", "words"), [
    ("retenu", "Félicitations"), ("non_retenu", "regret"), ("attente", "liste d’attente"),
])  # fmt: skip
def test_each_decision_has_its_own_result_text(decision: str, words: str) -> None:
    assert words in " ".join(render("resultat", context(decision=decision)).text.split())


def test_markup_in_applicant_data_is_escaped_in_html() -> None:
    message = parsed(mail(HOSTILE))
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_line_breaks_in_a_structure_name_cannot_add_headers() -> None:
    raw = mail(HOSTILE)
    message = parsed(raw)
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert "\n" not in str(message["Subject"]) and "\r" not in str(message["Subject"])
    assert message["To"] == "alice@example.org"
    assert all(line.endswith(b"\r") or not line for line in raw.split(b"\n")[:-1])  # CRLF


def test_a_2000_character_name_is_cut_in_the_subject() -> None:
    message = parsed(mail(LONG))
    assert len(str(message["Subject"])) <= 200
    assert str(message["Subject"]).endswith("…") or "…" in str(message["Subject"])


def test_threading_and_auto_reply_headers() -> None:
    message = parsed(mail("Vélo Solidaire", references=["<root@example.org>", "bad id"]))
    assert message["In-Reply-To"] == "<orig@example.org>"
    assert message["References"].split() == ["<root@example.org>", "<orig@example.org>"]
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["From"].addresses[0].addr_spec == "info@coopcity.be"
    assert message["Message-ID"].endswith("@coopcity.be>")


@pytest.mark.parametrize(
    "recipient", ["alice@example.org\r\nBcc: x@y.z", "Alice <a@b.c>", "nobody"]
)
def test_a_recipient_that_is_not_a_bare_address_is_refused(recipient: str) -> None:
    with pytest.raises(DeliveryError):
        mail("Vélo Solidaire", recipient=recipient)


NBSP = "\u00a0"


@pytest.mark.parametrize("kind", ["accuse", "complement", "relance", "rappel"])
def test_answers_to_check_are_named_never_asked_for(kind: str) -> None:
    rendered = render(kind, context(to_check=["Date de création"]))
    text = rendered.text.replace("\n", " ")
    assert (
        f"Notre équipe relira elle-même votre réponse à la rubrique «{NBSP}Date de création{NBSP}»"
        f"{NBSP}; nous vous contacterons si nécessaire." in text
    )
    missing = text.split(f"Il manque encore{NBSP}:")[1].split("Notre équipe")[0]
    assert "Date de création" not in missing and "Vos statuts" in missing
    assert f"«{NBSP}Date de création{NBSP}»{NBSP};" in rendered.html


def test_several_answers_to_check_and_none() -> None:
    two = render("accuse", context(complete=True, missing=[], to_check=["A", "B & C"]))
    text = two.text.replace("\n", " ")
    assert f"vos réponses aux rubriques «{NBSP}A{NBSP}», «{NBSP}B & C{NBSP}»" in text
    assert f"«{NBSP}B &amp; C{NBSP}»" in two.html  # escaped in HTML
    assert "Votre dossier est complet" in two.text
    none = render("accuse", context())
    assert "relira" not in none.text and "relira" not in none.html


def test_hostile_title_to_check_is_escaped() -> None:
    html = render("accuse", context(to_check=[HOSTILE])).html
    assert "<script>" not in html and "&lt;script&gt;" in html


# Issue #14, points 2 to 5: what a careful programme manager would write by hand.


def test_dates_read_as_french_first_of_month_and_month_year() -> None:
    import datetime as dt

    from config.programme import load_programme
    from notifications.wording import date_value, day, same_minute, when

    blossom = load_programme("blossom-2026")
    assert day(dt.date(2026, 9, 1)) == "mardi 1er septembre 2026"
    assert day(dt.date(2026, 10, 2)) == "vendredi 2 octobre 2026"
    assert date_value("2002-02") == "février 2002"
    assert date_value("2015-03-01") == "1er mars 2015"
    assert date_value("2015-03-12") == "12 mars 2015"
    assert date_value("2002") == "2002"
    assert date_value("le lendemain") == "le lendemain"  # never a made-up date
    assert date_value("2002-13") == "2002-13"
    deadline = blossom.deadline_at
    assert deadline is not None
    assert when(deadline, blossom) == "lundi 14 septembre 2026 à 10:00"
    assert when(deadline, blossom, seconds=True) == "lundi 14 septembre 2026 à 10:00:00"
    assert same_minute(deadline + dt.timedelta(seconds=1), deadline)
    assert not same_minute(deadline - dt.timedelta(seconds=1), deadline)


def test_a_missing_question_is_quoted_shortened_on_a_word() -> None:
    from config.programme import load_programme
    from notifications.wording import QUESTION_LIMIT, missing_question, missing_questions

    blossom = load_programme("blossom-2026")
    assert missing_question(blossom, "description.q12") == (
        f"Description du projet, question 12 («{NBSP}Quelles actions avez-vous déjà mises en "
        f"place à cet égard{NBSP}?{NBSP}»)"
    )
    # A long preamble: the question proper is quoted, not the preamble's start.
    assert missing_question(blossom, "besoins.apport") == (
        f"Vos besoins, question 3 («{NBSP}Que pensez-vous pouvoir apporter aux personnes qui "
        f"suivront le programme avec vous{NBSP}?{NBSP}»)"
    )
    long = missing_question(blossom, "autodiagnostic.2")
    quoted = long.split(f"«{NBSP}")[1].removesuffix(f"{NBSP}»)")
    assert long.startswith("Autodiagnostic, affirmation 2 (")
    assert quoted.endswith("…") and len(quoted) <= QUESTION_LIMIT
    assert quoted.startswith("Nous disposons d’un document formalisé")  # ’, not '
    label = blossom.form.field("autodiagnostic.2").label
    assert label.replace("'", "’").startswith(quoted.removesuffix("…") + " ")  # a whole word
    # Fields with a name of their own, annexes and the dossier are not quoted.
    assert missing_question(blossom, "entreprise.nom") == "Nom de l’entreprise"
    assert missing_questions(blossom, ["annexe.statuts", "description.q12", "dossier"])[::2] == [
        "Le dossier de candidature (formulaire Word)",
        "Vos statuts",
    ]


def test_plain_text_wraps_at_72_on_words_never_inside_an_address() -> None:
    from notifications.compose import wrap_text

    address = "matthias.meirlaen-programmes@coopcity-accompagnement.brussels"
    url = "https://www.coopcity.be/programmes/blossom-2026-2027/dossier-de-candidature"
    rendered = render(
        "accuse",
        context(
            structure="Coopérative de la mobilité douce et solidaire du Nord-Ouest bruxellois",
            manager_email=address,
            missing=[f"Description du projet, question 12 («{NBSP}Quelles actions avez-vous "
                     f"déjà mises en place à cet égard{NBSP}?{NBSP}»)"],
        ),  # fmt: skip
    )
    lines = rendered.text.split("\n")
    assert all(len(line) <= 72 for line in lines if address not in line), lines
    assert any(address in line for line in lines)  # whole, on a line of its own
    assert "  - Description du projet, question 12 (« Quelles actions avez-vous déjà" in (
        rendered.text.replace(NBSP, " ")
    )
    assert "\n    mises en place à cet égard" in rendered.text  # under the item's text
    assert f"égard{NBSP}?{NBSP}»" in rendered.text  # no line break before « ? » or « »
    wrapped = wrap_text(f"Voir {url} pour le formulaire, et écrivez-nous à {address} si besoin.")
    assert url in wrapped.split("\n") and address in wrapped.replace("\n", " ").split(" ")
    assert wrap_text("court\n" + "x" * 80) == "court\n" + "x" * 80  # a word is never cut


def test_a_late_notice_promises_no_result_and_shows_the_seconds_it_is_given() -> None:
    for late in (True, False):
        rendered = render(
            "hors_delai",
            context(
                late=late,
                answered_late=True,
                answered_at="lundi 14 septembre 2026 à 10:00:01",
                deadline="lundi 14 septembre 2026 à 10:00:00",
            ),
        )
        for part in (rendered.text, rendered.html):
            assert "2 octobre" not in part and "résultat" not in part and "appellera" not in part
        text = " ".join(rendered.text.split())
        assert "reçu le lundi 14 septembre 2026 à 10:00:01 est arrivé après la clôture" in text
        assert "fixée au lundi 14 septembre 2026 à 10:00:00" in text
    on_time = render("accuse", context())
    assert "au plus tard le vendredi 2 octobre 2026" in " ".join(on_time.text.split())
