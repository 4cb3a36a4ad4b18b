"""Shared by the Together adapter tests: the fake key that must never leak and the data files. A module
of its own (not conftest) so imports are unambiguous when several test folders are collected together."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
TEST_KEY = "tg-fake.ftr.Hk7Qm2.Zp4W"
DATA = HERE.parent / "openai" / "data"  # OpenAI-format chat and preference JSONL: Together takes them unchanged
