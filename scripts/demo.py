"""`make demo`: guichet's whole job on local mail servers, through a simulated season.

Starts Dovecot (IMAP, LMTP) and an SMTP server (aiosmtpd) on loopback with the BLOSSOM
mailboxes (info@ and the programme manager's) and one inbox per applicant, drops a
realistic set of application mails into both mailboxes at chosen receipt times, then
runs the worker's jobs at simulated moments: polls, acknowledgements, a follow-up, the
D-2 reminder, the deadline, daily digests, decisions imported from the exported sheet,
results. Everything is real (IMAP, SMTP, SQLite, the files) except the clock.

Leaves in ``demo-out/``: every mail the applicants received (.eml), the last daily and
the closing digest (HTML, text, attached export), the final XLSX export, and prints a
summary. Servers and the store live in a temporary folder removed at the end.
"""

from __future__ import annotations

import datetime as dt
import email
import email.message
import email.policy
import io
import os
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from openpyxl import load_workbook
from rich.console import Console
from rich.table import Table

from config.programme import load_programme
from guichet.loopback.mails import ANNEXES, brussels, build, dossier_mail, with_trace
from guichet.loopback.servers import DovecotServer, SmtpRelay, guichet_imap_env, guichet_smtp_env
from ingest.mailbox import programme_mailboxes
from ingest.scheduler import Worker
from notifications.digest_mail import send_digest
from notifications.jobs import Notifier, smtp_sender
from notifications.plan import RESULTAT
from notifications.results import record_results
from notifications.wording import decision_label, status_label
from triage.decisions import current_decisions, import_decisions
from triage.export import export_table, write_xlsx
from triage.models import Application
from triage.store import Store, StoreSettings, open_store

OUT = Path(os.environ.get("GUICHET_DEMO_OUT") or ROOT / "demo-out")  # tests write elsewhere
PROGRAMME = load_programme("blossom-2026")
INFO, MANAGER = (m.address for m in PROGRAMME.mailboxes)
console = Console(highlight=False)


def zipped_annexes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in ANNEXES.values():
            archive.writestr(f"Annexes/{name}", data)
    return buffer.getvalue()


def zip_mail() -> bytes:
    """Cantine des Quartiers: the dossier, and its annexes in one .zip."""
    raw = dossier_mail("g13-table-B1col-grid", annexes=())
    message = email.message_from_bytes(raw, policy=email.policy.default)
    message.add_attachment(
        zipped_annexes(), maintype="application", subtype="zip", filename="annexes.zip"
    )
    return message.as_bytes()


def out_of_office() -> bytes:
    raw = build(
        sender="Els Kowalski <els.kowalski@potagerpartage.brussels>",
        subject="Réponse automatique : Accusé de réception – Potager Partagé SC",
        message_id="<ooo@potagerpartage.brussels>",
        body="Je suis absente jusqu’au 20 septembre.\n",
    )
    return b"Auto-Submitted: auto-replied\r\n" + raw


# (receipt time in Brussels, label, mail) — every mail reaches both mailboxes.
TIMELINE: list[tuple[dt.datetime, str, bytes]] = [
    (brussels(2026, 9, 1, 9, 12), "dossier complet", dossier_mail("g02-nextline-npar2")),
    (brussels(2026, 9, 3, 9, 0), "dossier sans bilans ni CV",
     dossier_mail("g03-mixed-labels-npar3", annexes=("statuts", "rapport"))),
    (brussels(2026, 9, 5, 14, 0), "complément : bilans et CV",
     dossier_mail("g03-mixed-labels-npar3", annexes=("bilans", "cv"), with_dossier=False,
                  message_id="<suite@velosolidaire.be>",
                  in_reply_to="<g03-mixed-labels-npar3@velosolidaire.be>")),
    (brussels(2026, 9, 7, 16, 30), "annexes dans un .zip", zip_mail()),
    (brussels(2026, 9, 8, 11, 0), "dossier sans CV",
     dossier_mail("g09-table", annexes=("statuts", "rapport", "bilans"))),
    (brussels(2026, 9, 10, 17, 45), "formulaire à moitié rempli", dossier_mail("g06-cc-placeholder-nextline")),
    (brussels(2026, 9, 12, 9, 30), "réponse automatique (absence)", out_of_office()),
    (brussels(2026, 9, 14, 9, 59, 59), "dossier à 9:59:59", dossier_mail("g20-autodiag-inline-space")),
    (brussels(2026, 9, 14, 10, 0, 1), "dossier à 10:00:01 (hors délai)", dossier_mail("g27-label-deleted")),
]  # fmt: skip

DECISIONS = {  # filled in the exported sheet's « Décision » column, as a coordinator would
    "Potager Partagé SC": "Retenu",
    "Vélo Solidaire": "Retenu",
    "Cantine des Quartiers": "Liste d’attente",
    "Habitat Partagé": "Non retenu",
    "Ressourcerie du Midi SC": "Non retenu",
    "Le Fournil Coopératif": "Retenu",
}


def sender_of(raw: bytes) -> str:
    match = re.search(rb"^From: .*<([^>]+)>", raw, re.MULTILINE)
    assert match, "every demo mail has a From"
    return match[1].decode().lower()


def safe(text: str) -> str:
    return re.sub(r"[^\w.@ -]+", "_", text)[:80].strip()


def main() -> int:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    applicants = sorted({sender_of(raw) for _, _, raw in TIMELINE})
    users = dict.fromkeys([INFO, MANAGER, *applicants], "demo")
    with tempfile.TemporaryDirectory(prefix="guichet-demo-") as tmp:
        console.print("Démarrage de Dovecot et d’un serveur SMTP sur 127.0.0.1…")
        with DovecotServer(users=users) as dovecot, SmtpRelay(dovecot) as relay:
            env = {
                **guichet_imap_env(dovecot, "info", INFO),
                **guichet_imap_env(dovecot, "programme", MANAGER),
                **guichet_smtp_env(relay),
            }
            settings = StoreSettings(
                data_dir=Path(tmp) / "var",
                database_url=f"sqlite:///{Path(tmp) / 'var' / 'guichet.sqlite3'}",
            )
            with open_store(settings) as store:
                season(dovecot, store, env)
                save_outputs(dovecot, store, applicants)
                summary(dovecot, store, applicants)
    console.print(
        f"\nRésultats dans [bold]{OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT}/[/bold] :"
    )
    for path in sorted(OUT.iterdir()):
        console.print(f"  • {path.name}{'/' if path.is_dir() else ''}")
    return 0


def season(dovecot: DovecotServer, store: Store, env: dict[str, str]) -> None:
    now = brussels(2026, 9, 1, 8, 0)
    worker = Worker(
        store, PROGRAMME, programme_mailboxes(PROGRAMME.mailboxes, env), clock=lambda: now
    )
    notifier = Notifier(store, PROGRAMME, env, smtp_sender(env))

    def tick(at: dt.datetime, what: str) -> None:
        nonlocal now
        now = at
        report = worker.poll()
        outgoing = notifier.run(at)
        new = sum(m.new for m in report.mailboxes) if report else 0
        sent = len(outgoing.delivery.sent)
        console.print(
            f"  {at:%a %d/%m %H:%M}  {what:<42} relevé : {new} nouveau(x), {sent} courriel(s) envoyé(s)"
        )

    console.print("\nSaison simulée (heure de Bruxelles) :")
    events = sorted(TIMELINE, key=lambda e: e[0])
    day = dt.date(2026, 9, 1)
    while day <= dt.date(2026, 9, 14):
        morning = dt.datetime.combine(day, dt.time(8, 0), tzinfo=PROGRAMME.zone)
        tick(morning, "relevé du matin")
        digest = send_digest(notifier, morning)
        if digest.sent:
            console.print(f"  {morning:%a %d/%m %H:%M}  point quotidien envoyé à {MANAGER}")
        afternoon = dt.datetime.combine(day, dt.time(14, 0), tzinfo=PROGRAMME.zone)
        todays = [e for e in events if e[0].date() == day]
        for when, label, raw in todays:
            if when > afternoon and afternoon < PROGRAMME.deadline_at:
                tick(afternoon, "relevé de l’après-midi")
                afternoon = dt.datetime.max.replace(tzinfo=dt.UTC)
            dovecot.append(INFO, raw, when)
            dovecot.append(MANAGER, with_trace(raw, MANAGER), when)
            tick(when + dt.timedelta(minutes=2), label)
        if afternoon < PROGRAMME.deadline_at:
            tick(afternoon, "relevé de l’après-midi")
        day += dt.timedelta(days=1)
    final = PROGRAMME.deadline_at + dt.timedelta(
        minutes=PROGRAMME.notifications.digest.final_delay_minutes
    )
    tick(final, "relevé final après la clôture")
    send_digest(notifier, final, final=True)
    console.print(f"  {final:%a %d/%m %H:%M}  point de clôture envoyé à {MANAGER}")

    decided = brussels(2026, 9, 30, 16, 0)
    sheet = Path(store.archive.root.parent) / "decisions.xlsx"
    with store.sessions() as session:
        write_xlsx(export_table(session, PROGRAMME), sheet)
    fill_decisions(sheet)
    with store.sessions.begin() as session:
        report = import_decisions(session, PROGRAMME, sheet, decided)
    console.print(
        f"  {decided:%a %d/%m %H:%M}  décisions importées du tableur : {len(report.changes)}"
    )
    results = brussels(2026, 10, 2, 9, 0)
    with store.sessions.begin() as session:
        recorded = record_results(session, store.archive, PROGRAMME, results)
    delivery, _ = notifier.flush(results, kinds=(RESULTAT,))
    console.print(
        f"  {results:%a %d/%m %H:%M}  résultats : {len(recorded)} préparé(s), {len(delivery.sent)} envoyé(s)"
    )


def fill_decisions(sheet: Path) -> None:
    book = load_workbook(sheet)
    page = book.active
    headers = [c.value for c in page[1]]
    name, decision = headers.index("Structure") + 1, headers.index("Décision") + 1
    for row in range(2, page.max_row + 1):
        chosen = DECISIONS.get(str(page.cell(row, name).value))
        if chosen:
            page.cell(row, decision).value = chosen
    book.save(sheet)


def fetch(dovecot: DovecotServer, user: str) -> list[email.message.EmailMessage]:
    """``user``'s inbox in arrival order, parsed by the standard library (its RFC 2047
    decoding keeps the space after an encoded word, which imap-tools' does not)."""
    with dovecot.mailbox(user) as box:
        box.folder.set("INBOX")
        raws = [m.obj.as_bytes() for m in box.fetch(mark_seen=False, bulk=True)]
    return [email.message_from_bytes(raw, policy=email.policy.default) for raw in raws]


def subject(mail: email.message.EmailMessage) -> str:
    return str(mail["Subject"])


def body(mail: email.message.EmailMessage, kind: str) -> str:
    part = mail.get_body((kind,))
    return part.get_content() if part is not None else ""


def save_outputs(dovecot: DovecotServer, store: Store, applicants: list[str]) -> None:
    folder = OUT / "courriels-candidats"
    for address in applicants:
        target = folder / address
        target.mkdir(parents=True)
        for n, mail in enumerate(fetch(dovecot, address), 1):
            (target / f"{n:02d} {safe(subject(mail))}.eml").write_bytes(mail.as_bytes())
    digests = [m for m in fetch(dovecot, MANAGER) if m["Auto-Submitted"] == "auto-generated"]
    for name, mail in (("point-quotidien", digests[-2]), ("point-de-cloture", digests[-1])):
        (OUT / f"{name}.html").write_text(body(mail, "html"), encoding="utf-8")
        (OUT / f"{name}.txt").write_text(body(mail, "plain"), encoding="utf-8")
    with store.sessions() as session:
        write_xlsx(export_table(session, PROGRAMME), OUT / "candidatures.xlsx")
    sent = OUT / "envoyes-info.txt"
    with dovecot.mailbox(INFO) as box:
        box.folder.set("Sent")
        raws = [m.obj.as_bytes() for m in box.fetch(mark_seen=False, bulk=True)]
    subjects = [subject(email.message_from_bytes(r, policy=email.policy.default)) for r in raws]
    sent.write_text("\n".join(subjects) + "\n", encoding="utf-8")


def summary(dovecot: DovecotServer, store: Store, applicants: list[str]) -> None:
    with store.sessions() as session:
        apps = session.query(Application).order_by(Application.first_received_at).all()
        decisions = current_decisions(session, PROGRAMME.id)
        rows = [(a.structure or "—", a.status, a.reply_to, decisions.get(a.id)) for a in apps]
    table = Table("Structure", "Statut", "Courriels reçus par le candidat", "Décision",
                  title="Candidatures BLOSSOM 2026-2027 (démo)")  # fmt: skip
    for structure, status, address, decision in rows:
        mails = fetch(dovecot, address) if address in applicants else []
        kinds = [subject(m).split(" – ")[0] for m in mails]
        table.add_row(
            structure, status_label(status), "\n".join(kinds) or "—", decision_label(decision)
        )
    console.print()
    console.print(table)


if __name__ == "__main__":
    os.umask(0o077)
    sys.exit(main())
