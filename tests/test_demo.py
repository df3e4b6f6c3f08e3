"""`make demo` end to end (scripts/demo.py): real Dovecot and SMTP, a simulated season."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import _need
from tests.servers import DovecotServer

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_demo_leaves_every_output_and_a_summary(tmp_path: Path) -> None:
    _need("Dovecot", DovecotServer.missing())
    out = tmp_path / "demo-out"
    env = {**os.environ, "GUICHET_DEMO_OUT": str(out), "COLUMNS": "160"}
    done = subprocess.run([sys.executable, "scripts/demo.py"], check=False, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Candidatures BLOSSOM 2026-2027 (démo)" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr

    mails = {p.parent.name: p for p in (out / "courriels-candidats").glob("*/*.eml")}
    assert len(mails) == 7  # one inbox per structure; the out-of-office sender is one of them
    subjects = {
        p.parent.name: [
            str(email.message_from_bytes(f.read_bytes(), policy=email.policy.default)["Subject"])
            for f in sorted(p.parent.glob("*.eml"))
        ]
        for p in mails.values()
    }
    assert [s.split(" – ")[0] for s in subjects["info@velosolidaire.be"]] == [
        "Accusé de réception", "Complément reçu", "Résultat de votre candidature",
    ]  # fmt: skip
    assert subjects["info@digicoop.be"] == ["Reçu après la clôture – DigiCoop – BLOSSOM 2026-2027"]
    # Issue #14, item 6: a dossier sent on 8 September without its CV gets the
    # acknowledgement and one follow-up naming the CV, not two reminders on top.
    assert [s.split(" – ")[0] for s in subjects["thomas.diallo@habitatpartage.be"]] == [
        "Accusé de réception",
        "Il manque encore le CV de la personne référente pour COOPCITY à votre dossier",
        "Résultat de votre candidature",
    ]
    # the out-of-office got no answer: its sender only has the answers to her dossier
    assert len(subjects["els.kowalski@potagerpartage.brussels"]) == 2

    closing = (out / "point-de-cloture.html").read_text(encoding="utf-8")
    for structure in ("Potager Partagé SC", "Vélo Solidaire", "Cantine des Quartiers", "DigiCoop"):
        assert structure in closing
    assert (out / "point-quotidien.txt").read_text(encoding="utf-8").strip()
    sheet = load_workbook(out / "candidatures.xlsx").active
    headers = [c.value for c in sheet[1]]
    decisions = [
        row[headers.index("Décision")] for row in sheet.iter_rows(min_row=2, values_only=True)
    ]
    assert sorted(d or "" for d in decisions) == sorted(
        ["", "Liste d’attente", "Non retenu", "Non retenu", "Retenu", "Retenu", "Retenu"]
    )
    sent = (out / "envoyes-info.txt").read_text(encoding="utf-8").splitlines()
    assert len(sent) == sum(len(s) for s in subjects.values())  # one Sent copy per mail
