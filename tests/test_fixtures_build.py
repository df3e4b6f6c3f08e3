"""The fixture dossiers: deterministic, shaped like the contract, up to date, and consistent.

`tests/fixtures/build_dossiers.py` writes the BLOSSOM and RÊVES fixture dossiers with their
truth files. These tests rebuild them into temporary folders (the generator runs as a script,
the way it is documented) and check the truth files against the field contracts of
tests/fixtures/forms/*-fields.md, restated here on purpose.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path

import docx
import pytest
from lxml import etree

FIXTURES = Path(__file__).parent / "fixtures"
GENERATOR = FIXTURES / "build_dossiers.py"
COMMITTED = {"blossom": FIXTURES / "dossiers", "reves": FIXTURES / "reves"}

BLOSSOM_KEYS = [
    "entreprise.nom",
    "entreprise.forme_juridique",
    "entreprise.adresse",
    "entreprise.date_creation",
    "entreprise.numero",
    "entreprise.structure_capital",
    "entreprise.etp",
    "entreprise.agrement",
    "entreprise.site_web",
    "entreprise.accompagnement",
    "entreprise.accompagnement_detail",
    "referent.nom",
    "referent.prenom",
    "referent.genre",
    "referent.date_naissance",
    "referent.niveau_etudes",
    "referent.telephone",
    "referent.email",
    "connaissance.source",
    "connaissance.participation",
    *[f"description.q{i}" for i in range(1, 14)],
    "besoins.motivations",
    "besoins.projection",
    "besoins.apport",
    "disponibilite.temps",
    "disponibilite.organisation",
    *[f"autodiagnostic.{i}" for i in range(1, 8)],
    "signature.lieu",
    "signature.date",
    "signature.contact_nom",
    "signature.contact_fonction",
    "signature.administrateur_nom",
    "signature.administrateur_fonction",
]
BLOSSOM_OPTIONAL = {
    "entreprise.structure_capital",
    "entreprise.site_web",
    "entreprise.accompagnement_detail",
    "referent.genre",
    "referent.date_naissance",
    "referent.niveau_etudes",
}
REVES_KEYS = [
    "applicant.organisation",
    "applicant.type",
    "applicant.address",
    "applicant.city",
    "applicant.country",
    "applicant.contact",
    "applicant.email",
    "applicant.mobile",
    "initiative.name",
    "initiative.topics",
    "initiative.context",
    "initiative.objectives",
    "initiative.description",
    "initiative.strengths",
    "initiative.partners",
    "initiative.results",
    "initiative.resources",
]
REVES_OPTIONAL = {"initiative.resources"}
CONTRACTS = {
    "blossom-2026": (BLOSSOM_KEYS, BLOSSOM_OPTIONAL),
    "reves-2017": (REVES_KEYS, REVES_OPTIONAL),
}
NIVEAUX = {
    "primaire",
    "secondaire_inferieur",
    "secondaire_superieur",
    "superieur_court",
    "superieur_long",
}

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"


def build(out: Path) -> Path:
    """Run the generator as documented, into `out` (no PDF: that needs LibreOffice)."""
    dossiers = out / "dossiers"
    subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(dossiers)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


def truths(folder: Path) -> dict[str, dict]:
    return {
        p.name: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(folder.glob("*.truth.json"))
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("fixtures"))


def test_generator_is_deterministic(built: Path, tmp_path: Path) -> None:
    again = build(tmp_path)
    for sub in ("dossiers", "reves"):
        first, second = truths(built / sub), truths(again / sub)
        assert first and first == second
        for docx_file in sorted((built / sub).glob("*.docx")):
            assert docx_file.read_bytes() == (again / sub / docx_file.name).read_bytes(), (
                docx_file.name
            )


@pytest.mark.parametrize("sub", ["dossiers", "reves"])
def test_truth_files_follow_the_contract(built: Path, sub: str) -> None:
    for name, truth in truths(built / sub).items():
        keys, optional = CONTRACTS[truth["programme"]]
        fields = truth["fields"]
        assert list(fields) == keys, name
        assert truth["file"] == name.removesuffix(".truth.json")
        unread = truth.get("unread", [])
        assert set(unread) <= {k for k in keys if fields[k] is None}
        assert truth["missing"] == [k for k in keys if k not in optional and fields[k] is None and k not in unread]
        assert {"config", "styles"} <= set(truth["meta"])


def test_blossom_values_are_normalised(built: Path) -> None:
    for name, truth in truths(built / "dossiers").items():
        f = truth["fields"]
        for key in ("entreprise.date_creation", "referent.date_naissance", "signature.date"):
            assert f[key] is None or re.fullmatch(r"\d{4}-\d\d(-\d\d)?", f[key]), (name, key)
        assert f["entreprise.numero"] is None or re.fullmatch(
            r"[01]\d{3}\.\d{3}\.\d{3}", f["entreprise.numero"]
        )
        assert f["referent.telephone"] is None or re.fullmatch(
            r"\+\d{8,15}", f["referent.telephone"]
        )
        assert f["referent.email"] is None or f["referent.email"] == f["referent.email"].lower()
        assert f["referent.niveau_etudes"] in NIVEAUX | {None}
        for i in range(1, 8):
            score = f[f"autodiagnostic.{i}"]
            assert score is None or (type(score) is int and 1 <= score <= 10)
        assert f["entreprise.etp"] is None or isinstance(f["entreprise.etp"], float)
        for key in ("entreprise.agrement", "entreprise.accompagnement"):
            assert f[key] in (True, False, None)
        if not f["entreprise.accompagnement"]:
            assert f["entreprise.accompagnement_detail"] is None


def test_fixture_set_covers_every_dimension(built: Path) -> None:
    seen: dict[str, set] = {}
    for truth in truths(built / "dossiers").values():
        if "blank_form" in truth["meta"]["styles"]:
            continue
        for dim, value in truth["meta"]["config"].items():
            seen.setdefault(dim, set()).add(json.dumps(value))
    assert seen["layout"] == {'"form"', '"table"'}
    assert {'"one_col"', '"two_col"'} <= seen["table_B"]
    assert seen["npar"] == {"1", "2", "3"}
    for flag in (
        "label_variants",
        "instructions_deleted",
        "content_controls",
        "cc_placeholder",
        "tracked",
    ):
        assert seen[flag] == {"true", "false"}, flag
    assert {'"cell"', '"fraction"', '"grid"', '"inline"'} <= seen["autodiag"]
    assert seen["numero_style"] >= {
        f'"{s}"'
        for s in ("dotted", "plain", "spaced", "be_spaced", "be_compact", "be_dotted", "old9")
    }
    assert seen["phone_style"] >= {
        f'"{s}"' for s in ("national", "intl", "0032", "slash_dot", "landline")
    }
    assert seen["niveau_mode"] >= {f'"{s}"' for s in ("option", "synonym", "blank", "marked")}


# -- what the .docx shows agrees with the truth ---------------------------------------------


def visible_paragraphs(path: Path) -> list[str]:
    """Text as Word displays it: content controls and insertions in, deletions and VML out."""
    root = etree.fromstring(zipfile.ZipFile(path).read("word/document.xml"))
    out: list[str] = []

    def text(el: etree._Element) -> str:
        parts = []
        for node in el.iter():
            if any(a.tag in (f"{W}del", f"{MC}Fallback") for a in node.iterancestors()):
                continue
            if node.tag == f"{W}t":
                parts.append(node.text or "")
            elif node.tag in (f"{W}tab", f"{W}br"):
                parts.append(" ")
        return "".join(parts)

    for p in root.iter(f"{W}p"):
        if any(a.tag == f"{W}txbxContent" for a in p.iterancestors()):
            continue  # read with the paragraph holding the text box
        out.append(text(p))
    return out


def norm(s: str) -> str:
    return " ".join(unicodedata.normalize("NFC", s).split())


@pytest.mark.parametrize("sub", ["dossiers", "reves"])
def test_docx_shows_what_the_truth_says(built: Path, sub: str) -> None:
    for name, truth in truths(built / sub).items():
        path = built / sub / truth["file"]
        docx.Document(str(path))  # python-docx opens it
        shown = norm(" ¶ ".join(visible_paragraphs(path)))
        meta = truth["meta"]
        for key, paras in meta.get("raw", {}).items():
            for para in paras or []:
                if not (isinstance(para, str) and para):
                    continue
                if key.startswith("autodiagnostic") and "grid" in meta["config"]["autodiag"]:
                    continue
                assert norm(para) in shown, (name, key, para)
        for key, deleted in meta.get("tracked_deleted", {}).items():
            for text in deleted:
                if len(text) > 5:
                    assert norm(text) not in shown, (name, key, text)
        for key in meta.get("field_tags", {}):
            if "label_deleted" in meta["field_tags"][key]:
                assert truth["fields"][key] is None


def test_committed_fixtures_are_up_to_date(built: Path) -> None:
    """Regenerating gives the committed truth files (the .docx bytes are not compared)."""
    for sub, folder in (("dossiers", COMMITTED["blossom"]), ("reves", COMMITTED["reves"])):
        fresh = truths(built / sub)
        committed = truths(folder)
        docx_truths = {k: v for k, v in committed.items() if k.endswith(".docx.truth.json")}
        assert docx_truths == fresh, f"run {GENERATOR.name} to refresh {folder}"
        for name, pdf_truth in committed.items():
            if name.endswith(".pdf.truth.json"):
                expected = json.loads(json.dumps(fresh[name.replace(".pdf.", ".docx.")]))
                expected["file"] = name.removesuffix(".truth.json")
                expected["meta"]["styles"][-1] = "pdf"
                if "format" in expected["meta"]:
                    expected["meta"]["format"] = "pdf"
                assert pdf_truth == expected, name
                assert (folder / expected["file"]).exists(), name
        for name in committed:
            assert (folder / name.removesuffix(".truth.json")).exists(), name
