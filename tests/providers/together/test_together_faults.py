"""Faults injected under the real adapter (httpx.MockTransport): rate limits with Retry-After, server
errors, timeouts, a lost create, bad or missing keys, and TOGETHER_BASE_URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fake_together import FakeTogether, Lost, error
from test_together_flows import prepared
from together_shared import TEST_KEY

from ftrouter.errors import AuthError, ProviderUnavailable, RateLimited, SubmitUnconfirmed


def test_429_with_retry_after_then_success(fake: FakeTogether, backend: Callable[..., Any],
                                           no_sleep: list[float]) -> None:
    b = backend()
    ref = b.submit(prepared())
    fake.fail("GET", f"/fine-tunes/{ref.remote_id}", error(429, "Too many requests", headers={"retry-after": "7"}))
    assert b.status(ref).raw_state == "pending"
    assert no_sleep == [7.0] and fake.calls("GET", f"/fine-tunes/{ref.remote_id}") == 2


def test_a_long_retry_after_is_not_waited_for(fake: FakeTogether, backend: Callable[..., Any],
                                              no_sleep: list[float]) -> None:
    b = backend()
    ref = b.submit(prepared())
    fake.fail("GET", f"/fine-tunes/{ref.remote_id}", error(429, "come back tomorrow", headers={"retry-after": "86400"}))
    with pytest.raises(RateLimited, match="come back tomorrow"):
        b.status(ref)
    assert no_sleep == []


def test_5xx_on_create_twice_then_success_creates_exactly_one_job(fake: FakeTogether, backend: Callable[..., Any],
                                                                  no_sleep: list[float]) -> None:
    fake.fail("POST", "/fine-tunes", error(500, "internal error", "server_error"), error(503, "busy", "server_error"))
    ref = backend().submit(prepared())
    assert list(fake.jobs) == [ref.remote_id] and fake.calls("POST", "/fine-tunes") == 3
    assert fake.calls("GET", "/fine-tunes") == 2  # looked for a created job before each re-send
    assert len(no_sleep) == 2


def test_a_lost_create_is_found_by_its_local_id_and_not_sent_again(fake: FakeTogether,
                                                                   backend: Callable[..., Any]) -> None:
    fake.fail("POST", "/fine-tunes", Lost())
    ref = backend().submit(prepared(local_id="ftr-lost1"))
    assert len(fake.jobs) == 1 and ref.remote_id in fake.jobs
    assert fake.calls("POST", "/fine-tunes") == 1 and fake.jobs[ref.remote_id]["suffix"] == "ftr-lost1"


def test_a_lost_create_whose_lookup_fails_is_unconfirmed(fake: FakeTogether, backend: Callable[..., Any]) -> None:
    fake.fail("POST", "/fine-tunes", Lost())
    fake.fail("GET", "/fine-tunes", *[error(401, "Invalid API key", "invalid_api_key")] * 5)
    with pytest.raises(SubmitUnconfirmed, match="NOT sent again") as info:
        backend().submit(prepared(local_id="ftr-lost2"))
    assert fake.calls("POST", "/fine-tunes") == 1
    assert info.value.sent is not None and info.value.sent["suffix"] == "ftr-lost2"


def test_timeouts_are_retried_then_reported(fake: FakeTogether, backend: Callable[..., Any],
                                            no_sleep: list[float]) -> None:
    b = backend(attempts=3)
    ref = b.submit(prepared())
    fake.fail("GET", f"/fine-tunes/{ref.remote_id}", *[httpx.ReadTimeout("slow")] * 3)
    with pytest.raises(ProviderUnavailable, match="did not answer in time"):
        b.status(ref)
    assert len(no_sleep) == 2


def test_a_rejected_key_is_an_auth_error_without_the_key(fake: FakeTogether, backend: Callable[..., Any]) -> None:
    fake.fail("POST", "/files/upload", error(401, f"Invalid API key provided: {TEST_KEY}", "invalid_api_key"))
    with pytest.raises(AuthError) as info:
        backend().submit(prepared())
    assert "TOGETHER_API_KEY" in str(info.value) and TEST_KEY not in str(info.value)
    assert info.value.exit_code == 4


def test_a_provider_message_quoting_the_key_is_redacted(fake: FakeTogether, backend: Callable[..., Any]) -> None:
    fake.fail("POST", "/fine-tunes", error(400, f"bad model for key {TEST_KEY}"))
    with pytest.raises(Exception) as info:
        backend().submit(prepared())
    assert TEST_KEY not in str(info.value) and "bad model" in str(info.value)


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from ftrouter_together import TogetherBackend

    with pytest.raises(AuthError, match="TOGETHER_API_KEY is not set") as info:
        TogetherBackend().submit(prepared())
    assert info.value.exit_code == 4


def test_the_base_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from ftrouter_together import TogetherBackend

    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"data": []})

    monkeypatch.setenv("TOGETHER_BASE_URL", "http://127.0.0.1:9/proxy/v1/")
    assert TogetherBackend(api_key=TEST_KEY, transport=httpx.MockTransport(handler)).find_by_local_id("ftr-x") is None
    assert seen == ["http://127.0.0.1:9/proxy/v1/fine-tunes"]
