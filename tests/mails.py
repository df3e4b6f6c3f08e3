"""Mails for the store and polling tests: the public samples (``tests/fixtures/samples``),
the fixture mails, and the builder the demo shares (``guichet.loopback.mails``)."""

from __future__ import annotations

from guichet.loopback.mails import BRUSSELS, brussels, build, with_trace  # noqa: F401
from tests.samples import FIXTURES, SAMPLES

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)  # enough for a type sniffer
SAMPLE_MAILS = SAMPLES / "emails"
FIXTURE_MAILS = FIXTURES / "emails"


def sample(name: str) -> bytes:
    """A public sample mail (``pe001`` …) as raw bytes."""
    return (SAMPLE_MAILS / f"{name}.eml").read_bytes()


def fixture(name: str) -> bytes:
    """A mail of ``tests/fixtures/emails`` (``supplement_annexes_only`` …) as raw bytes."""
    return (FIXTURE_MAILS / f"{name}.eml").read_bytes()
