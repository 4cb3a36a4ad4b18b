"""Fixtures for the service: an app over a private registry with the fake job backend registered,
and the poller off unless a test drives it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftrouter.plugins import Builtin

JOBS_TESTS = Path(__file__).resolve().parent.parent / "jobs"
EVAL_TESTS = Path(__file__).resolve().parent.parent / "eval"  # the loopback OpenAI-compatible fake
for folder in (JOBS_TESTS, EVAL_TESTS):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from fake_backend import FakeBackend  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from servehelp import TOKEN  # noqa: E402

from ftrouter.jobs.service import JobService  # noqa: E402
from ftrouter.serve.app import create_app  # noqa: E402
from ftrouter.serve.settings import ServeSettings  # noqa: E402


@pytest.fixture(autouse=True)
def fake_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeBackend]]:
    from ftrouter import backends

    monkeypatch.setitem(backends.BUILTIN_BACKENDS, "fake",
                        Builtin("fake_backend:FakeBackend", "(test backend)"))
    FakeBackend.calls = []
    yield FakeBackend


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(f'{{"messages": [{{"role": "user", "content": "hi {i}"}}]}}\n' for i in range(5)))
    return path


@pytest.fixture
def service() -> JobService:
    return JobService()


@pytest.fixture
def client(service: JobService) -> Iterator[TestClient]:
    app = create_app(ServeSettings(poll=False), service=service)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def authed(service: JobService) -> Iterator[TestClient]:
    """A service with FTROUTER_API_TOKEN set (requests carry no token unless the test adds it)."""
    app = create_app(ServeSettings(poll=False, token=TOKEN), service=service)
    with TestClient(app) as test_client:
        yield test_client

