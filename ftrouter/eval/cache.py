"""The answer cache: ``$FTROUTER_HOME/eval-cache.db`` (SQLite), keyed by (model, request, settings).

Every answer is written the moment it arrives, so a rerun sends nothing and an interrupted run resumes
where it stopped. Errors are never cached: a rerun tries those examples again.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from ftrouter.eval.answerer import Answer, GenerationSettings
from ftrouter.jobs.paths import ftrouter_home

SCHEMA = """CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY, text TEXT NOT NULL, input_tokens INTEGER, output_tokens INTEGER, latency_ms REAL)"""


def cache_path() -> Path:
    return ftrouter_home() / "eval-cache.db"


def cache_key(identity: str, messages: list[dict[str, str]], settings: GenerationSettings) -> str:
    payload = {"model": identity, "messages": messages, "settings": settings.as_dict()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class AnswerCache:
    """Thread-safe: one connection, one lock (writes are tiny next to a model call)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30.0)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(SCHEMA)
        self._conn.commit()
        self._lock = threading.Lock()

    def get_many(self, keys: list[str]) -> dict[str, Answer]:
        found: dict[str, Answer] = {}
        with self._lock:
            for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
                chunk = keys[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT key, text, input_tokens, output_tokens, latency_ms FROM answers WHERE key IN ({marks})",
                    chunk).fetchall()
                for key, text, tin, tout, latency in rows:
                    found[key] = Answer(text=text, input_tokens=tin, output_tokens=tout, latency_ms=latency)
        return found

    def put(self, key: str, answer: Answer) -> None:
        row: tuple[Any, ...] = (key, answer.text, answer.input_tokens, answer.output_tokens, answer.latency_ms)
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?)", row)
            self._conn.commit()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
