"""Whether a file arrived damaged: its transfer encoding broken, or its content cut short.

A mail client or a relay sometimes mangles an attachment: base64 that cannot be decoded
(a line lost, characters outside the alphabet), a package or a PDF cut before its end.
Such a file is not the applicant's choice: coordinators are told, and the acknowledgement
asks for the file again. The checks are cheap and never inflate anything: a zip package
must have a readable central directory, a compound file (.doc) a readable header and
allocation table; a PDF without its end-of-file marker counts as damaged only when its
base64 was faulty too (PDF readers rebuild what is missing, and some writers omit the
marker). Never raises.
"""

from __future__ import annotations

import io
import zipfile

from parsers.sniff import claims_document

PDF_TAIL = 8192  # « %%EOF » must be within the last bytes of a whole PDF
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# What went wrong with the transfer encoding (``transfer_problem`` in parsers.message)
UNDECODABLE = "undecodable"  # nothing could be decoded: the bytes are still base64 text
DUBIOUS = "dubious"  # decoded past invalid characters or missing padding: content to check


def damage(data: bytes, kind: str, filename: str, transfer: str | None = None) -> str | None:
    """Why the file looks damaged, in French, or None."""
    if transfer == UNDECODABLE:
        return "encodage de la pièce jointe illisible (base64 invalide)"
    why = _content_damage(data, kind)
    if why is None and transfer == DUBIOUS:
        if kind == "other" and claims_document(filename):
            why = "contenu illisible après décodage"
        elif kind == "pdf" and b"%%EOF" not in data[-PDF_TAIL:]:
            why = "PDF incomplet (fin du fichier absente)"
    if why is not None and transfer == DUBIOUS:
        why += ", encodage de la pièce jointe abîmé"
    return why


def _content_damage(data: bytes, kind: str) -> str | None:
    head = data[:8]
    try:
        if head.startswith(_ZIP):
            with zipfile.ZipFile(io.BytesIO(data)) as package:
                package.infolist()
            return None
        if head.startswith(_OLE2):
            import olefile

            with olefile.OleFileIO(data) as ole:
                ole.listdir()
            return None
    except Exception:  # noqa: BLE001 - any failure to open the container is the damage
        return "fichier incomplet ou endommagé"
    return None
