"""Helpers for the data engine tests: write small JSONL files from Python objects or raw text."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

WriteJsonl = Callable[..., Path]


@pytest.fixture
def write_jsonl(tmp_path: Path) -> WriteJsonl:
    counter = iter(range(1_000_000))

    def write(rows: list[Any], name: str | None = None) -> Path:
        path = tmp_path / (name or f"data{next(counter)}.jsonl")
        lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return path

    return write
