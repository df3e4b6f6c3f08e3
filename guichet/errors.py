"""The error tree of guichet.

    GuichetError
    ├── ConfigError            a programme file or a setting is wrong
    ├── UnreadableDocument     a file cannot be read as a dossier
    │   ├── EncryptedDocument  password-protected PDF or Office file
    │   ├── ScannedDocument    a PDF with no text layer (needs OCR or the .docx)
    │   ├── UnsupportedFormat  not a .docx/.pdf (or a legacy format with no converter)
    │   └── UnknownForm        readable, but not a dossier of any known programme
    ├── UnreadableMessage      an email that cannot be parsed at all
    ├── MailboxError           an IMAP account cannot be reached or logged into
    ├── DeliveryError          an SMTP server refused or could not be reached
    └── InputError             a file or a word given to a command is unusable (a sheet,
        └── UnknownApplication a decision); no application, or several, match a name

Library errors are re-raised as one of these with ``from e``; only the CLI turns
them into exit codes and one-line French messages (``message`` is that line).
"""

from __future__ import annotations


class GuichetError(Exception):
    """Base of every error guichet raises on purpose."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(GuichetError):
    exit_code = 3


class UnreadableDocument(GuichetError):
    exit_code = 4


class EncryptedDocument(UnreadableDocument):
    exit_code = 5


class ScannedDocument(UnreadableDocument):
    exit_code = 6


class UnsupportedFormat(UnreadableDocument):
    exit_code = 7


class UnknownForm(UnreadableDocument):
    exit_code = 8


class UnreadableMessage(GuichetError):
    exit_code = 9


class MailboxError(GuichetError):
    exit_code = 10


class DeliveryError(GuichetError):
    exit_code = 11


class InputError(GuichetError):
    """A value or a file given on the command line cannot be used (a decision word, the
    sheet to import, the file to write)."""

    exit_code = 13


class UnknownApplication(InputError):
    """No application, or several, answer to the name given; ``suggestions`` lists the
    closest structures."""

    exit_code = 14

    def __init__(self, message: str, suggestions: list[str] | None = None) -> None:
        super().__init__(message)
        self.suggestions = suggestions or []
