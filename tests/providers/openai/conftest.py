"""Fixtures for the OpenAI adapter tests: cassettes (replay by default, re-record on demand), an
in-memory fake OpenAI for fault injection, and a test key that must never leak.

Replay (default, CI): record mode ``none``, the network guard on, the key is ``TEST_KEY``.
Re-record against the live API (see README.md)::

    OPENAI_API_KEY=sk-... .venv/bin/pytest tests/providers/openai/test_cassettes.py --record-mode=rewrite
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import vcr_support  # noqa: E402
from fake_openai import FakeOpenAI  # noqa: E402
from openai_shared import CASSETTES, DATA, REPO, TEST_KEY, assert_all_played  # noqa: E402, F401 - re-exported for fixtures

_RECORD_KEY = os.environ.get("OPENAI_API_KEY", "")  # read before the per-test fixtures clear them
_RECORD_BASE_URL = os.environ.get("OPENAI_BASE_URL") or None
_REAL_CONNECT = socket.socket.connect
_REAL_GETADDRINFO = socket.getaddrinfo


def recording(config: pytest.Config) -> bool:
    return config.getoption("--record-mode", default=None) not in (None, "none")


@pytest.fixture(autouse=True)
def _no_network(_no_network: None, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The project-wide guard stays on, except while re-recording cassettes against the live API."""
    if recording(request.config) and request.node.get_closest_marker("vcr"):
        monkeypatch.setattr(socket.socket, "connect", _REAL_CONNECT)
        monkeypatch.setattr(socket, "getaddrinfo", _REAL_GETADDRINFO)


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    if Path(vcr.cassette_library_dir).resolve() == CASSETTES.resolve():
        vcr_support.configure(vcr)


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


@pytest.fixture
def vcr_config() -> dict[str, Any]:
    return vcr_support.vcr_config()


@pytest.fixture(autouse=True)
def _cassette_fully_played(request: pytest.FixtureRequest) -> Iterator[None]:
    """A cassette interaction that a test did not use fails the test: the flow changed."""
    cassette = request.getfixturevalue("vcr") if request.node.get_closest_marker("vcr") else None
    yield
    if cassette is not None and not recording(request.config):
        assert_all_played(cassette)


@pytest.fixture
def live_or_test_key(request: pytest.FixtureRequest) -> str:
    if recording(request.config):
        if not _RECORD_KEY:
            pytest.fail("re-recording needs OPENAI_API_KEY")
        return _RECORD_KEY
    return TEST_KEY


@pytest.fixture
def no_sleep() -> list[float]:
    """Records the sleeps a test would have made (tests never wait)."""
    return []


@pytest.fixture
def openai_backend(request: pytest.FixtureRequest, live_or_test_key: str, no_sleep: list[float]) -> Any:
    """The adapter against the cassette (or, while recording, the live API with real waits)."""
    from ftrouter_openai import OpenAIBackend

    from ftrouter.http import RetryPolicy

    if recording(request.config):
        return OpenAIBackend(api_key=live_or_test_key, base_url=_RECORD_BASE_URL, file_poll_s=5.0)
    return OpenAIBackend(api_key=live_or_test_key, sleep=no_sleep.append, retry=RetryPolicy(sleep=no_sleep.append))


@pytest.fixture
def fake_openai() -> FakeOpenAI:
    return FakeOpenAI()


@pytest.fixture
def fake_backend(fake_openai: FakeOpenAI, no_sleep: list[float]) -> Callable[..., Any]:
    """An adapter wired to the in-memory fake (``httpx2.MockTransport``), never sleeping."""
    from ftrouter_openai import OpenAIBackend

    from ftrouter.http import RetryPolicy

    def build(attempts: int = 5, key: str = TEST_KEY) -> Any:
        return OpenAIBackend(api_key=key, http_client=fake_openai.http_client(), sleep=no_sleep.append,
                             retry=RetryPolicy(attempts=attempts, sleep=no_sleep.append))

    return build
