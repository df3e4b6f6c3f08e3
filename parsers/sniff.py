"""What a file is, from its first bytes (and, for zip packages, its member names).

Mail clients label attachments ``application/octet-stream`` or give them no extension;
the content decides. Office Open XML and OpenDocument files are zip packages, told
apart from a plain .zip by the members they must contain. A name alone never makes a
file a document: « .txt » or « .html » counts only when the bytes are text, and a
program is an ``executable`` whatever it is called.

A password-protected Office file is an OLE2 compound file: Word 2007 and later put the
encrypted package in ``EncryptedPackage`` beside ``EncryptionInfo``; Word 97-2003 sets a
flag in the ``WordDocument`` stream. ``encrypted_office`` tells them apart from a plain
.doc without LibreOffice.
"""

from __future__ import annotations

import contextlib
import io
import struct
import zipfile
import zlib

# kind -> the extension a file of that kind should carry
EXTENSIONS = {
    "pdf": ".pdf",
    "docx": ".docx",
    "docm": ".docm",
    "xlsx": ".xlsx",
    "pptx": ".pptx",
    "odt": ".odt",
    "ods": ".ods",
    "odp": ".odp",
    "ole2": ".doc",
    "rtf": ".rtf",
    "zip": ".zip",
    "tnef": ".dat",
    "rar": ".rar",
    "7z": ".7z",
    "gzip": ".gz",
    "bzip2": ".bz2",
    "xz": ".xz",
    "tar": ".tar",
    "cab": ".cab",
    "png": ".png",
    "jpeg": ".jpg",
    "gif": ".gif",
    "tiff": ".tif",
    "bmp": ".bmp",
    "webp": ".webp",
    "heic": ".heic",
}

IMAGES = frozenset({"png", "jpeg", "gif", "tiff", "bmp", "webp", "heic"})
# containers guichet cannot open (no pure-Python reader in the project)
UNOPENABLE = frozenset({"rar", "7z", "gzip", "bzip2", "xz", "tar", "cab"})
# the kinds a dossier can come in (the dossier parser decides whether it is one)
DOCUMENTS = frozenset({"pdf", "docx", "docm", "odt", "ole2", "rtf"})
# what an annex can be: a document (PDF, Office, OpenDocument), an image, or text
READABLE = DOCUMENTS | IMAGES | frozenset({"xlsx", "pptx", "ods", "odp", "text", "html"})

# first bytes -> kind (zip packages and images are told apart further on)
_MAGIC = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole2"),
    (b"\x78\x9f\x3e\x22", "tnef"),
    (b"{\\rtf", "rtf"),
    (b"Rar!\x1a\x07", "rar"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"MSCF", "cab"),
    (b"\x7fELF", "executable"),
    (b"\xcf\xfa\xed\xfe", "executable"),  # Mach-O, 64 and 32 bits
    (b"\xce\xfa\xed\xfe", "executable"),
)

_ODF = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
}

# extension -> kind, for files whose first bytes say nothing (or that are too short)
_BY_EXTENSION = {ext: kind for kind, ext in EXTENSIONS.items()} | {
    ".jpeg": "jpeg",
    ".tiff": "tiff",
    ".tgz": "gzip",
    ".xls": "ole2",
    ".ppt": "ole2",
    ".msg": "ole2",
    ".txt": "text",
    ".csv": "text",
    ".html": "html",
    ".htm": "html",
}


def sniff(data: bytes, filename: str = "") -> str:
    """The kind of a file: a key of ``EXTENSIONS``, or "text", "html", "executable",
    "other"."""
    head = data[:1024]
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return _zip_kind(data)
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if len(data) > 262 and data[257:262] == b"ustar":
        return "tar"
    image = _image_kind(head)
    if image:
        return image
    if b"%PDF-" in head:  # readers accept junk before the header
        return "pdf"
    if _is_dos_program(data):
        return "executable"
    by_name = _BY_EXTENSION.get(extension(filename))
    if by_name in ("text", "html") and looks_like_text(data):
        return by_name
    return "other"


def looks_like_text(data: bytes) -> bool:
    """Whether the start of ``data`` reads as text: no NUL byte, hardly any control
    (UTF-16 with its byte-order mark too, as Windows' Notepad writes it)."""
    sample = data[:8192]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = sample[: len(sample) // 2 * 2].decode("utf-16", "replace")
        sample = text.encode("utf-8", "replace")
    if b"\x00" in sample:
        return False
    controls = sum(1 for byte in sample if byte < 0x20 and byte not in b"\t\n\r\f\x1a")
    return controls <= len(sample) // 100


def _is_dos_program(data: bytes) -> bool:
    """A Windows program (.exe, .dll, .scr): « MZ », and « PE » where its header says."""
    if not data.startswith(b"MZ") or len(data) < 64:
        return False
    (offset,) = struct.unpack_from("<I", data, 0x3C)
    return data[offset : offset + 4] == b"PE\x00\x00"


def claims_document(filename: str) -> bool:
    """Whether the file's name says it is a document (« .pdf », « .docx », « .jpg »…)."""
    return _BY_EXTENSION.get(extension(filename)) in READABLE


def extension(filename: str) -> str:
    """The lower-cased extension of a file name, with its dot ("" when none)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in base.strip("."):
        return ""
    return "." + base.rsplit(".", 1)[-1].lower()


def name_for(filename: str, kind: str) -> str:
    """The file name with the extension its content calls for (unchanged when it agrees)."""
    wanted = EXTENSIONS.get(kind)
    if not wanted:
        return filename
    current = extension(filename)
    if current == wanted or _BY_EXTENSION.get(current) == kind:
        return filename
    return f"{filename}{wanted}"


def _image_kind(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head.startswith(b"BM") and len(head) > 14:
        return "bmp"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc"):
        return "heic"
    return None


def _zip_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if "mimetype" in names:
                info = zf.getinfo("mimetype")
                if info.file_size < 200:
                    mime = zf.read(info).decode("ascii", "replace").strip()
                    if mime in _ODF:
                        return _ODF[mime]
            if "[Content_Types].xml" in names:
                if "word/document.xml" in names or any(n.startswith("word/") for n in names):
                    if "word/vbaProject.bin" in names:
                        return "docm"
                    return "docx"
                if any(n.startswith("xl/") for n in names):
                    return "xlsx"
                if any(n.startswith("ppt/") for n in names):
                    return "pptx"
    except (
        zipfile.BadZipFile,
        OSError,
        ValueError,
        KeyError,
        NotImplementedError,
        EOFError,
        RuntimeError,  # a « mimetype » needing a password
        zlib.error,
    ):
        pass
    return "zip"


_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_WORD_IDENT = 0xA5EC  # the first two bytes of a Word 97-2003 FIB
_WORD_ENCRYPTED = 0x0100  # FibBase.fEncrypted


def encrypted_office(data: bytes) -> bool:
    """Whether ``data`` is a password-protected Office file (an encrypted .docx, .xlsx or
    .pptx package, or an encrypted Word 97-2003 .doc), from its content."""
    if not data.startswith(_OLE2_MAGIC):
        return False
    import olefile

    try:
        with contextlib.closing(olefile.OleFileIO(io.BytesIO(data))) as ole:
            if ole.exists("EncryptionInfo") and ole.exists("EncryptedPackage"):
                return True
            if ole.exists("WordDocument"):
                with contextlib.closing(ole.openstream("WordDocument")) as stream:
                    fib = stream.read(12)
                if len(fib) == 12:
                    ident, flags = struct.unpack("<H8xH", fib)
                    return ident == _WORD_IDENT and bool(flags & _WORD_ENCRYPTED)
    except Exception:  # noqa: BLE001 - olefile raises assorted errors on damaged files
        return False
    return False
