"""Convert legacy word-processor files (.doc, .odt, .docm, .rtf, templates) to .docx.

LibreOffice does the work, headless, one process per file, each with its own
profile directory so that parallel conversions do not fight over a lock.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from guichet.errors import EncryptedDocument, UnreadableDocument, UnsupportedFormat
from parsers.sniff import encrypted_office

CONVERTIBLE_SUFFIXES = frozenset(
    {".doc", ".dot", ".docm", ".dotx", ".dotm", ".odt", ".ott", ".rtf"}
)

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc, .dot
_ZIP = b"PK\x03\x04"  # .docm, .dotx, .dotm, .odt, .ott
_RTF = b"{\\rtf"
# Word also saves "Web pages" (HTML, MHTML) under .doc; LibreOffice reads those too.
_MARKUP_STARTS = (b"<", b"MIME-Version")


def libreoffice_available() -> bool:
    """Whether ``soffice`` is on the PATH."""
    return _find_soffice() is not None


def convert_to_docx(data: bytes, suffix: str, *, timeout: float = 120) -> bytes:
    """The .docx LibreOffice makes of ``data``, a file whose name ends in ``suffix``.

    Raises ``EncryptedDocument`` for a password-protected Office file (known from its
    content, before LibreOffice is started: an encrypted .docx is an OLE2 file too),
    ``UnsupportedFormat`` when the suffix is not convertible or LibreOffice is missing,
    ``UnreadableDocument`` when the file is not what its suffix says, when the
    conversion fails or when it takes longer than ``timeout`` seconds.
    """
    if encrypted_office(data):
        raise EncryptedDocument(
            "Document Office chiffré (protégé par un mot de passe) : impossible de le lire. "
            "Merci de l’envoyer sans mot de passe."
        )
    suffix = "." + suffix.lower().lstrip(".")
    if suffix not in CONVERTIBLE_SUFFIXES:
        raise UnsupportedFormat(
            f"Format {suffix} non pris en charge : merci d’envoyer le dossier en .docx ou en PDF."
        )
    soffice = _find_soffice()
    if soffice is None:
        raise UnsupportedFormat(
            f"Format {suffix} non pris en charge sans LibreOffice : "
            "merci d’envoyer le dossier en .docx ou en PDF."
        )
    if not _looks_like_a_document(data):
        raise UnreadableDocument(
            f"Le fichier {suffix} n’est pas un document de traitement de texte."
        )
    with tempfile.TemporaryDirectory(prefix="guichet-convert-") as folder:
        work = Path(folder)
        source = work / f"dossier{suffix}"
        source.write_bytes(data)
        _run_soffice(soffice, source, work, timeout)
        converted = work / "out" / "dossier.docx"
        if not converted.is_file():
            raise UnreadableDocument(
                f"Conversion du fichier {suffix} en .docx impossible "
                "(fichier endommagé ou protégé par un mot de passe)."
            )
        return converted.read_bytes()


def _find_soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _looks_like_a_document(data: bytes) -> bool:
    """Whether the bytes start like a file LibreOffice would open as a document.

    Without this check LibreOffice imports anything, random bytes included, as text.
    """
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith((_OLE2, _ZIP, _RTF, *_MARKUP_STARTS))


def _run_soffice(soffice: str, source: Path, work: Path, timeout: float) -> None:
    """Run one headless conversion to ``work/out``; kill it all if it overruns."""
    command = [
        soffice,
        f"-env:UserInstallation={(work / 'profile').as_uri()}",
        "--headless",
        "--norestore",
        "--nolockcheck",
        "--nologo",
        "--nodefault",
        "--convert-to",
        "docx:MS Word 2007 XML",
        "--outdir",
        str(work / "out"),
        str(source),
    ]
    # soffice is a launcher that starts soffice.bin: a session of their own lets us kill both.
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        cwd=work,
    )
    try:
        process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise UnreadableDocument(
            f"Conversion du fichier {source.suffix} abandonnée après {timeout:g} s "
            "(fichier trop complexe ou endommagé)."
        ) from None
