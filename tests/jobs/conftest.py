"""Fixtures for the job registry and service tests: the fake backend, registered by name."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftrouter.plugins import Builtin

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from fake_backend import FakeBackend  # noqa: E402


@pytest.fixture(autouse=True)
def fake_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeBackend]]:
    from ftrouter import backends

    monkeypatch.setitem(backends.BUILTIN_BACKENDS, "fake",
                        Builtin("fake_backend:FakeBackend", "(test backend)"))
    FakeBackend.calls = []
    FakeBackend.lookup_down = False
    yield FakeBackend


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(f'{{"messages": [{{"role": "user", "content": "hi {i}"}}]}}\n' for i in range(5)))
    return path
