"""Shared by the OpenAI adapter tests: where they find cassettes and data, the fake key that must never
leak, and the unplayed-interaction check. A module of its own (not conftest) so imports are unambiguous."""

from __future__ import annotations

from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
CASSETTES = REPO / "cassettes" / "openai"
DATA = HERE / "data"
TEST_KEY = "sk-ftrouter-test-7Qw3Zr9Lx2Vn5Kp8SECRET"


def assert_all_played(cassette: Any) -> None:
    unplayed = [f"#{i + 1} {req.method} {req.uri}" for i, req in enumerate(cassette.requests)
                if cassette.play_counts[i] == 0]
    assert not unplayed, f"{Path(cassette._path).name}: interactions never played: {', '.join(unplayed)}"
