"""The test key must never appear in a cassette, the registry, a log line, or any command output —
also when OpenAI's own error message quotes part of it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import clirun
import pytest
from fake_openai import FakeOpenAI, error
from openai_shared import CASSETTES, DATA, TEST_KEY

MODEL = "gpt-4.1-mini-2025-04-14"
FRAGMENTS = (TEST_KEY, TEST_KEY[:8], TEST_KEY[-12:], TEST_KEY[3:15])


def leaks(text: str) -> list[str]:
    return [fragment for fragment in FRAGMENTS if fragment in text]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """The exit code and everything printed (stdout and stderr together)."""
    code, out, err = clirun.run_cli(capsys, *args)
    return code, out + err


def test_no_secret_in_cassettes_registry_logs_or_output(
        fake_openai: FakeOpenAI, fake_backend: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, ftrouter_home: Path) -> None:
    backend = fake_backend()
    monkeypatch.setattr("ftrouter.jobs.service.get_backend", lambda name: backend)
    monkeypatch.setattr("time.sleep", lambda s: None)
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    caplog.set_level(logging.DEBUG)  # every logger, the SDK's and httpx2's included
    data = str(DATA / "chat_train.jsonl")
    outputs = []

    code, text = run_cli(capsys, "submit", "--backend", "openai", "--data", data, "--model", MODEL, "--wait",
                         "--json", "--interval", "0.01")
    assert code == 0
    outputs.append(text)
    from ftrouter.jobs.registry import Registry

    [record] = Registry().list_jobs()
    for args in (("status", record.id), ("events", record.id), ("jobs", "--all"), ("jobs", "--json")):
        outputs.append(run_cli(capsys, *args)[1])

    quoted = f"Incorrect API key provided: {TEST_KEY[:8]}*********{TEST_KEY[-4:]}. You can find your API key at ..."
    fake_openai.fail("POST", "/v1/files", error(401, quoted, "invalid_api_key"))
    code, text = run_cli(capsys, "submit", "--backend", "openai", "--data", data, "--model", MODEL)
    assert code == 4
    outputs.append(text)
    fake_openai.fail("POST", "/fine_tuning/jobs", error(400, f"Bad key {TEST_KEY} for fine-tuning", "invalid_key"))
    code, text = run_cli(capsys, "submit", "--backend", "openai", "--data", data, "--model", MODEL)
    assert code == 1
    outputs.append(text)

    assert not leaks("\n".join(outputs)), "command output"
    assert not leaks(caplog.text), "log lines"
    assert any(TEST_KEY in r.headers.get("authorization", "") for r in fake_openai.requests)  # it WAS sent
    stored = b"".join(path.read_bytes() for path in ftrouter_home.rglob("*") if path.is_file())
    assert ftrouter_home.joinpath("jobs.db").exists()
    assert not leaks(stored.decode("utf-8", errors="replace")), "files under FTROUTER_HOME (registry, WAL, jobs)"
    cassettes = "".join(path.read_text(encoding="utf-8") for path in CASSETTES.glob("*.yaml"))
    assert cassettes and not leaks(cassettes) and "authorization" not in cassettes.lower()


def test_redact_hides_whole_and_masked_keys() -> None:
    from ftrouter.redact import redact

    text = redact(f"key {TEST_KEY} and sk-proj-abc***xyz and rk-live-123", (TEST_KEY,))
    assert not leaks(text) and "sk-proj" not in text and "rk-live" not in text


def test_key_fragments_echoed_by_the_provider_reach_no_sink(
        fake_openai: FakeOpenAI, fake_backend: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], ftrouter_home: Path) -> None:
    """Issue 17 item 9: OpenAI (or a proxy) quoting a middle piece of the key, without its prefix, in a
    refresh error and a rejected create: not on stderr, not in `status --json`, not in the registry."""
    backend = fake_backend(attempts=1)
    monkeypatch.setattr("ftrouter.jobs.service.get_backend", lambda name: backend)
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    middle = TEST_KEY[9:25]
    data = str(DATA / "chat_train.jsonl")
    code, out, _ = clirun.run_cli(capsys, "submit", "--backend", "openai", "--data", data, "--model", MODEL, "--json")
    local_id = __import__("json").loads(out)["id"]
    fake_openai.fail("GET", "/fine_tuning/jobs/", error(502, f"upstream rejected credential {middle}", kind="x"))
    code, text = run_cli(capsys, "status", local_id, "--json")
    assert code == 3 and middle not in text and "[redacted]" in text
    fake_openai.fail("POST", "/fine_tuning/jobs", error(400, f"key {middle} may not fine-tune", "bad_key"))
    code, text = run_cli(capsys, "submit", "--backend", "openai", "--data", data, "--model", MODEL, "--json")
    assert code == 1 and middle not in text
    stored = b"".join(path.read_bytes() for path in ftrouter_home.rglob("*") if path.is_file())
    assert middle[:8] not in stored.decode("utf-8", errors="replace")
