"""Issue #14, point 7: « Si une information est erronée, répondez simplement à ce courriel ».
End to end: the dossier polled from Dovecot, the acknowledgement sent over SMTP (aiosmtpd
on loopback delivering into Dovecot) and read back from the applicant's inbox; the
applicant's reply to it polled again. A reply that brings no new file is a message for
the coordinators (« Message reçu », never « Complément reçu »; listed in the digest until
dealt with); a reply that brings a file is a supplement, whatever its subject."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from guichet.cli import main
from ingest.processing import Checker, reprocess
from notifications.digest import gather_digest, render_digest
from tests.conftest import Accounts, sqlite_settings
from tests.mails import brussels, build
from tests.servers import DovecotServer
from tests.stores import ANNEXES, BLOSSOM, dossier_mail, file_mails
from tests.test_mail_delivery import (  # noqa: F401 - world: the fixture
    VELO,
    first_mail,
    inbox,
    notifier,
    poll,
    rows,
    world,
)
from triage.messages import mark_read, pending_messages
from triage.models import ROLE_MESSAGE, Application, Message
from triage.store import Store, open_store

WRONG = "le numéro d’entreprise est faux, c’est 0123.456.789"
# What Gmail puts under a reply in French: the acknowledgement, quoted.
QUOTED = (
    "\n\nLe jeu. 3 sept. 2026 à 09:02, COOPCITY – BLOSSOM 2026-2027 <info@coopcity.be> "
    "a écrit :\n"
    "> Bonjour,\n> Numéro d’entreprise : 0725.922.660\n> Nom de l’entreprise : Vélo Solidaire\n"
)


def acknowledged(world: dict[str, Any], accounts: Accounts, dovecot: DovecotServer,
                 checker: Checker) -> Any:  # fmt: skip
    """The dossier (without its bilans and CV) received, and its acknowledgement sent."""
    first_mail(world, accounts, ("statuts", "rapport"))
    poll(world, brussels(2026, 9, 3, 9, 2), checker)
    notifier(world).run(brussels(2026, 9, 3, 9, 2))
    [ack] = inbox(dovecot, world["applicant"])
    assert ack.subject == "Accusé de réception – Vélo Solidaire – BLOSSOM 2026-2027"
    return ack


def answer(world: dict[str, Any], ack: Any, message_id: str, body: str,
           files: dict[str, bytes] | None = None) -> bytes:  # fmt: skip
    return build(
        sender=f"Fatima El Amrani <{world['applicant']}>",
        subject=f"RE: {ack.subject}",
        message_id=message_id,
        in_reply_to=ack.headers["message-id"][0],
        body=body,
        files=files or {},
    )


def applicant_subjects(dovecot: DovecotServer, world: dict[str, Any]) -> list[str]:
    return [m.subject for m in sorted(inbox(dovecot, world["applicant"]), key=lambda m: m.date)]


def test_a_reply_correcting_the_data_is_a_message_to_read_not_a_supplement(
    world: dict[str, Any], accounts: Accounts, dovecot: DovecotServer, checker: Checker
) -> None:
    ack = acknowledged(world, accounts, dovecot, checker)
    body = f"Bonjour,\n\n{WRONG}.\n\nFatima{QUOTED}"
    reply = answer(world, ack, "<reponse-1@velosolidaire.be>", body)
    accounts.append("info", reply, brussels(2026, 9, 4, 10, 0))
    out_of_office = b"Auto-Submitted: auto-replied\r\n" + answer(
        world, ack, "<absence@velosolidaire.be>", "Je suis absente jusqu’au 10 septembre."
    )
    accounts.append("info", out_of_office, brussels(2026, 9, 4, 10, 5))
    poll(world, brussels(2026, 9, 4, 10, 10), checker)
    notifier(world).run(brussels(2026, 9, 4, 10, 10))

    # the applicant: a short acknowledgement of the message, threaded, repeating nothing
    received = sorted(inbox(dovecot, world["applicant"]), key=lambda m: m.date)
    assert [m.subject for m in received] == [
        "Accusé de réception – Vélo Solidaire – BLOSSOM 2026-2027",
        "Message reçu – Vélo Solidaire – BLOSSOM 2026-2027",
    ]
    note = received[1]
    assert note.headers["in-reply-to"] == ("<reponse-1@velosolidaire.be>",)
    text = " ".join(note.text.split())
    assert "Nous avons bien reçu votre message du vendredi 4 septembre 2026 à 10:00" in text
    for data in ("0123.456.789", "0725.922.660", "Il manque", "Numéro d’entreprise"):
        assert data not in text and data not in note.html
    # nothing else went out: no « Complément reçu » in the Sent folder nor the outbox
    sent = inbox(dovecot, accounts.users["info"], "Sent")
    assert sorted(m.subject.split(" – ")[0] for m in sent) == [
        "Accusé de réception",
        "Message reçu",
    ]
    assert [r.kind for r in rows(world["store"])] == ["accuse", "message_recu"]

    # the same day, a second message, this time a new mail with the subject convention:
    # a message too, and no second « Message reçu » within a day
    again = build(
        sender=f"Fatima El Amrani <{world['applicant']}>",
        subject="Dossier de candidature – COOPCITY 2026 – Vélo Solidaire",
        message_id="<reponse-2@velosolidaire.be>",
        body="Bonjour,\n\nEt notre siège est rue Haute 5, 1000 Bruxelles.\n",
    )
    accounts.append("info", again, brussels(2026, 9, 4, 15, 0))
    poll(world, brussels(2026, 9, 4, 15, 2), checker)
    notifier(world).run(brussels(2026, 9, 4, 15, 2))
    assert len(inbox(dovecot, world["applicant"])) == 2

    store: Store = world["store"]
    with store.sessions.begin() as session:
        [app] = session.scalars(select(Application)).all()
        assert (app.status, len(app.versions)) == ("incomplet", 1)  # the verdict is untouched
        assert "annexe.cv" in app.missing
        roles = {m.rfc_message_id: (m.role, m.status) for m in app.messages}
        assert roles["<reponse-1@velosolidaire.be>"][0] == ROLE_MESSAGE
        assert roles["<reponse-2@velosolidaire.be>"][0] == ROLE_MESSAGE
        absent = session.scalars(
            select(Message).where(Message.rfc_message_id == "<absence@velosolidaire.be>")
        ).one()
        assert (absent.status, absent.role, absent.application_id) == ("automatique", None, None)

        # the digest: « Messages à lire », who, when, what (the quoted history cut)
        data = gather_digest(session, BLOSSOM, brussels(2026, 9, 5, 8, 0))
        assert [m.sender for m in data.messages] == [world["applicant"]] * 2
        assert data.messages[0].text == f"Bonjour,\n\n{WRONG}.\n\nFatima"
        assert data.counts.messages == 2 and data.counts.non_candidature == 0
        digest = render_digest(data, BLOSSOM)
        assert "MESSAGES À LIRE (2)" in digest.text
        flat = " ".join(digest.text.split())
        assert f"« Bonjour, {WRONG}. Fatima »" in flat.replace("\u00a0", " ")
        assert "reçu le 04/09/2026 10:00" in flat and "0725.922.660" not in flat
        assert "Et notre siège est rue Haute 5" in digest.html
        assert digest.html.count("data-message=") == 2
        first = data.messages[0].message_id
        assert mark_read(session, BLOSSOM.id, first, brussels(2026, 9, 5, 9, 0), "Matthias")

    with store.sessions.begin() as session:
        data = gather_digest(session, BLOSSOM, brussels(2026, 9, 6, 8, 0))
        assert [m.text for m in data.messages] == [
            "Bonjour,\n\nEt notre siège est rue Haute 5, 1000 Bruxelles."
        ]
        assert "MESSAGES À LIRE (1)" in render_digest(data, BLOSSOM).text


def test_a_reply_to_the_acknowledgement_with_the_missing_files_is_a_supplement(
    world: dict[str, Any], accounts: Accounts, dovecot: DovecotServer, checker: Checker
) -> None:
    """« RE: Accusé de réception … » with the bilans and the CV: « Complément reçu », the
    dossier now complete, though the subject is not the convention's."""
    ack = acknowledged(world, accounts, dovecot, checker)
    files = dict([ANNEXES["bilans"], ANNEXES["cv"]])
    reply = answer(world, ack, "<suite@velosolidaire.be>", f"Voici les pièces.{QUOTED}", files)
    accounts.append("info", reply, brussels(2026, 9, 5, 14, 0))
    poll(world, brussels(2026, 9, 5, 14, 2), checker)
    notifier(world).run(brussels(2026, 9, 5, 14, 2))

    received = sorted(inbox(dovecot, world["applicant"]), key=lambda m: m.date)
    assert [m.subject.split(" – ")[0] for m in received] == [
        "Accusé de réception",
        "Complément reçu",
    ]
    assert received[1].headers["in-reply-to"] == ("<suite@velosolidaire.be>",)
    assert "Votre dossier est complet" in received[1].text
    with world["store"].sessions() as session:
        assert pending_messages(session, BLOSSOM.id) == []
        [app] = session.scalars(select(Application)).all()
        assert app.status == "complet"


# --- guichet messages ---------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checker: Checker) -> Path:
    """A store with one dossier and a reply to it that brings no file."""
    settings = sqlite_settings(tmp_path)
    with open_store(settings) as store:
        dossier = dossier_mail(VELO)
        reply = build(
            sender="Fatima El Amrani <fatima@velosolidaire.be>",
            subject="Re: Accusé de réception – Vélo Solidaire",
            message_id="<re@velosolidaire.be>",
            in_reply_to=f"<{VELO}@velosolidaire.be>",
            body=f"{WRONG}.\n\nOn Thu, Sep 3, 2026 at 9:02 AM COOPCITY wrote:\n> Bonjour,\n",
        )
        mails = [(dossier, brussels(2026, 9, 3, 9, 0)), (reply, brussels(2026, 9, 4, 9, 0))]
        file_mails(store, mails, checker, brussels(2026, 9, 4, 9, 5))
    monkeypatch.setenv("GUICHET_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("GUICHET_DATABASE_URL", raising=False)
    monkeypatch.delenv("GUICHET_PROGRAMME", raising=False)
    return settings.data_dir


def test_the_cli_lists_messages_and_marks_one_dealt_with_for_good(
    data_dir: Path, capsys: pytest.CaptureFixture[str], checker: Checker
) -> None:
    assert main(["messages", "--programme", BLOSSOM.id]) == 0
    out = capsys.readouterr().out
    assert "1 message(s) à lire" in out and WRONG in out and "Vélo Solidaire" in out
    assert "wrote" not in out and "Bonjour" not in out
    number = int(out.split("N° ")[1].split(" ")[0])

    assert main(["messages", "--lu", str(number), "--par", "Matthias"]) == 0
    assert capsys.readouterr().out == f"Message n° {number} marqué traité.\n"
    assert main(["messages", "--lu", str(number)]) == 0
    assert "déjà marqué traité" in capsys.readouterr().out
    assert main(["messages", "--lu", "999"]) == 13
    assert capsys.readouterr().err == "guichet : aucun message à lire n° 999\n"

    # checking every mail again does not bring a dealt-with message back
    with open_store(sqlite_settings(data_dir.parent)) as store:
        reprocess(store.sessions, store.archive, BLOSSOM, brussels(2026, 9, 5, 9, 0),
                  checker=checker)  # fmt: skip
        with store.sessions() as session:
            assert session.get(Message, number).role == ROLE_MESSAGE
            assert pending_messages(session, BLOSSOM.id) == []
    assert main(["messages"]) == 0
    assert capsys.readouterr().out == "Aucun message à lire.\n"


def test_messages_are_flagged_and_marked_on_sqlite_and_postgresql(
    store: Store, checker: Checker
) -> None:
    """The desk's two calls on both databases: ``pending_messages`` then ``mark_read``; a
    reply in the thread with a vCard only is a message, with the CV a supplement."""
    dossier = dossier_mail(VELO, annexes=("statuts", "rapport", "bilans"))
    card = {"Fatima.vcf": b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Fatima\r\nEND:VCARD\r\n"}
    thread = f"<{VELO}@velosolidaire.be>"
    sender = "Fatima El Amrani <fatima@velosolidaire.be>"
    message = build(sender=sender, subject="Re: Accusé de réception", message_id="<m1@v.be>",
                    in_reply_to=thread, body=f"{WRONG}.", files=card)  # fmt: skip
    supplement = build(sender=sender, subject="Re: Accusé de réception", message_id="<m2@v.be>",
                       in_reply_to=thread, body="Le CV.", files=dict([ANNEXES["cv"]]))  # fmt: skip
    mails = [
        (dossier, brussels(2026, 9, 3, 9, 0)),
        (message, brussels(2026, 9, 4, 9, 0)),
        (supplement, brussels(2026, 9, 4, 9, 30)),
    ]
    file_mails(store, mails, checker, brussels(2026, 9, 4, 10, 0))
    with store.sessions.begin() as session:
        [pending] = pending_messages(session, BLOSSOM.id)
        assert (pending.structure, pending.text) == ("Vélo Solidaire", f"{WRONG}.")
        [app] = session.scalars(select(Application)).all()
        assert app.status == "complet"  # the supplement counted, the message did not
        assert mark_read(session, BLOSSOM.id, pending.message_id, brussels(2026, 9, 4, 11, 0))
    with store.sessions.begin() as session:
        assert pending_messages(session, BLOSSOM.id) == []
        assert not mark_read(session, BLOSSOM.id, pending.message_id, brussels(2026, 9, 4, 12, 0))


def test_a_coordinator_answering_in_the_thread_writes_no_message_to_read(
    sqlite_store: Store, checker: Checker
) -> None:
    """Matthias answers the applicant by hand with info@ in copy: that copy is polled, in the
    application's thread, without a file; it is no message and gets no « Message reçu »."""
    dossier = dossier_mail(VELO, annexes=("statuts",))
    answer = build(sender="Matthias Meirlaen <Matthias@coopcity.be>", subject="RE: Accusé",
                   message_id="<m@coopcity.be>", in_reply_to=f"<{VELO}@velosolidaire.be>",
                   body="Bonjour Fatima, c’est corrigé.")  # fmt: skip
    mails = [(dossier, brussels(2026, 9, 3, 9, 0)), (answer, brussels(2026, 9, 4, 9, 0))]
    file_mails(sqlite_store, mails, checker, brussels(2026, 9, 4, 10, 0))
    with sqlite_store.sessions() as session:
        assert pending_messages(session, BLOSSOM.id) == []
        copy = session.scalars(
            select(Message).where(Message.rfc_message_id == "<m@coopcity.be>")
        ).one()
        assert copy.role is None and copy.application_id is None
