"""Opening .zip and winmail.dat safely, in memory (parsers.archives)."""

from __future__ import annotations

import io
import zipfile

import pytest

from parsers import archives
from parsers.archives import unpack_all
from parsers.message import Attachment
from parsers.sniff import sniff
from tests.fixtures.build_emails import text_docx, text_pdf, tnef_bytes, zip_bytes

PDF = text_pdf(["Statuts"])


def attachment(
    name: str, data: bytes, content_type: str = "application/octet-stream"
) -> Attachment:
    return Attachment(filename=name, data=data, kind=sniff(data, name), content_type=content_type)


def names(unpacked) -> list[str]:
    return [f.filename for f in unpacked.files]


def test_zip_with_utf8_names_and_clutter() -> None:
    data = zip_bytes(
        [
            ("Annexes/Statuts coordonnés.pdf", PDF),
            ("Annexes/Rapport d’activité.pdf", PDF),
            ("__MACOSX/Annexes/._Statuts coordonnés.pdf", b"\x00\x05\x16\x07"),
            ("Annexes/.DS_Store", b"Bud1"),
            ("Annexes/Thumbs.db", b"x"),
            ("Annexes/desktop.ini", b"x"),
            ("Annexes/~$dossier.docx", b"x"),
            ("Annexes/", b""),
        ]
    )
    out = unpack_all([attachment("Annexes.zip", data)])
    assert names(out) == ["Statuts coordonnés.pdf", "Rapport d’activité.pdf"]
    assert out.warnings == []
    assert out.files[0].origin == ("Annexes.zip",) and out.files[0].kind == "pdf"


def test_zip_with_dos_code_page_names() -> None:
    data = zip_bytes(
        [
            ("Comptes annuels 2025 – exercice clôturé.pdf".replace("–", "-"), PDF),
            ("CV Hélène.pdf", PDF),
        ],
        utf8_names=False,
    )
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert not any(i.flag_bits & 0x800 for i in zf.infolist())
    assert names(unpack_all([attachment("a.zip", data)])) == [
        "Comptes annuels 2025 - exercice clôturé.pdf",
        "CV Hélène.pdf",
    ]


def test_utf8_names_without_the_flag_as_macos_writes_them() -> None:
    class Utf8NoFlag(zipfile.ZipInfo):
        def _encodeFilenameFlags(self):
            return self.filename.encode("utf-8"), self.flag_bits

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(Utf8NoFlag("Crèche – statuts.pdf"), PDF)
    assert names(unpack_all([attachment("mac.zip", out.getvalue())])) == ["Crèche – statuts.pdf"]


def test_paths_are_never_used_as_given() -> None:
    data = zip_bytes(
        [("../../etc/passwd.pdf", PDF), ("C:\\Windows\\evil.pdf", PDF), ("/abs/x.pdf", PDF)]
    )
    assert names(unpack_all([attachment("evil.zip", data)])) == ["passwd.pdf", "evil.pdf", "x.pdf"]


def test_office_files_are_not_unpacked() -> None:
    docx = text_docx(["Bonjour"])
    out = unpack_all([attachment("dossier.docx", docx)])
    assert names(out) == ["dossier.docx"] and out.files[0].kind == "docx"


def test_nested_zips_within_the_depth_cap() -> None:
    level3 = zip_bytes([("deep.pdf", PDF)])
    level2 = zip_bytes([("c.zip", level3), ("b.pdf", PDF)])
    level1 = zip_bytes([("b.zip", level2), ("a.pdf", PDF)])
    out = unpack_all([attachment("a.zip", level1)])
    assert names(out) == ["deep.pdf", "b.pdf", "a.pdf"]
    assert out.files[0].origin == ("a.zip", "b.zip", "c.zip")
    level4 = zip_bytes([("d.zip", level1)])
    out = unpack_all([attachment("top.zip", level4)])
    assert "c.zip" in names(out) and any("imbriquées" in w for w in out.warnings)


def test_too_many_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    data = zip_bytes([(f"f{i}.txt", b"x") for i in range(30)])
    monkeypatch.setattr(archives, "MAX_ENTRIES", 10)
    out = unpack_all([attachment("many.zip", data)])
    assert len(out.files) == 10 and "30 fichiers" in out.warnings[0]


def test_encrypted_member_is_reported() -> None:
    data = bytearray(zip_bytes([("secret.pdf", PDF)]))
    # set the "encrypted" bit in the local and central headers
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        data[at + offset] |= 0x01
    out = unpack_all([attachment("locked.zip", bytes(data))])
    assert out.files == [] and "mot de passe" in out.warnings[0]


def test_broken_zip_is_kept_with_a_warning() -> None:
    out = unpack_all([attachment("broken.zip", b"PK\x03\x04garbage" + bytes(40))])
    assert names(out) == ["broken.zip"] and "illisible" in out.warnings[0]


def test_winmail_dat_with_long_names() -> None:
    files = [
        ("Dossier de candidature – Traiteur Mosaïque.docx", text_docx(["x"])),
        ("Comptes annuels 2025.pdf", PDF),
    ]
    out = unpack_all([attachment("winmail.dat", tnef_bytes(files), "application/ms-tnef")])
    assert names(out) == [name for name, _ in files]
    assert [f.data for f in out.files] == [data for _, data in files]
    assert out.files[0].kind == "docx" and out.files[0].origin == ("winmail.dat",)


def test_tnef_with_a_zip_inside() -> None:
    inner = zip_bytes([("Statuts.pdf", PDF)])
    out = unpack_all([attachment("winmail.dat", tnef_bytes([("annexes.zip", inner)]))])
    assert names(out) == ["Statuts.pdf"]


def test_broken_tnef() -> None:
    out = unpack_all([attachment("winmail.dat", b"\x78\x9f\x3e\x22\x00", "application/ms-tnef")])
    assert names(out) == ["winmail.dat"] and out.warnings


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("annexes.rar", b"Rar!\x1a\x07\x01\x00" + bytes(20), "RAR"),
        ("annexes.7z", b"7z\xbc\xaf\x27\x1c" + bytes(20), "7Z"),
        ("annexes.tar.gz", b"\x1f\x8b\x08\x00" + bytes(20), "GZIP"),
    ],
)
def test_other_containers_are_reported_not_opened(name: str, data: bytes, kind: str) -> None:
    out = unpack_all([attachment(name, data)])
    assert names(out) == [name]
    assert kind in out.warnings[0] and "ne sait pas ouvrir" in out.warnings[0]


def test_outlook_item_is_reported() -> None:
    out = unpack_all(
        [attachment("Candidature.msg", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100))]
    )
    assert names(out) == ["Candidature.msg"] and "message Outlook" in out.warnings[0]
