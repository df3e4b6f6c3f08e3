"""Convert legacy word-processor files (.doc, .odt, .docm, .rtf, templates) to .docx.

LibreOffice does the work, headless, with a private profile directory per run (so that
parallel conversions do not fight over a lock) and a cap on its address space. Starting
LibreOffice costs seconds: ``convert_many`` converts all the files of one mail in a single
run; ``convert_to_docx`` is the one-file case.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from guichet.errors import EncryptedDocument, GuichetError, UnreadableDocument, UnsupportedFormat
from parsers.sniff import encrypted_office

CONVERTIBLE_SUFFIXES = frozenset(
    {".doc", ".dot", ".docm", ".dotx", ".dotm", ".odt", ".ott", ".rtf"}
)

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc, .dot
_ZIP = b"PK\x03\x04"  # .docm, .dotx, .dotm, .odt, .ott
_RTF = b"{\\rtf"
# Word also saves "Web pages" (HTML, MHTML) under .doc; LibreOffice reads those too.
_MARKUP_STARTS = (b"<", b"MIME-Version")

DEFAULT_TIMEOUT = 120.0
# LibreOffice maps about 1 GB of address space to start; a document that needs several
# more is hostile. The cap holds for soffice.bin and whatever it starts.
MEMORY_BYTES = 3 << 30
# Sets the address-space cap, then becomes the command: no preexec_fn (unsafe with threads).
_CAPPED = (
    "import os, resource, sys; n = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_AS, (n, n)); os.execvp(sys.argv[2], sys.argv[2:])"
)


def libreoffice_available() -> bool:
    """Whether ``soffice`` is on the PATH."""
    return _find_soffice() is not None


def convert_to_docx(data: bytes, suffix: str, *, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """The .docx LibreOffice makes of ``data``, a file whose name ends in ``suffix``.

    Raises ``EncryptedDocument`` for a password-protected Office file (known from its
    content, before LibreOffice is started: an encrypted .docx is an OLE2 file too),
    ``UnsupportedFormat`` when the suffix is not convertible or LibreOffice is missing,
    ``UnreadableDocument`` when the file is not what its suffix says, when the
    conversion fails or when it takes longer than ``timeout`` seconds.
    """
    (outcome,) = convert_many([(data, suffix)], timeout=timeout)
    if isinstance(outcome, GuichetError):
        raise outcome
    return outcome


def convert_many(
    files: Sequence[tuple[bytes, str]],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_bytes: int = MEMORY_BYTES,
) -> list[bytes | GuichetError]:
    """Convert ``files`` ((data, suffix) pairs) to .docx in one LibreOffice run.

    One outcome per file, in order: the .docx bytes, or the error ``convert_to_docx``
    would raise for it. Files refused from their content never reach LibreOffice. When the
    run outlasts ``timeout`` (the whole batch) or its memory cap, it is killed and every
    file not yet converted gets the reason.
    """
    outcomes: list[bytes | GuichetError | None] = []
    wanted: list[tuple[int, bytes, str]] = []
    for index, (data, suffix) in enumerate(files):
        suffix = "." + suffix.lower().lstrip(".")
        try:
            _check(data, suffix)
        except GuichetError as e:
            outcomes.append(e)
            continue
        outcomes.append(None)
        wanted.append((index, data, suffix))
    if not wanted:
        return [o for o in outcomes if o is not None]
    soffice = _find_soffice()
    if soffice is None:
        for index, _, suffix in wanted:
            outcomes[index] = UnsupportedFormat(
                f"Format {suffix} non pris en charge sans LibreOffice : "
                "merci d’envoyer le dossier en .docx ou en PDF."
            )
        return [o for o in outcomes if o is not None]
    with tempfile.TemporaryDirectory(prefix="guichet-convert-") as folder:
        work = Path(folder)
        sources = []
        for index, data, suffix in wanted:
            source = work / f"dossier-{index:04d}{suffix}"
            source.write_bytes(data)
            sources.append(source)
        failure = _run_soffice(soffice, sources, work, timeout, memory_bytes)
        for (index, _, suffix), source in zip(wanted, sources, strict=True):
            converted = work / "out" / f"{source.stem}.docx"
            if converted.is_file() and converted.stat().st_size:
                outcomes[index] = converted.read_bytes()
            elif failure is not None:
                outcomes[index] = UnreadableDocument(failure.format(suffix=suffix))
            else:
                outcomes[index] = UnreadableDocument(
                    f"Conversion du fichier {suffix} en .docx impossible "
                    "(fichier endommagé ou protégé par un mot de passe)."
                )
    return [o for o in outcomes if o is not None]


def _check(data: bytes, suffix: str) -> None:
    """Refuse, from its content alone, a file LibreOffice should not be given."""
    if encrypted_office(data):
        raise EncryptedDocument(
            "Document Office chiffré (protégé par un mot de passe) : impossible de le lire. "
            "Merci de l’envoyer sans mot de passe."
        )
    if suffix not in CONVERTIBLE_SUFFIXES:
        raise UnsupportedFormat(
            f"Format {suffix} non pris en charge : merci d’envoyer le dossier en .docx ou en PDF."
        )
    if _find_soffice() is None:
        raise UnsupportedFormat(
            f"Format {suffix} non pris en charge sans LibreOffice : "
            "merci d’envoyer le dossier en .docx ou en PDF."
        )
    if not _looks_like_a_document(data):
        raise UnreadableDocument(
            f"Le fichier {suffix} n’est pas un document de traitement de texte."
        )


def _find_soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _looks_like_a_document(data: bytes) -> bool:
    """Whether the bytes start like a file LibreOffice would open as a document.

    Without this check LibreOffice imports anything, random bytes included, as text.
    """
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith((_OLE2, _ZIP, _RTF, *_MARKUP_STARTS))


def _run_soffice(
    soffice: str, sources: list[Path], work: Path, timeout: float, memory_bytes: int
) -> str | None:
    """Run one headless conversion of ``sources`` to ``work/out``, with a private profile
    and an address-space cap; kill it all if it overruns. Returns None, or why the files
    it did not convert were not converted (``{suffix}`` to fill in)."""
    command = [
        sys.executable,
        "-c",
        _CAPPED,
        str(memory_bytes),
        soffice,
        f"-env:UserInstallation={(work / 'profile').as_uri()}",
        "--headless",
        "--invisible",
        "--norestore",
        "--nolockcheck",
        "--nologo",
        "--nodefault",
        "--convert-to",
        "docx:MS Word 2007 XML",
        "--outdir",
        str(work / "out"),
        *map(str, sources),
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
        _kill(process)
        return (
            f"Conversion du fichier {{suffix}} abandonnée après {timeout:g} s "
            "(fichier trop complexe ou endommagé)."
        )
    finally:
        _kill(process)  # whatever LibreOffice left running in its session
    if process.returncode < 0 or process.returncode in (134, 137, 139):
        return (
            "Conversion du fichier {suffix} interrompue (mémoire ou ressources épuisées : "
            "fichier trop complexe ou endommagé)."
        )
    return None


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.returncode is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()  # reaps it and closes its pipes
        return
    try:  # the launcher is gone; what it started may not be
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
