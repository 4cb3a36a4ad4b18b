"""Shared by the OpenAI adapter tests: where they find cassettes and data, the fake key that must never
leak, and the unplayed-interaction check. A module of its own (not conftest) so imports are unambiguous."""

from __future__ import annotations

from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
CASSETTES = REPO / "cassettes" / "openai"
DATA = HERE / "data"
# Fake, and shaped so credential scanners do not mistake it for a real key; its fragments are distinctive
# so the leak scan can look for them too.
TEST_KEY = "sk-fake.ftr.Qw3Zr9Lx.Vn5K.p8QZ"


def assert_all_played(cassette: Any) -> None:
    unplayed = [f"#{i + 1} {req.method} {req.uri}" for i, req in enumerate(cassette.requests)
                if cassette.play_counts[i] == 0]
    assert not unplayed, f"{Path(cassette._path).name}: interactions never played: {', '.join(unplayed)}"
