"""Fixtures for the Together adapter tests (the plugin is installed by `make setup`): an
in-memory fake Together behind an injected transport, a test key that must never leak, no sleeping."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
pytest.register_assert_rewrite("together_replay")  # its checks are plain asserts: keep pytest's explanations

from fake_together import FakeTogether  # noqa: E402
from together_shared import TEST_KEY  # noqa: E402


@pytest.fixture(autouse=True)
def _no_together_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TOGETHER_API_KEY", "TOGETHER_BASE_URL", "WANDB_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def no_sleep() -> list[float]:
    return []


@pytest.fixture
def fake() -> FakeTogether:
    return FakeTogether()


@pytest.fixture
def backend(fake: FakeTogether, no_sleep: list[float]) -> Callable[..., Any]:
    from ftrouter_together import TogetherBackend

    from ftrouter.http import RetryPolicy

    def build(attempts: int = 5, key: str = TEST_KEY) -> Any:
        return TogetherBackend(api_key=key, transport=fake.transport(),
                               retry=RetryPolicy(attempts=attempts, sleep=no_sleep.append))

    return build
