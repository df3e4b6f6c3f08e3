"""The coordinators' digest: rendering hand-made data, then gathering a seeded store."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.digest import (
    CallList,
    Counts,
    DecisionsWarning,
    DigestData,
    MailboxHealth,
    OutboxProblem,
    Referent,
    Row,
    digest_key,
    digest_since,
    gather_digest,
    last_digest_at,
    phone,
    render_digest,
)
from tests.conftest import _need, sqlite_settings
from tests.mails import brussels
from tests.servers import PostgresCluster
from tests.stores import BLOSSOM, dossier_mail, file_mails, file_varied
from triage.check import CheckResult
from triage.models import (
    OUTBOX_ABANDONED,
    OUTBOX_SENT,
    Application,
    Decision,
    MailboxCheckpoint,
    OutboxMail,
)
from triage.store import Store, StoreSettings, open_store

NBSP = "\u00a0"
FILED = brussels(2026, 9, 14, 10, 30)  # the season is filed, just after the deadline
LATER = brussels(2026, 9, 14, 12, 0)  # a supplement and a new dossier are filed
CALLS = brussels(2026, 9, 15, 8, 0)  # a morning of the call period
NEW_STRUCTURE = "ASBL Les Ateliers du Canal"  # its dossier lacks the signatory's function
NEW_LINE = f"Nouvelle candidature : {NEW_STRUCTURE} – Incomplet (manque : Signature : fonction de la personne de contact)"

Checker = Callable[[bytes, dt.datetime | None, str | None], CheckResult]


def plain(text: str) -> str:
    """``text`` with its no-break spaces as plain spaces."""
    return text.replace(NBSP, " ").replace("\u202f", " ")


# --- rendering hand-made data --------------------------------------------------------------

NOW = brussels(2026, 9, 7, 8, 0)


def row(n: int, structure: str, status: str = "complet", **kwargs: object) -> Row:
    values: dict[str, object] = {
        "id": n,
        "structure": structure,
        "status": status,
        "missing": (),
        "warnings": (),
        "first_received": brussels(2026, 9, n % 28 + 1, 9, 30),
        "last_received": brussels(2026, 9, n % 28 + 1, 9, 30),
        "versions": 1,
        "autodiagnostic": 6.14,
        "referent": Referent("Els Kowalski", phone("+32498829383"), "els@potager.brussels"),
    }
    values.update(kwargs)
    return Row(**values)  # type: ignore[arg-type]


def data(rows: list[Row], **kwargs: object) -> DigestData:
    statuses = [r.status for r in rows]
    values: dict[str, object] = {
        "programme_id": BLOSSOM.id,
        "now": NOW,
        "since": NOW - dt.timedelta(days=1),
        "counts": Counts(
            complet=statuses.count("complet"),
            incomplet=statuses.count("incomplet"),
            hors_delai=statuses.count("hors_delai"),
            total=len(rows),
            automatique=2,
            non_candidature=1,
        ),
        "news": (),
        "rows": tuple(rows),
        "calls": None,
        "mailboxes": (),
        "outbox": (),
        "unchecked": (),
        "decisions": None,
    }
    values.update(kwargs)
    return DigestData(**values)  # type: ignore[arg-type]


def twelve() -> list[Row]:
    statuses = ["complet"] * 5 + ["incomplet"] * 6 + ["hors_delai"]
    return [row(n, f"Structure {n}", status) for n, status in enumerate(statuses, 1)]


def test_subject_counts_in_french() -> None:
    rendered = render_digest(data(twelve()), BLOSSOM)
    assert plain(rendered.subject) == (
        "Guichet BLOSSOM 2026-2027 – point du lundi 7 septembre 2026 : 12 candidatures, 5 complètes"
    )
    assert f"{NBSP}:" in rendered.subject and f"12{NBSP}candidatures" in rendered.subject
    final = render_digest(data(twelve()), BLOSSOM, final=True)
    assert plain(final.subject) == (
        "Guichet BLOSSOM 2026-2027 – clôture : 12 candidatures, 5 complètes"
    )
    assert "Les candidatures sont closes depuis le lundi 14 septembre 2026" in plain(final.text)


def test_singular_counts() -> None:
    rendered = render_digest(data([row(1, "Seule")]), BLOSSOM)
    assert plain(rendered.subject).endswith(" : 1 candidature, 1 complète")
    assert "1 candidature : 1 complète, 0 incomplète, 0 hors délai" in plain(rendered.text)


def test_counts_in_both_parts() -> None:
    rendered = render_digest(data(twelve()), BLOSSOM)
    text = plain(rendered.text)
    assert "12 candidatures : 5 complètes, 6 incomplètes, 1 hors délai" in text
    assert "2 réponses automatiques, 1 hors candidature" in text
    html = plain(rendered.html)
    for number, label in ((12, "candidatures"), (5, "complètes"), (6, "incomplètes")):
        assert re.search(rf">{number}</div>\s*<div[^>]*>{label}</div>", html)


def test_applicant_text_is_escaped_in_html_and_literal_in_text() -> None:
    evil = "<script>alert(1)</script>"
    someone = Referent('"><b>x</b>', phone("+32 2 380 75 28"), "a@b.be")
    rows = [row(1, evil, warnings=('<img src=x onerror="alert(2)">',), referent=someone)]
    rendered = render_digest(data(rows), BLOSSOM)
    assert "<script" not in rendered.html and "<b>x</b>" not in rendered.html
    assert "<img" not in rendered.html and "&lt;img src=x" in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "&#34;&gt;&lt;b&gt;x&lt;/b&gt;" in rendered.html
    assert evil in rendered.text  # the text part is not HTML: no entities
    assert "&lt;" not in rendered.text and "&amp;" not in rendered.text


def test_ampersand_stays_plain_in_text() -> None:
    rendered = render_digest(data([row(1, "Bois & Récup")]), BLOSSOM)
    assert "Bois & Récup" in rendered.text
    assert "Bois &amp; Récup" in rendered.html


def test_line_breaks_and_huge_names_stay_on_one_short_line() -> None:
    injected = "Nom\r\nBcc: victime@example.com\r\n" + "A" * 2000
    warning = "Remarque " + "très longue " * 200 + "\r\nsur deux lignes"
    rows = [
        row(1, injected, "incomplet", missing=("x" * 500,), warnings=(warning,)),
        row(2, "B" * 2000, referent=Referent("C" * 300, phone("n/a"), "d" * 300 + "@e.be")),
    ]
    news = ("Nouvelle candidature : " + "N" * 3000,)
    calls = CallList(dt.date(2026, 9, 14), dt.date(2026, 9, 18), (rows[0],))
    rendered = render_digest(data(rows, news=news, calls=calls), BLOSSOM)
    long_lines = [line for line in rendered.text.splitlines() if len(line) > 100]
    assert long_lines == []
    assert "\r" not in rendered.text
    assert not any(line.lstrip().startswith("Bcc:") for line in rendered.text.splitlines())
    cells = re.findall(r'<td style="[^"]*font-weight:bold[^"]*">([^<]*)</td>', rendered.html)
    assert len(cells) == 2
    assert all(len(c) <= 80 and "\r" not in c and "\n" not in c for c in cells)
    assert cells[0].startswith("Nom Bcc: victime@example.com AAA") and cells[0].endswith("…")


def test_text_part_fits_80_columns_in_the_usual_case() -> None:
    rows = [
        row(1, "Vélo Solidaire", "incomplet", missing=("Vos statuts", "Le CV de la personne")),
        row(2, "Potager Partagé SC", warnings=("Date de création : moins de deux ans.",)),
    ]
    text = render_digest(data(rows), BLOSSOM).text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_phone_numbers_for_people() -> None:
    belgian = phone("+32496246566")
    assert belgian is not None
    assert plain(belgian.display) == "0496 24 65 66" and belgian.uri == "tel:+32496246566"
    assert NBSP in belgian.display  # a number never breaks across lines
    french = phone("+33612345678")
    assert french is not None and plain(french.display) == "+33 6 12 34 56 78"
    unreadable = phone("pas de numéro")
    assert unreadable is not None and unreadable.uri is None
    assert phone("  ") is None
    html = render_digest(data([row(1, "X")]), BLOSSOM).html
    assert '<a href="tel:+32498829383"' in html and "mailto:els@potager.brussels" in html


def test_html_is_self_contained() -> None:
    html = render_digest(data(twelve()), BLOSSOM).html
    assert "<script" not in html and "<link" not in html and "src=" not in html
    assert "max-width:1000px" in html
    assert html.count("<tr data-application=") == 12


def test_rows_keep_the_order_given() -> None:
    rows = [row(3, "Cé", "incomplet"), row(1, "Alpha"), row(2, "Bêta", "hors_delai")]
    html = render_digest(data(rows), BLOSSOM).html
    assert re.findall(r'data-application="(\d+)"', html) == ["3", "1", "2"]


def test_alerts_only_when_something_is_wrong() -> None:
    quiet = render_digest(data(twelve()), BLOSSOM)
    assert "À vérifier" not in quiet.html and "À VÉRIFIER" not in quiet.text
    box = MailboxHealth(
        "info", "info@coopcity.be", "INBOX", None, 3, "connexion refusée", None, failing=True
    )
    mail = OutboxProblem("accuse", "x@y.be", "Vélo Solidaire", True, "550 boîte inconnue", 1, NOW)
    warning = DecisionsWarning(3, dt.date(2026, 10, 2), 2)
    loud = render_digest(
        data(twelve(), mailboxes=(box,), outbox=(mail,), decisions=warning), BLOSSOM
    )
    text = plain(loud.text)
    assert "À VÉRIFIER" in text
    assert "Boîte « info » (info@coopcity.be) en erreur : connexion refusée" in text
    assert "Courriel « accusé de réception » à x@y.be (Vélo Solidaire) : abandonné" in text
    assert "3 candidatures sans décision à deux jours des résultats" in text
    assert "vendredi 2 octobre 2026" in plain(loud.html)


def test_decisions_warning_wording() -> None:
    results = dt.date(2026, 10, 2)
    assert plain(DecisionsWarning(3, results, 2).text) == (
        "3 candidatures sans décision à deux jours des résultats (vendredi 2 octobre 2026)"
    )
    assert plain(DecisionsWarning(1, results, 1).text).startswith(
        "1 candidature sans décision la veille des résultats"
    )
    assert "le jour des résultats" in DecisionsWarning(2, results, 0).text


def test_news_and_call_list_rendered() -> None:
    rows = [row(1, "Vélo Solidaire", "incomplet", missing=("Vos statuts",))]
    calls = CallList(dt.date(2026, 9, 14), dt.date(2026, 9, 18), tuple(rows))
    news = ("Vélo Solidaire : Incomplet → Complet",)
    rendered = render_digest(data(rows, news=news, calls=calls), BLOSSOM)
    text = plain(rendered.text)
    assert "À APPELER DU LUNDI 14 AU VENDREDI 18 SEPTEMBRE 2026" in text
    assert "• Vélo Solidaire – Els Kowalski – 0498 82 93 83" in text
    assert "• Vélo Solidaire : Incomplet → Complet" in text
    assert "Rien de nouveau." not in text
    assert 'id="appels"' in rendered.html
    assert "Rien de nouveau." in render_digest(data(rows), BLOSSOM).text


def test_applications_to_check_counted_at_the_top_and_named_per_row() -> None:
    unsure = row(1, "Vélo Solidaire", to_check=("Date de création – « le lendemain »",))
    gap = row(2, "Bois & Récup", "incomplet", missing=("Vos statuts",),
              to_check=("Autodiagnostic, affirmation 5 – « 12/10 »",))  # fmt: skip
    counts = Counts(complet=1, incomplet=1, total=2, to_check=2)
    rendered = render_digest(data([unsure, gap, row(3, "Potager")], counts=counts), BLOSSOM)
    text = plain(rendered.text)
    top = text.split("NOUVEAU DEPUIS")[0]
    assert "2 candidatures à vérifier (une réponse que guichet n’a pas su lire)" in top
    assert "Réponse à vérifier : Date de création – « le lendemain »" in text
    assert "Réponse à vérifier : Autodiagnostic, affirmation 5 – « 12/10 »" in text
    assert "Manque : Vos statuts" in text and "Manque : Date" not in text
    assert f"«{NBSP}12/10{NBSP}»" in rendered.text  # French spacing inside the quotes
    html = plain(rendered.html)
    assert re.search(r">2</div>\s*<div[^>]*>à vérifier</div>", html)
    cells = re.findall(r'<tr data-application="(\d+)">(.*?)</tr>', html, re.S)
    by_id = {n: cell for n, cell in cells}
    assert "Réponse à vérifier : Date de création – « le lendemain »" in by_id["1"]
    assert "à vérifier" not in by_id["3"]
    assert "Avertissement" not in by_id["1"] and "À vérifier" not in html  # no alert for it


def test_nothing_to_check_is_said_as_zero() -> None:
    text = plain(render_digest(data([row(1, "Potager")]), BLOSSOM).text)
    assert "0 candidature à vérifier" in text and "Réponse à vérifier" not in text


def test_a_complete_application_to_check_is_on_the_call_list(store: Store, checker: Checker) -> None:
    from tests.mails import fixture

    file_mails(store, [(fixture("unread_creation_date"), brussels(2026, 9, 8, 10, 30)),
                       (dossier_mail("g02-nextline-npar2"), brussels(2026, 9, 2, 10, 15))],
               checker, now=FILED)  # fmt: skip
    with store.sessions() as session:
        digest = gather_digest(session, BLOSSOM, CALLS, since=CALLS)
    assert digest.counts.to_check == 1 and digest.counts.complet == 2
    rows = {r.structure: r for r in digest.rows}
    creche = rows["Crèche Arc-en-Ciel Coop"]
    assert creche.status == "complet" and creche.missing == ()
    assert creche.to_check == ("Date de création – « le lendemain de notre AG »",)
    assert rows["Potager Partagé SC"].to_check == ()
    assert digest.calls is not None
    assert [r.structure for r in digest.calls.rows] == ["Crèche Arc-en-Ciel Coop"]
    rendered = render_digest(digest, BLOSSOM)
    assert "1 candidature à vérifier" in plain(rendered.text)
    assert "« le lendemain de notre AG »" in plain(rendered.html)


# --- gathering a seeded store ---------------------------------------------------------------


def _seed(store: Store, checker: Checker) -> None:
    """The varied season filed at ``FILED``; at ``LATER``, Vélo Solidaire's missing annexes
    and a new dossier (« ASBL Les Ateliers du Canal »)."""
    file_varied(store, checker, now=FILED)
    supplement = dossier_mail(
        "g03-mixed-labels-npar3",
        annexes=("bilans", "cv"),
        with_dossier=False,
        message_id="<g03-suite@velosolidaire.be>",
        in_reply_to="<g03-mixed-labels-npar3@velosolidaire.be>",
    )
    late_news = [
        (supplement, brussels(2026, 9, 13, 20, 0)),
        (dossier_mail("g01-inline"), brussels(2026, 9, 13, 21, 0)),
    ]
    file_mails(store, late_news, checker, now=LATER)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, checker: Checker
) -> Iterator[Store]:
    """One store per module and database; tests change it only in rolled-back sessions."""
    folder = tmp_path_factory.mktemp("digest")
    if request.param == "sqlite":
        with open_store(sqlite_settings(folder)) as opened:
            _seed(opened, checker)
            yield opened
        return
    _need("PostgreSQL", PostgresCluster.missing())
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    url = cluster.create_database()
    try:
        with open_store(StoreSettings(data_dir=folder / "var", database_url=url)) as opened:
            _seed(opened, checker)
            yield opened
    finally:
        cluster.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture
def session(seeded: Store) -> Iterator[Session]:
    """A session whose changes are rolled back at the end of the test."""
    with seeded.sessions() as opened:
        yield opened
        opened.rollback()


def _applications(session: Session) -> list[Application]:
    return list(session.scalars(select(Application).order_by(Application.id)))


def test_every_application_once(session: Session) -> None:
    applications = _applications(session)
    digest = gather_digest(session, BLOSSOM, CALLS, since=CALLS)
    assert len(applications) == 11
    assert sorted(r.id for r in digest.rows) == [a.id for a in applications]
    assert {r.structure for r in digest.rows} == {a.structure for a in applications}
    ranks = [{"incomplet": 0, "complet": 1, "hors_delai": 2}[r.status] for r in digest.rows]
    assert ranks == sorted(ranks)  # incomplete first, late last
    counts = digest.counts
    assert (counts.total, counts.complet, counts.incomplet, counts.hors_delai) == (11, 5, 5, 1)
    assert (counts.automatique, counts.non_candidature) == (1, 1)


def test_row_details(session: Session) -> None:
    rows = {r.structure: r for r in gather_digest(session, BLOSSOM, CALLS, since=CALLS).rows}
    velo = rows["Vélo Solidaire"]
    assert velo.status == "complet" and velo.missing == ()
    assert (
        velo.referent.name == "Fatima El Amrani" and velo.referent.email == "info@velosolidaire.be"
    )
    assert velo.referent.phone is not None and plain(velo.referent.phone.display) == "0475 53 97 27"
    assert velo.autodiagnostic == pytest.approx(41 / 7)
    assert velo.last_received > velo.first_received and velo.versions == 1
    bois = rows["Bois & Récup"]
    assert bois.missing == (
        "Vos statuts",
        "Votre dernier rapport d’activité",
        "Les bilans comptables des 2 dernières années",
    )
    assert rows["DigiCoop"].warnings and rows["DigiCoop"].status == "hors_delai"


def test_new_since_two_moments(session: Session) -> None:
    everything = gather_digest(session, BLOSSOM, CALLS, since=FILED - dt.timedelta(hours=1))
    created = [n for n in everything.news if n.startswith("Nouvelle candidature : ")]
    assert len(created) == 11
    assert any(
        n.startswith("Courriel à lire (pas une candidature) : « Question") for n in everything.news
    )
    assert any("1\u00a0réponse automatique" in n for n in everything.news)

    between = gather_digest(session, BLOSSOM, CALLS, since=FILED + dt.timedelta(minutes=30))
    assert between.news == (
        NEW_LINE,
        "Vélo Solidaire : Incomplet → Complet",
    )
    assert gather_digest(session, BLOSSOM, CALLS, since=LATER).news == ()


def test_since_defaults_to_the_last_digest_sent(session: Session) -> None:
    assert digest_since(session, BLOSSOM.id, CALLS) == CALLS - dt.timedelta(hours=24)
    sent_at = FILED + dt.timedelta(minutes=45)

    def digest(key: str, state: str, at: dt.datetime) -> OutboxMail:
        return OutboxMail(
            key=f"{key}:matthias@coopcity.be",  # one per recipient (notifications.digest_mail)
            kind="digest",
            recipient="matthias@coopcity.be",
            subject="Point",
            rfc_message_id=f"<{key}@guichet>",
            state=state,
            created_at=at,
            sent_at=at if state == OUTBOX_SENT else None,
        )

    session.add_all(
        [
            digest(digest_key(BLOSSOM, sent_at), OUTBOX_SENT, sent_at),
            digest("digest:reves-2017:2026-09-15", OUTBOX_SENT, CALLS - dt.timedelta(minutes=5)),
            digest(digest_key(BLOSSOM, CALLS), OUTBOX_ABANDONED, CALLS - dt.timedelta(minutes=1)),
            digest(
                digest_key(BLOSSOM, CALLS, final=True), OUTBOX_SENT, CALLS + dt.timedelta(hours=2)
            ),
        ]
    )
    session.flush()
    assert last_digest_at(session, BLOSSOM.id, before=CALLS) == sent_at
    digest_ = gather_digest(session, BLOSSOM, CALLS)
    assert digest_.since == sent_at
    assert digest_.news == (
        NEW_LINE,
        "Vélo Solidaire : Incomplet → Complet",
    )
    assert last_digest_at(session, BLOSSOM.id) == CALLS + dt.timedelta(hours=2)


def test_call_list_during_the_call_period(session: Session) -> None:
    complete = session.scalars(
        select(Application).where(Application.structure == "Cantine des Quartiers")
    ).one()
    complete.warnings = ["Date de création : l’entreprise a moins de deux ans."]
    session.flush()
    calls = gather_digest(session, BLOSSOM, CALLS, since=CALLS).calls
    assert calls is not None
    assert (calls.start, calls.end) == (dt.date(2026, 9, 14), dt.date(2026, 9, 18))
    names = [r.structure for r in calls.rows]
    incomplete = [
        "Ressourcerie du Midi SC",
        "Habitat Partagé",
        "Bois & Récup",
        "ASBL Logis Solidaire",
        NEW_STRUCTURE,
    ]
    assert names == [*incomplete, "Cantine des Quartiers"]
    assert "DigiCoop" not in names  # late: not called
    for outside in (brussels(2026, 9, 13, 8, 0), brussels(2026, 9, 19, 8, 0)):
        assert gather_digest(session, BLOSSOM, outside, since=outside).calls is None


def test_mailbox_health(session: Session) -> None:
    never = gather_digest(session, BLOSSOM, CALLS, since=CALLS).mailboxes
    assert [(m.id, m.failing, m.last_error) for m in never] == [
        ("info", True, "jamais relevée"),
        ("programme", True, "jamais relevée"),
    ]
    session.add_all(
        [
            MailboxCheckpoint(
                account="info@coopcity.be",
                folder="INBOX",
                last_uid=12,
                last_success_at=CALLS - dt.timedelta(minutes=10),
                failures=0,
            ),
            MailboxCheckpoint(
                account="matthias@coopcity.be",
                folder="INBOX",
                last_uid=3,
                last_success_at=CALLS - dt.timedelta(hours=3),
                failures=4,
                last_error="connexion refusée\r\npar le serveur",
                next_attempt_at=CALLS + dt.timedelta(minutes=8),
            ),
            MailboxCheckpoint(
                account="matthias@coopcity.be",
                folder="Candidatures",
                last_uid=1,
                last_success_at=CALLS - dt.timedelta(minutes=61),
                failures=0,
            ),
            MailboxCheckpoint(account="autre@coopcity.be", folder="INBOX", last_uid=1, failures=9),
        ]
    )
    session.flush()
    digest = gather_digest(session, BLOSSOM, CALLS, since=CALLS)
    health = {(m.address, m.folder): m for m in digest.mailboxes}
    assert set(health) == {
        ("info@coopcity.be", "INBOX"),
        ("matthias@coopcity.be", "INBOX"),
        ("matthias@coopcity.be", "Candidatures"),
    }
    assert not health["info@coopcity.be", "INBOX"].failing
    broken = health["matthias@coopcity.be", "INBOX"]
    assert broken.failing and broken.failures == 4
    assert broken.last_error == "connexion refusée par le serveur"
    assert health["matthias@coopcity.be", "Candidatures"].failing  # stale: over an hour
    assert [m.folder for m in digest.failing_mailboxes] == ["Candidatures", "INBOX"]


def test_outbox_problems(session: Session) -> None:
    velo = session.scalars(
        select(Application).where(Application.structure == "Vélo Solidaire")
    ).one()

    def mail(key: str, kind: str, state: str, uncertain: bool = False) -> OutboxMail:
        return OutboxMail(
            key=key,
            kind=kind,
            application_id=velo.id,
            recipient="info@velosolidaire.be",
            subject="Votre dossier",
            rfc_message_id=f"<{key}@guichet>",
            state=state,
            uncertain=uncertain,
            attempts=2,
            last_error="550 boîte inconnue",
            created_at=FILED,
        )

    session.add_all(
        [
            mail("accuse:1", "accuse", OUTBOX_ABANDONED),
            mail("relance:1", "relance", OUTBOX_SENT, uncertain=True),
            mail("rappel:1", "rappel", OUTBOX_SENT),
        ]
    )
    session.flush()
    problems = gather_digest(session, BLOSSOM, CALLS, since=CALLS).outbox
    assert [(p.kind_label, p.abandoned, p.structure) for p in problems] == [
        ("accusé de réception", True, "Vélo Solidaire"),
        ("relance", False, "Vélo Solidaire"),
    ]
    assert "peut-être reçu deux fois" in problems[1].state


def test_decisions_warning_window(session: Session) -> None:
    def warning(moment: dt.datetime) -> DecisionsWarning | None:
        return gather_digest(session, BLOSSOM, moment, since=moment).decisions

    in_time = [a for a in _applications(session) if a.status in ("complet", "incomplet")]
    two_days = brussels(2026, 9, 30, 8, 0)
    found = warning(two_days)
    assert found is not None and found.missing == len(in_time) == 10 and found.days_left == 2
    assert warning(brussels(2026, 10, 2, 8, 0)) is not None  # results day
    assert warning(brussels(2026, 9, 29, 23, 0)) is None  # three days before
    assert warning(brussels(2026, 10, 3, 8, 0)) is None  # after the results

    for application in in_time[1:]:
        session.add(
            Decision(
                application_id=application.id, decision="retenu", source="cli", created_at=FILED
            )
        )
    session.flush()
    found = warning(two_days)
    assert found is not None and found.missing == 1
    session.add(
        Decision(application_id=in_time[0].id, decision="attente", source="cli", created_at=FILED)
    )
    session.flush()
    assert warning(two_days) is None
    rows = {r.id: r for r in gather_digest(session, BLOSSOM, two_days, since=two_days).rows}
    assert rows[in_time[0].id].decision_label == "Liste d’attente"


def test_rendered_store_digest(session: Session) -> None:
    rendered = render_digest(gather_digest(session, BLOSSOM, CALLS), BLOSSOM)
    assert max(len(line) for line in rendered.text.splitlines()) <= 100
    assert rendered.html.count("<tr data-application=") == 11
    assert "Bois &amp; Récup" in rendered.html and "Bois & Récup" in rendered.text
    assert plain(rendered.subject).endswith(" : 11 candidatures, 5 complètes")


def test_an_application_no_mail_can_reach_is_pointed_out(session: Session) -> None:
    assert gather_digest(session, BLOSSOM, CALLS).unreachable == ()
    target = _applications(session)[0]
    target.reply_to = "noreply@exemple.org"
    session.flush()
    digest = gather_digest(session, BLOSSOM, CALLS)
    assert len(digest.unreachable) == 1 and digest.alerts
    assert "noreply@exemple.org" in digest.unreachable[0]
    rendered = render_digest(digest, BLOSSOM)
    assert "aucun courriel ne lui part" in plain(rendered.text)
    assert "noreply@exemple.org" in rendered.html
