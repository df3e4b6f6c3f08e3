"""Open the containers applicants send their files in: .zip and Outlook's winmail.dat.

Everything is read in memory, within caps on the number of entries, their total size,
their compression ratio and the nesting depth, so a zip bomb ends in a warning and never
in a crash or a memory blow-up. No path from an archive is ever used as given: only the
base name is kept, as a label. Other containers (.rar, .7z, .tar.gz...) stay as they are,
with a warning that guichet cannot open them.
"""

from __future__ import annotations

import io
import lzma
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from parsers.message import Attachment
from parsers.safe_text import clean_filename
from parsers.sniff import UNOPENABLE, claims_document, extension, sniff

MAX_ENTRIES = 200  # files per archive
MAX_FILES = 500  # files unpacked from one mail, all archives together
MAX_MEMBER_BYTES = 40 * 1024 * 1024  # one unpacked file
MAX_TOTAL_BYTES = 100 * 1024 * 1024  # everything unpacked from one mail
MAX_RATIO = 100  # uncompressed / compressed, for members over RATIO_FLOOR
RATIO_FLOOR = 1024 * 1024
MAX_DEPTH = 3  # a zip in a zip in a zip
_CHUNK = 64 * 1024

_CLUTTER_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini", "ehthumbs.db", ".localized"})
_UTF8_FLAG = 0x800
_ENCRYPTED_FLAG = 0x1


@dataclass
class Unpacked:
    """The files found once every container is opened, and what went wrong."""

    files: list[Attachment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    total: int = 0  # bytes unpacked so far
    count: int = 0  # files unpacked so far

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)


def unpack_all(attachments: Iterable[Attachment]) -> Unpacked:
    """Replace each .zip / winmail.dat by the files inside (recursively, within caps)."""
    out = Unpacked()
    for attachment in attachments:
        _unpack(attachment, out, depth=0)
    return out


def _unpack(attachment: Attachment, out: Unpacked, depth: int) -> None:
    if attachment.kind == "zip":
        _unpack_zip(attachment, out, depth)
    elif attachment.kind == "tnef" or attachment.content_type in (
        "application/ms-tnef",
        "application/vnd.ms-tnef",
    ):
        _unpack_tnef(attachment, out, depth)
    else:
        if attachment.kind == "ole2" and extension(attachment.filename) == ".msg":
            out.warn(
                f"« {attachment.filename} » est un message Outlook joint : guichet ne l'ouvre pas, "
                "à ouvrir dans Outlook"
            )
        elif attachment.kind == "executable":
            out.warn(
                f"« {attachment.filename} » est un programme, pas un document : "
                "il ne compte pas comme pièce du dossier et ne doit pas être ouvert"
            )
        elif attachment.kind == "other" and claims_document(attachment.filename):
            out.warn(
                f"« {attachment.filename} » n'est pas le document que son nom annonce "
                "(contenu illisible) : il ne compte pas comme pièce du dossier"
            )
        elif attachment.kind in UNOPENABLE:
            out.warn(
                f"« {attachment.filename} » est une archive {attachment.kind.upper()} que "
                "guichet ne sait pas ouvrir : à ouvrir à la main ou à redemander en .zip ou en PDF"
            )
        out.files.append(attachment)


def decode_zip_name(info: zipfile.ZipInfo) -> str:
    """A member's name: UTF-8 when flagged; else UTF-8 if it decodes, else the DOS code page.

    Windows writes names in the OEM code page without the UTF-8 flag (cp850 in Belgium,
    identical to the zip standard's cp437 for every letter French uses); macOS writes
    UTF-8 without the flag.
    """
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    raw = info.filename.encode("cp437")  # zipfile decoded it as cp437: undo that exactly
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp850")


def _is_clutter(path: str) -> bool:
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    if not parts:
        return True
    base = parts[-1]
    return (
        "__MACOSX" in parts
        or base.startswith(("._", "~$"))  # macOS resource forks, Office lock files
        or base.lower() in _CLUTTER_NAMES
    )


def _base_name(path: str) -> str:
    return clean_filename(path.replace("\\", "/").rstrip("/")) or "sans-nom"


def _unpack_zip(archive: Attachment, out: Unpacked, depth: int) -> None:
    label = archive.filename
    if depth >= MAX_DEPTH:
        out.warn(f"« {label} » : archives imbriquées au-delà de {MAX_DEPTH} niveaux, non ouvertes")
        out.files.append(archive)
        return
    try:
        zf = zipfile.ZipFile(io.BytesIO(archive.data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        out.warn(f"« {label} » : archive .zip illisible (endommagée ou incomplète)")
        out.files.append(archive)
        return
    with zf:
        members = [i for i in zf.infolist() if not i.is_dir() and not _is_clutter(i.filename)]
        if len(members) > MAX_ENTRIES:
            out.warn(
                f"« {label} » contient {len(members)} fichiers : seuls les {MAX_ENTRIES} "
                "premiers sont lus"
            )
            members = members[:MAX_ENTRIES]
        for info in members:
            out.count += 1
            if out.count > MAX_FILES:
                out.warn(f"plus de {MAX_FILES} fichiers dans les archives : la suite n'est pas lue")
                return
            name = decode_zip_name(info)
            if info.flag_bits & _ENCRYPTED_FLAG:
                out.warn(f"« {_base_name(name)} » dans « {label} » est protégé par un mot de passe")
                continue
            data = _read_member(zf, info, name, label, out)
            if data is None:
                continue
            kind = sniff(data, name)
            member = Attachment(
                filename=_base_name(name),
                data=data,
                kind=kind,
                content_type="application/octet-stream",
                origin=archive.origin + (label,),
            )
            _unpack(member, out, depth + 1)


def _read_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, label: str, out: Unpacked
) -> bytes | None:
    """The member's bytes, read in chunks so a lying header cannot blow the caps."""
    shown = _base_name(name)
    bomb = f"« {label} » ressemble à une bombe de décompression (« {shown} ») : non ouvert"
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        out.warn(bomb)
        return None
    if info.file_size > MAX_MEMBER_BYTES or out.total + info.file_size > MAX_TOTAL_BYTES:
        out.warn(f"« {shown} » dans « {label} » est trop volumineux une fois décompressé : non lu")
        return None
    limit = min(MAX_MEMBER_BYTES, MAX_TOTAL_BYTES - out.total)
    chunks: list[bytes] = []
    size = 0
    try:
        with zf.open(info) as stream:
            while True:
                chunk = stream.read(_CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit or (
                    size > RATIO_FLOOR and size > MAX_RATIO * max(info.compress_size, 1)
                ):
                    out.warn(bomb)
                    return None
                chunks.append(chunk)
    except (
        zipfile.BadZipFile,
        OSError,
        ValueError,
        EOFError,
        NotImplementedError,
        RuntimeError,
        zlib.error,  # a damaged deflate stream
        lzma.LZMAError,
    ) as e:
        out.warn(f"« {shown} » dans « {label} » est illisible ({_why_unreadable(e)})")
        return None
    out.total += size
    return b"".join(chunks)


def _why_unreadable(error: Exception) -> str:
    """Why a member could not be read, in words (never an exception's name)."""
    if isinstance(error, RuntimeError):  # zipfile: a member needing a password
        return "protégé par un mot de passe"
    if isinstance(error, NotImplementedError):
        return "méthode de compression non prise en charge"
    return "fichier endommagé"


def _unpack_tnef(container: Attachment, out: Unpacked, depth: int) -> None:
    from tnefparse.tnef import TNEF

    label = container.filename
    try:
        tnef = TNEF(container.data, do_checksum=False)
        found = [(a.long_filename() or a.name, a.data) for a in tnef.attachments]
    except Exception:  # noqa: BLE001 - tnefparse raises assorted errors on bad input
        out.warn(
            f"« {label} » : pièce Outlook illisible (winmail.dat endommagé) ; "
            "ses pièces jointes sont à redemander"
        )
        out.files.append(container)
        return
    if not found:
        out.warn(f"« {label} » (Outlook) ne contient aucune pièce jointe")
    for name, data in found:
        if isinstance(data, str):
            data = data.encode("utf-8")
        name = _base_name(str(name)) if name else "sans-nom"
        out.total += len(data)
        if out.total > MAX_TOTAL_BYTES:
            out.warn(f"« {label} » : pièces trop volumineuses, la suite n'est pas lue")
            return
        kind = sniff(data, name)
        member = replace(
            container,
            filename=name,
            data=data,
            kind=kind,
            content_type="application/octet-stream",
            inline=False,
            origin=container.origin + (label,),
        )
        _unpack(member, out, depth + 1)
