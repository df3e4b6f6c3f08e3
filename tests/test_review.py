"""Corrections, statuses given by hand, withdrawals and decisions (triage.review), on a
real SQLite store filed with the varied season."""

from __future__ import annotations

import datetime as dt
import email
import email.policy

import pytest
from sqlalchemy import func, select

from guichet.errors import InputError
from notifications.outbox import plan_and_record
from notifications.results import record_results
from tests.mails import brussels
from tests.stores import BLOSSOM, NOW
from triage.decisions import current_decision
from triage.filing import recompute
from triage.models import (
    OUTBOX_ABANDONED,
    OUTBOX_RECORDED,
    RETIRE,
    Application,
    Correction,
    Decision,
    Event,
    OutboxMail,
)
from triage.review import (
    REVUE,
    correct_annex,
    correct_field,
    decide,
    field_value,
    file_kind,
    note_view,
    set_status,
)
from triage.store import Store

WHO = "coordinatrice@coopcity.test"


def _app(session, name: str) -> Application:
    return session.scalars(select(Application).where(Application.structure == name)).one()


def _revue_mails(session, app_id: int) -> list[OutboxMail]:
    return session.scalars(
        select(OutboxMail)
        .where(OutboxMail.application_id == app_id, OutboxMail.kind == REVUE)
        .order_by(OutboxMail.id)
    ).all()


def test_correcting_the_missing_fields_completes_it_and_tells_the_applicant_once(
    filed: Store,
) -> None:
    with filed.sessions.begin() as session:
        plan_and_record(session, filed.archive, BLOSSOM, NOW)  # the acknowledgements
        app = _app(session, "Ressourcerie du Midi SC")
        missing = list(app.missing)
        assert app.status == "incomplet" and len(missing) == 4
        message = app.current_version.message
        parsed_before = dict(message.parsed.fields)
        outcomes = [
            correct_field(
                session, filed.archive, BLOSSOM, app, key, "Texte relu à la main", WHO, NOW
            )
            for key in missing
        ]
        assert [o.changed for o in outcomes] == [True] * 4
        assert outcomes[-1].status_before == "incomplet" and outcomes[-1].status_after == "complet"
        assert app.status == "complet" and app.missing == []
        assert outcomes[-1].mail is not None and outcomes[-1].mail.kind == REVUE
        assert [o.mail for o in outcomes[:-1]] == [None, None, None]  # completeness unchanged
        # the parsed value is kept; the correction says who, before, after
        assert message.parsed.fields == parsed_before
        row = session.scalars(select(Correction).order_by(Correction.id.desc())).first()
        assert (row.by, row.before, row.after) == (WHO, None, "Texte relu à la main")
        assert field_value(session, message, missing[-1]) == "Texte relu à la main"
        # the same correction again changes nothing and records no mail
        again = correct_field(
            session, filed.archive, BLOSSOM, app, missing[-1], "Texte relu à la main", WHO, NOW
        )
        assert not again.changed
        assert len(_revue_mails(session, app.id)) == 1
        # judged again (a new mail, a reprocess): the corrections still hold
        recompute(session, app, BLOSSOM, NOW + dt.timedelta(hours=1))
        assert app.status == "complet"
        kinds = session.scalars(select(Event.kind).where(Event.application_id == app.id)).all()
        assert kinds.count("correction") == 4


def test_blanking_a_required_field_then_restoring_it_leaves_one_mail_to_send(filed: Store) -> None:
    with filed.sessions.begin() as session:
        plan_and_record(session, filed.archive, BLOSSOM, NOW)
        app = _app(session, "Potager Partagé SC")
        assert app.status == "complet"
        key = "entreprise.numero"  # required, and a mail shows it
        value = field_value(session, app.current_version.message, key)
        assert value
        first = correct_field(session, filed.archive, BLOSSOM, app, key, "  ", WHO, NOW)
        assert first.status_after == "incomplet" and key in app.missing
        second = correct_field(session, filed.archive, BLOSSOM, app, key, value, WHO, NOW)
        assert second.status_after == "complet"
        mails = _revue_mails(session, app.id)
        assert [m.state for m in mails] == [OUTBOX_ABANDONED, OUTBOX_RECORDED]
        assert mails[-1].subject.startswith("Votre dossier a été relu")
        raw = filed.archive.read(mails[-1].raw_sha256)
        text = email.message_from_bytes(raw, policy=email.policy.default).get_body(("plain",))
        assert "Votre dossier est complet" in text.get_content()
        # the mail that said it was missing did not show the value read before
        blanked = filed.archive.read(mails[0].raw_sha256)
        said = email.message_from_bytes(blanked, policy=email.policy.default)
        said = said.get_body(("plain",)).get_content()
        assert "Il manque encore" in said and value not in said


def test_no_mail_before_the_applicant_was_answered_at_all(filed: Store) -> None:
    with filed.sessions.begin() as session:
        app = _app(session, "Potager Partagé SC")
        key = BLOSSOM.required_keys()[0]
        outcome = correct_field(session, filed.archive, BLOSSOM, app, key, "", WHO, NOW)
        assert outcome.status_after == "incomplet" and outcome.mail is None
        # the acknowledgement, still due, says it is incomplete
        rows = plan_and_record(session, filed.archive, BLOSSOM, NOW)
        accuse = next(r for r in rows if r.application_id == app.id)
        assert accuse.kind == "accuse"


def test_reclassifying_a_file_moves_what_is_missing(filed: Store) -> None:
    with filed.sessions.begin() as session:
        app = _app(session, "Habitat Partagé")
        assert app.missing == ["annexe.cv"]
        bilans = next(
            a for m in app.messages for a in m.attachments if a.filename.startswith("Bilans")
        )
        assert file_kind(session, bilans) == "bilans"
        outcome = correct_annex(session, filed.archive, BLOSSOM, app, bilans.id, "cv", WHO, NOW)
        assert outcome.changed and outcome.mail is None
        assert app.missing == ["annexe.bilans"] and app.status == "incomplet"
        assert file_kind(session, bilans) == "cv"
        assert bilans.annex_keys == ["bilans"]  # what was read stays
        with pytest.raises(InputError, match="dossier de candidature"):
            dossier = next(a for m in app.messages for a in m.attachments if a.role == "dossier")
            correct_annex(session, filed.archive, BLOSSOM, app, dossier.id, "cv", WHO, NOW)
        other = _app(session, "Potager Partagé SC").messages[0].attachments[1]
        with pytest.raises(InputError, match="pièce inconnue"):
            correct_annex(session, filed.archive, BLOSSOM, app, other.id, "cv", WHO, NOW)


def test_a_withdrawn_application_gets_no_chaser_and_no_result(filed: Store) -> None:
    answered, chased = brussels(2026, 9, 10, 9, 0), brussels(2026, 9, 13, 12, 0)
    with filed.sessions.begin() as session:
        plan_and_record(session, filed.archive, BLOSSOM, answered)
        app = _app(session, "Vélo Solidaire")
        kept = _app(session, "Bois & Récup")
        with pytest.raises(InputError, match="raison"):
            set_status(session, filed.archive, BLOSSOM, app, RETIRE, " ", WHO, NOW)
        outcome = set_status(
            session, filed.archive, BLOSSOM, app, RETIRE, "Se retire par téléphone", WHO, NOW
        )
        assert outcome.changed and app.status == RETIRE
        assert (app.override_reason, app.override_by) == ("Se retire par téléphone", WHO)
        chasers = plan_and_record(session, filed.archive, BLOSSOM, chased)
        assert {r.kind for r in chasers} == {"relance"}  # others are chased
        assert not any(r.application_id == app.id for r in chasers)
        decide(session, app, "non_retenu", None, WHO, NOW)
        decide(session, kept, "retenu", None, WHO, NOW)
        results = record_results(session, filed.archive, BLOSSOM, NOW)
        assert {r.application_id for r in results} == {kept.id}
        recompute(session, app, BLOSSOM, NOW)  # a new mail from it would not revive it
        assert app.status == RETIRE
        back = set_status(session, filed.archive, BLOSSOM, app, None, None, WHO, NOW)
        assert back.status_after == "incomplet" and app.override_reason is None


def test_withdrawing_abandons_the_mails_still_waiting(filed: Store) -> None:
    with filed.sessions.begin() as session:
        rows = plan_and_record(session, filed.archive, BLOSSOM, NOW)
        app = _app(session, "Vélo Solidaire")
        waiting = [r for r in rows if r.application_id == app.id]
        assert waiting and all(r.state == OUTBOX_RECORDED for r in waiting)
        set_status(session, filed.archive, BLOSSOM, app, RETIRE, "Abandon", WHO, NOW)
        assert {r.state for r in waiting} == {OUTBOX_ABANDONED}


def test_a_status_given_by_hand_holds_until_given_back(filed: Store) -> None:
    with filed.sessions.begin() as session:
        app = _app(session, "Bois & Récup")
        set_status(
            session, filed.archive, BLOSSOM, app, "complet", "Statuts reçus sur papier", WHO, NOW
        )
        assert app.status == "complet" and app.status_override == "complet"
        assert not set_status(
            session, filed.archive, BLOSSOM, app, "complet", "encore", WHO, NOW
        ).changed
        with pytest.raises(InputError, match="statut inconnu"):
            set_status(session, filed.archive, BLOSSOM, app, "parfait", "x", WHO, NOW)
        complete = _app(session, "Potager Partagé SC")
        with pytest.raises(InputError, match="rien ne manque"):
            set_status(session, filed.archive, BLOSSOM, complete, "incomplet", "doute", WHO, NOW)
        kinds = session.scalars(select(Event.kind).where(Event.application_id == app.id)).all()
        assert "statut_force" in kinds


def test_decisions_keep_their_note_and_who(filed: Store) -> None:
    with filed.sessions.begin() as session:
        app = _app(session, "Cantine des Quartiers")
        assert decide(session, app, "retenu", "Projet solide", WHO, NOW)
        assert not decide(session, app, "retenu", "Projet  solide", WHO, NOW)
        assert decide(session, app, "retenu", "Projet solide, budget à revoir", WHO, NOW)
        assert current_decision(session, app.id) == "retenu"
        rows = session.scalars(select(Decision).where(Decision.application_id == app.id)).all()
        assert [(r.note, r.decided_by, r.source) for r in rows][-1] == (
            "Projet solide, budget à revoir",
            WHO,
            "bureau",
        )
        with pytest.raises(InputError):
            decide(session, app, "peut-être", None, WHO, NOW)


def test_every_view_is_an_event(filed: Store) -> None:
    with filed.sessions.begin() as session:
        app = _app(session, "Cantine des Quartiers")
        note_view(session, app, WHO, NOW, "fiche consultée")
        count = session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.kind == "consultation", Event.application_id == app.id)
        )
        assert count == 1


def test_corrections_withdrawals_and_the_list_on_sqlite_and_postgresql(
    store: Store, checker: object
) -> None:
    from desk.dossier import Query, list_rows
    from tests.stores import file_varied

    file_varied(store, checker)  # type: ignore[arg-type]
    with store.sessions.begin() as session:
        plan_and_record(session, store.archive, BLOSSOM, NOW)
        app = _app(session, "Ressourcerie du Midi SC")
        for key in list(app.missing):
            correct_field(session, store.archive, BLOSSOM, app, key, "Relu", WHO, NOW)
        assert app.status == "complet" and len(_revue_mails(session, app.id)) == 1
        set_status(
            session, store.archive, BLOSSOM, _app(session, "Vélo Solidaire"), RETIRE, "x", WHO, NOW
        )
        decide(session, app, "retenu", "Solide", WHO, NOW)
    with store.sessions() as session:
        rows = {r.structure: r for r in list_rows(session, BLOSSOM)}
        assert rows["Vélo Solidaire"].status == RETIRE and rows["Vélo Solidaire"].overridden
        ressourcerie = rows["Ressourcerie du Midi SC"]
        assert (ressourcerie.status, ressourcerie.decision, ressourcerie.note) == (
            "complet",
            "retenu",
            "Solide",
        )
        assert ressourcerie.person == "Mehdi Dubois"  # read from the dossier in SQL
        assert ressourcerie.enterprise_number == "0718.056.950"
        found = list_rows(session, BLOSSOM, Query(search="0718056950"))
        assert [r.structure for r in found] == ["Ressourcerie du Midi SC"]
