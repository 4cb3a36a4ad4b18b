"""``ftrouter.redact``: any run of 8+ characters of a configured secret goes, wherever it appears."""

from __future__ import annotations

import logging

import pytest

from ftrouter.redact import MASK, RedactingFilter, redact, register_secret

KEY = "Zq8vN2kLw4Rt7YpB3mXc9HdF6sJa1GeU"  # fake, and without the usual "sk-" prefix


@pytest.fixture
def key_in_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return KEY


@pytest.mark.parametrize("fragment", [KEY, KEY[:8], KEY[-8:], KEY[5:19], KEY[10:30]])
def test_any_run_of_eight_characters_is_removed(key_in_env: str, fragment: str) -> None:
    text = redact(f"Incorrect API key provided: {fragment}. See the docs.")
    assert fragment not in text and MASK in text and text.startswith("Incorrect API key provided: ")
    assert text.endswith(". See the docs.")


def test_shorter_runs_and_ordinary_text_stay(key_in_env: str) -> None:
    text = f"key ends in {KEY[-4:]}; job ftjob-abc123 failed"
    assert redact(text) == text


def test_other_credential_variables_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "fake-hub-token.PqRsTuVw.not-real")
    monkeypatch.setenv("SOME_SETTING", "NotASecretButLong")
    assert "PqRsTuVw" not in redact("token fake-hub-token.PqRsTuVw.not-real was refused")
    assert redact("NotASecretButLong") == "NotASecretButLong"


def test_registered_and_key_shaped_secrets() -> None:
    register_secret("fake.google-token.registered-in-test")  # fake, not token-shaped
    assert "registered-in-te" not in redact("401 for google-token.registered-in-test")
    assert redact("masked sk-proj-ab***yz, bearer Bearer abcdefgh12345678") == \
        f"masked {MASK}, bearer Bearer {MASK}"


def test_log_records_are_redacted(key_in_env: str) -> None:
    record = logging.LogRecord("ftrouter.x", logging.WARNING, __file__, 1, "lookup failed: %s", (KEY[3:20],), None)
    RedactingFilter().filter(record)
    assert KEY[3:20] not in record.getMessage() and MASK in record.getMessage()
