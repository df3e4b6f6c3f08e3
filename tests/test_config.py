"""Programme files are validated on load; a bad one names the file and the key."""

from __future__ import annotations

from pathlib import Path

import shutil

import pytest
import yaml

from config.programme import PROGRAMMES_DIR, all_programmes, load_programme, load_programme_file
from guichet.errors import ConfigError
from tests.samples import FORMS

CONTRACT_KEYS = {
    "blossom-2026": FORMS / "blossom-2026-fields.md",
    "reves-2017": FORMS / "reves-2017-fields.md",
}


def contract_keys(path: Path) -> list[str]:
    """Keys in the first column of a field contract's table (q1 … q13 expanded)."""
    keys = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) < 3 or "." not in cells[1] or cells[1].startswith("-"):
            continue
        if "…" in cells[1]:
            first, last = (k.strip() for k in cells[1].split("…"))
            stem, a = first.rsplit(".", 1)
            b = last.rsplit(".", 1)[1]
            prefix = a.rstrip("0123456789")
            keys.extend(f"{stem}.{prefix}{n}" for n in range(int(a[len(prefix):]), int(b[len(prefix):]) + 1))
        elif " " not in cells[1]:
            keys.append(cells[1])
    return [k.strip("`") for k in keys if not k.startswith("annexe.")]


@pytest.mark.parametrize("programme_id", sorted(CONTRACT_KEYS))
def test_programme_fields_are_the_contract(programme_id: str) -> None:
    path = CONTRACT_KEYS[programme_id]
    assert set(load_programme(programme_id).field_keys()) == set(contract_keys(path))


def test_both_programmes_load_with_aware_deadlines() -> None:
    ids = {p.id for p in all_programmes()}
    assert {"blossom-2026", "reves-2017"} <= ids
    deadline = load_programme("blossom-2026").deadline_at
    assert deadline is not None and deadline.utcoffset().total_seconds() == 7200  # CEST in September


def test_unknown_programme_lists_known_ones() -> None:
    with pytest.raises(ConfigError, match="blossom-2026"):
        load_programme("nope-1999")


def write_variant(tmp_path: Path, change) -> Path:
    data = yaml.safe_load((PROGRAMMES_DIR / "blossom-2026.yaml").read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["form"]["sections"][0]["fields"][0].update(type="colour"), "form.sections.0.fields.0.type"),
        (lambda d: d.update(timezone="Mars/Olympus"), "timezone"),
        (lambda d: d.update(deadline="2026-09-14T10:00:00+02:00"), "deadline"),
        (lambda d: d["form"]["sections"][0]["fields"][0].update(unknown_key=1), "unknown_key"),
        (lambda d: d["form"]["sections"][1]["fields"].append(d["form"]["sections"][0]["fields"][0]), "duplicate field keys"),
        (lambda d: d["form"].update(ignore_patterns=["(unclosed"]), "ignore_patterns"),
        (lambda d: d.pop("recognition"), "recognition"),
    ],
)
def test_a_bad_programme_file_names_file_and_key(tmp_path: Path, change, expected: str) -> None:
    path = write_variant(tmp_path, change)
    with pytest.raises(ConfigError) as info:
        load_programme_file(path)
    assert str(path) in info.value.message
    assert expected in info.value.message


def test_invalid_yaml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="YAML invalide"):
        load_programme_file(path)


def test_a_new_programme_is_only_a_yaml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from config import programme as module

    data = yaml.safe_load((PROGRAMMES_DIR / "reves-2017.yaml").read_text(encoding="utf-8"))
    data.update(id="reves-2018", name="RÊVES Excellence Award 2018", blank_form="reves-2018.docx")
    (tmp_path / "reves-2018.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    shutil.copy(PROGRAMMES_DIR / "reves-2017.docx", tmp_path / "reves-2018.docx")
    monkeypatch.setenv("GUICHET_PROGRAMMES_DIR", str(tmp_path))
    module._load_dir.cache_clear()
    assert load_programme("reves-2018").name == "RÊVES Excellence Award 2018"


def test_the_blank_form_ships_beside_its_programme(tmp_path: Path) -> None:
    for programme in all_programmes():
        assert programme.blank_form_path is not None and programme.blank_form_path.is_file()
    data = yaml.safe_load((PROGRAMMES_DIR / "blossom-2026.yaml").read_text(encoding="utf-8"))
    path = tmp_path / "sans-formulaire.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match="blank_form.*introuvable"):
        load_programme_file(path)
    data["folder"] = "/etc"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match="folder"):
        load_programme_file(path)


def test_same_missing_every_days_defaults_and_is_read_from_the_programme(tmp_path: Path) -> None:
    blank = load_programme("blossom-2026").blank_form_path
    assert blank is not None
    shutil.copy(blank, tmp_path / blank.name)
    assert load_programme("blossom-2026").notifications.same_missing_every_days == 3
    programme = load_programme_file(
        write_variant(tmp_path, lambda d: d["notifications"].pop("same_missing_every_days"))
    )
    assert programme.notifications.same_missing_every_days == 3  # the default
    programme = load_programme_file(
        write_variant(tmp_path, lambda d: d["notifications"].update(same_missing_every_days=5))
    )
    assert programme.notifications.same_missing_every_days == 5


def test_eligibility_must_name_fields_of_the_form(tmp_path: Path) -> None:
    path = write_variant(tmp_path, lambda d: d["eligibility"].update(address_field="entreprise.siege"))
    with pytest.raises(ConfigError, match="eligibility.address_field"):
        load_programme_file(path)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["notifications"].update(summary_fields=["entreprise.siege"]), "summary_fields"),
        (lambda d: d["notifications"].update(summary_counts={"annexes": "Annexes"}), "summary_counts"),
        (lambda d: d["notifications"].update(from_mailbox="direction"), "from_mailbox"),
        (lambda d: d["notifications"].update(same_missing_every_days=-1), "same_missing_every_days"),
        (lambda d: d["notifications"].update(same_missing_every_days="trois"), "same_missing_every_days"),
        (lambda d: d["notifications"].update(follow_up_after_days=-2), "follow_up_after_days"),
    ],
)
def test_notifications_must_name_the_form_and_mailboxes(tmp_path: Path, change, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_programme_file(write_variant(tmp_path, change))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["languages"].update(default="en", offered=["fr", "nl"]), "default: en is not in offered"),
        (lambda d: d["languages"].update(offered=["fr", "nl", "en", "it"]), "languages.offered"),
        (lambda d: d["languages"]["words"].pop("en"), "languages.words.en: missing"),
        (lambda d: d["languages"]["words"]["nl"]["fields"].pop("description.q12"), "description.q12 has no name"),
        (lambda d: d["languages"]["words"]["nl"]["fields"]["description.q12"].pop("question"), "description.q12 has no question"),
        (lambda d: d["languages"]["words"]["en"]["annexes"].pop("cv"), "annexes: cv is not named"),
        (lambda d: d["languages"]["words"]["en"]["fields"].update({"entreprise.siege": {"title": "Seat"}}), "entreprise.siege is not a field"),
        (lambda d: d["languages"]["words"]["en"]["sections"].pop("autodiagnostic"), "autodiagnostic has no name"),
    ],
)  # fmt: skip
def test_every_offered_language_names_what_mails_show(tmp_path: Path, change, expected: str) -> None:
    """Issue #14, point 8: a programme offering Dutch or English names, in each, every field
    and annex a mail to an applicant can name; the file fails early, naming the key."""
    with pytest.raises(ConfigError) as info:
        load_programme_file(write_variant(tmp_path, change))
    assert expected in info.value.message


def test_a_programme_without_languages_writes_in_french_only(tmp_path: Path) -> None:
    shutil.copy(PROGRAMMES_DIR / "blossom-2026.docx", tmp_path / "blossom-2026.docx")
    programme = load_programme_file(write_variant(tmp_path, lambda d: d.pop("languages")))
    assert programme.languages.offered == ("fr",) and programme.languages.default == "fr"
