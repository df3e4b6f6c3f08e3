"""Programmes are configuration: one YAML file per programme, validated on load.

A new form or a new year is a new file in ``config/programmes/`` (or in a folder
named by ``GUICHET_PROGRAMMES_DIR``); no code is specific to one programme.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from guichet.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import ValidationError

PROGRAMMES_DIR = Path(__file__).parent / "programmes"

FieldType = Literal[
    "text",
    "date",
    "enterprise_number",
    "number",
    "yes_no",
    "phone",
    "email",
    "choice",
    "multi_choice",
    "score",
]


class _Strict:
    # The specs are plain frozen dataclasses, so that a programme read back from the cache
    # (load_programme_file) needs no pydantic; pydantic validates them from YAML (with this
    # config: an unknown key is an error), and each checks itself in ``__post_init__``.
    __pydantic_config__ = {"extra": "forbid"}


_spec = dataclass(frozen=True, kw_only=True)


@_spec
class FieldSpec(_Strict):
    """One field of a form: its record key, how it is printed, how it is normalised."""

    key: str
    label: str | None = None  # None only for derived fields
    title: str | None = None  # how people are told of it (mails, digest) if the label is unclear
    variants: tuple[str, ...] = ()
    type: FieldType = "text"
    required: bool = False
    derived: bool = False  # filled from another field (e.g. the detail after oui/non)
    detail_key: str | None = None  # yes_no: where the text after the answer goes
    template_answer: str | None = None  # text the blank form prints as the answer
    inline_without_separator: bool = False  # "Fait à Bruxelles": no colon after the label
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)  # choice: value -> phrases that mean it
    options: tuple[str, ...] = ()  # multi_choice: the printed options, in order
    max_lines: int | None = None
    min: int = 1  # score bounds
    max: int = 10

    def __post_init__(self) -> None:
        if self.label is None and not self.derived:
            raise ValueError("a field needs a label unless it is derived")
        if self.type == "choice" and not self.choices:
            raise ValueError("a choice field needs choices")
        if self.type == "multi_choice" and not self.options:
            raise ValueError("a multi_choice field needs options")
        if self.detail_key and self.type != "yes_no":
            raise ValueError("detail_key goes with type yes_no")

    @property
    def labels(self) -> tuple[str, ...]:
        return ((self.label,) if self.label else ()) + self.variants


@_spec
class SectionSpec(_Strict):
    id: str
    fields: tuple[FieldSpec, ...]
    max_lines: int | None = None  # default line limit for the section's text fields
    any_order: bool = False  # fields may be read in any order (tables with repeated labels)
    column_prefix: str = ""  # heads its fields in the export ("B{n}. ": n, the field's rank)


@_spec
class FormSpec(_Strict):
    sections: tuple[SectionSpec, ...]
    stops: tuple[str, ...] = ()
    ignore_patterns: tuple[str, ...] = ()  # regexes of instructions never part of an answer
    chars_per_line: int = 95

    def __post_init__(self) -> None:
        for pattern in self.ignore_patterns:
            try:
                re.compile(pattern)
            except re.error as e:
                raise ValueError(f"ignore_patterns: invalid regex {pattern!r}: {e}") from e
        keys = [f.key for s in self.sections for f in s.fields]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"duplicate field keys: {', '.join(dupes)}")
        by_key = set(keys)
        for f in self.fields():
            if f.detail_key and f.detail_key not in by_key:
                raise ValueError(f"{f.key}: detail_key {f.detail_key} is not a field")

    def fields(self) -> Iterator[FieldSpec]:
        for section in self.sections:
            yield from section.fields

    def field(self, key: str) -> FieldSpec:
        for f in self.fields():
            if f.key == key:
                return f
        raise KeyError(key)

    def line_limit(self, key: str) -> int | None:
        for section in self.sections:
            for f in section.fields:
                if f.key == key:
                    return f.max_lines or (section.max_lines if f.type == "text" else None)
        raise KeyError(key)


@_spec
class AnnexSpec(_Strict):
    key: str
    label: str
    required: bool = True
    keywords: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    years: int | None = None  # bilans: how many distinct financial years are required


@_spec
class MailboxSpec(_Strict):
    id: str
    address: str


@_spec
class SubjectSpec(_Strict):
    convention: str
    parts: tuple[str, ...]  # fixed parts before the structure name, in order
    year: int | None = None


@_spec
class RecognitionSpec(_Strict):
    phrases: tuple[str, ...]


@_spec
class PeriodSpec(_Strict):
    start: dt.date
    end: dt.date


@_spec
class PersonSpec(_Strict):
    name: str
    email: str
    phone: str | None = None


@_spec
class RegionSpec(_Strict):
    name: str
    postcodes: tuple[int, int]  # first and last postal code, inclusive


@_spec
class EligibilitySpec(_Strict):
    """Rules a coordinator is warned about; they never make a dossier incomplete."""

    founded_field: str | None = None  # date field: the organisation's founding
    min_age_years: int | None = None  # founded at least this long before the deadline
    address_field: str | None = None
    region: RegionSpec | None = None  # the address's postal code should fall in it


@_spec
class ReminderSpec(_Strict):
    """A reminder to applicants whose dossier is still incomplete, before the deadline."""

    days_before: int  # 0: on the deadline's day
    at: dt.time  # local time


@_spec
class DigestSpec(_Strict):
    at: dt.time = dt.time(8, 0)  # local time of the daily digest
    recipients: tuple[str, ...] = ()  # default: the programme manager
    final_delay_minutes: int = 5  # the deadline-day digest, this long after the deadline


@_spec
class NotificationsSpec(_Strict):
    """Mails guichet sends: to applicants (from one of the programme's mailboxes) and the
    coordinators' digest."""

    from_mailbox: str | None = None  # a mailbox id; default: the first mailbox
    follow_up_after_days: int = 3  # relance: an application still incomplete this long
    # At most one follow-up or reminder about the same missing items this often (days; the
    # acknowledgement or complement that listed them counts); 0: no such limit.
    same_missing_every_days: int = 3
    reminders: tuple[ReminderSpec, ...] = ()
    daily_cap: int = 4  # mails to one recipient per day, results excepted
    decisions_warning_days: int = 2  # the digest warns this long before the results date
    digest: DigestSpec = field(default_factory=DigestSpec)
    # What an acknowledgement repeats back: these fields (named by their title, else their
    # label), then per section « n réponses sur m » (« notes » for scores) under its name.
    summary_fields: tuple[str, ...] = ()
    summary_counts: dict[str, str] = field(default_factory=dict)  # section id -> how the acknowledgement names it

    def __post_init__(self) -> None:
        for name in ("same_missing_every_days", "follow_up_after_days"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be 0 or more days")


Language = Literal["fr", "nl", "en"]  # the languages guichet writes to applicants in


@_spec
class FieldWords(_Strict):
    """A field as mails in another language name it: its title, and for a field named by
    its number (« question 12 ») the form's question, quoted when it is missing."""

    title: str
    question: str | None = None


@_spec
class LanguageWords(_Strict):
    """What mails to applicants show of the programme, in one language other than the
    form's: fields (by key), annexes (by key) and summary sections (by id)."""

    fields: dict[str, FieldWords] = field(default_factory=dict)
    annexes: dict[str, str] = field(default_factory=dict)
    sections: dict[str, str] = field(default_factory=dict)


@_spec
class LanguagesSpec(_Strict):
    """The languages mails to applicants are written in: the applicant's (detected from
    their mail and dossier) when offered, else ``default``. ``form`` is the language of
    the form's labels and annex labels; every other offered language names them in
    ``words``."""

    offered: tuple[Language, ...] = ("fr",)
    default: Language = "fr"
    form: Language = "fr"
    words: dict[Language, LanguageWords] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.default not in self.offered:
            raise ValueError(f"default: {self.default} is not in offered")
        for language in self.words:
            if language not in self.offered or language == self.form:
                raise ValueError(f"words: {language} is not offered, or is the form's language")


@_spec
class Programme(_Strict):
    id: str
    name: str
    organisation: str
    timezone: str = "Europe/Brussels"
    deadline: dt.datetime | None = None  # naive: local time in `timezone`
    phone_calls: PeriodSpec | None = None
    results_date: dt.date | None = None
    manager: PersonSpec | None = None
    mailboxes: tuple[MailboxSpec, ...] = ()
    subject: SubjectSpec | None = None
    recognition: RecognitionSpec
    form: FormSpec
    annexes: tuple[AnnexSpec, ...] = ()
    eligibility: EligibilitySpec = field(default_factory=EligibilitySpec)
    notifications: NotificationsSpec = field(default_factory=NotificationsSpec)
    languages: LanguagesSpec = field(default_factory=LanguagesSpec)
    retention_days: int = 365  # personal data kept this long after results_date (guichet purge)
    # The blank form as distributed (a .docx beside the programme file): the reader aligns
    # filled dossiers with its text. ``folder`` is set by the loader, never written in YAML.
    blank_form: str | None = None
    folder: Path | None = None

    @property
    def blank_form_path(self) -> Path | None:
        if self.blank_form is None:
            return None
        return (self.folder or PROGRAMMES_DIR) / self.blank_form

    def __post_init__(self) -> None:
        self._known_zone()
        self._naive_deadline()
        self._summary_names_the_form()
        self._every_language_names_what_mails_show()
        self._sender_is_a_mailbox()
        self._eligibility_fields_exist()

    def _summary_names_the_form(self) -> None:
        keys = set(self.field_keys())
        sections = {section.id for section in self.form.sections}
        for key in self.notifications.summary_fields:
            if key not in keys:
                raise ValueError(f"notifications.summary_fields: {key} is not a field of the form")
        for section in self.notifications.summary_counts:
            if section not in sections:
                raise ValueError(f"notifications.summary_counts: {section} is not a section")

    def _every_language_names_what_mails_show(self) -> None:
        """Each offered language other than the form's names every field a mail can name
        (required, summarised), with its question when named by number, every annex and
        every summarised section; and names nothing the programme does not have."""
        spec = self.languages
        fields = {f.key: f for f in self.form.fields()}
        annexes = {a.key for a in self.annexes}
        shown = [k for k in fields if fields[k].required] + list(self.notifications.summary_fields)
        for language in spec.offered:
            if language == spec.form:
                continue
            where = f"languages.words.{language}"
            words = spec.words.get(language)
            if words is None:
                raise ValueError(f"{where}: missing (the names of fields and annexes)")
            for key in words.fields:
                if key not in fields:
                    raise ValueError(f"{where}.fields: {key} is not a field of the form")
            for key in dict.fromkeys(shown):
                if key not in words.fields:
                    raise ValueError(f"{where}.fields: {key} has no name")
                title = fields[key].title or ""
                if NUMBERED_TITLE.search(title) and not words.fields[key].question:
                    raise ValueError(f"{where}.fields: {key} has no question")
            wrong = sorted(annexes ^ set(words.annexes))
            if wrong:
                raise ValueError(f"{where}.annexes: {wrong[0]} is not named, or not an annex")
            unnamed = sorted(set(self.notifications.summary_counts) - set(words.sections))
            if unnamed:
                raise ValueError(f"{where}.sections: {unnamed[0]} has no name")

    def _sender_is_a_mailbox(self) -> None:
        chosen = self.notifications.from_mailbox
        if chosen is not None and chosen not in {m.id for m in self.mailboxes}:
            raise ValueError(f"notifications.from_mailbox: {chosen} is not a mailbox id")

    @property
    def sender_mailbox(self) -> MailboxSpec | None:
        """The mailbox mails to applicants are sent from (and copied to)."""
        chosen = self.notifications.from_mailbox
        return next((m for m in self.mailboxes if chosen in (None, m.id)), None)

    @property
    def digest_recipients(self) -> tuple[str, ...]:
        recipients = self.notifications.digest.recipients
        if recipients:
            return recipients
        return (self.manager.email,) if self.manager else ()

    def _eligibility_fields_exist(self) -> None:
        keys = set(self.field_keys())
        for name in ("founded_field", "address_field"):
            key = getattr(self.eligibility, name)
            if key is not None and key not in keys:
                raise ValueError(f"eligibility.{name}: {key} is not a field of the form")

    def _known_zone(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"timezone: unknown time zone {self.timezone!r}") from e

    def _naive_deadline(self) -> None:
        if self.deadline is not None and self.deadline.tzinfo is not None:
            raise ValueError("deadline: give it in local time, without an offset")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def deadline_at(self) -> dt.datetime | None:
        """The deadline as an aware datetime in the programme's time zone."""
        return self.deadline.replace(tzinfo=self.zone) if self.deadline else None

    def field_keys(self) -> list[str]:
        return [f.key for f in self.form.fields()]

    def required_keys(self) -> list[str]:
        return [f.key for f in self.form.fields() if f.required]


# A field named by its number in the form (« question 12 »): mails quote its question.
NUMBERED_TITLE = re.compile(r"\b(?:question|affirmation)\s+\d+", re.IGNORECASE)


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(racine)"
    return f"clé « {where} » : {first['msg']}"


def load_programme_file(path: Path) -> Programme:
    """Read and validate one programme file; errors name the file and the key.

    The validated programme is kept in a cache (``config.cache``) keyed by the file's
    bytes and this module's code, and read back from there while neither changes.
    """
    from config import cache

    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path} : illisible ({e.strerror})") from e
    key = cache.key(raw, str(path.resolve()).encode(), Path(__file__).read_bytes(), _validator_version())
    programme = cache.load("programmes", key, Programme)
    if programme is None:
        programme = _validate_file(path, raw)
        cache.store("programmes", key, programme)
    form = programme.blank_form_path
    if form is not None and not form.is_file():
        raise ConfigError(f"{path} : clé « blank_form » : fichier introuvable ({form})")
    return programme


def _validator_version() -> bytes:
    """The validating library's version (a new one may read the same YAML otherwise),
    read from its files: importing it is what the cache saves."""
    spec = importlib.util.find_spec("pydantic")
    version = Path(spec.origin).with_name("version.py") if spec and spec.origin else None
    try:
        return version.read_bytes() if version else b""
    except OSError:
        return b""


def _validate_file(path: Path, raw: bytes) -> Programme:
    import yaml
    from pydantic import TypeAdapter, ValidationError

    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path} : illisible (pas de l’UTF-8)") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} : YAML invalide ({e})") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path} : le fichier doit décrire un programme (un dictionnaire)")
    if "folder" in data:
        raise ConfigError(f"{path} : clé « folder » : réservée (le dossier du fichier)")
    try:
        programme = TypeAdapter(Programme).validate_python({**data, "folder": path.parent})
    except ValidationError as e:
        raise ConfigError(f"{path} : {_describe(e)}") from e
    return programme


def programme_dirs() -> list[Path]:
    extra = os.environ.get("GUICHET_PROGRAMMES_DIR")
    return ([Path(extra)] if extra else []) + [PROGRAMMES_DIR]


@cache
def _load_dir(directory: Path) -> tuple[Programme, ...]:
    return tuple(load_programme_file(p) for p in sorted(directory.glob("*.yaml")))


def all_programmes() -> list[Programme]:
    seen: dict[str, Programme] = {}
    for directory in programme_dirs():
        if directory.is_dir():
            for programme in _load_dir(directory):
                seen.setdefault(programme.id, programme)
    return list(seen.values())


def load_programme(programme_id: str) -> Programme:
    for programme in all_programmes():
        if programme.id == programme_id:
            return programme
    known = ", ".join(sorted(p.id for p in all_programmes())) or "aucun"
    raise ConfigError(f"programme inconnu : « {programme_id} » (connus : {known})")
