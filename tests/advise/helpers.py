"""Shared helpers for the advisor's tests: a fixed date (provider availability depends on it)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from ftrouter.advise import Advice, TaskProfile, advise
from ftrouter.advise.signals import DataSignals

# The research notes' date: OpenAI still accepts fine-tuning jobs (until 2027-01-06).
TODAY = date(2026, 11, 21)
TASKS = Path(__file__).resolve().parents[2] / "configs" / "tasks"


def profile(**fields: Any) -> TaskProfile:
    fields.setdefault("task", "a test task")
    fields.setdefault("task_type", "other")
    return TaskProfile.model_validate(fields)


def run(p: TaskProfile, *, signals: DataSignals | None = None, today: date = TODAY, **kw: Any) -> Advice:
    return advise(p, signals=signals, today=today, **kw)

