"""Numbered schema migrations of the job registry.

Each entry upgrades the schema from version ``n - 1`` to ``n`` (kept in ``PRAGMA user_version``): SQL
statements, or a function for a change of the stored JSON. Append new migrations at the end; never edit
one that has shipped. They run inside the transaction that bumps ``user_version``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ftrouter.jobs.paths import to_home_relative

# A function migration gets the open connection and the registry's home (the folder of jobs.db).
Migration = str | Callable[[sqlite3.Connection, Path], None]


def relative_job_paths(record: dict[str, Any], home: Path) -> dict[str, Any]:
    """The job's own paths (converted files, the local job folder, the local adapter and checkpoint)
    relative to ``home`` when they lie under it, so a copied or moved home acts on its own folders."""
    record["files"] = {role: to_home_relative(path, home) for role, path in (record.get("files") or {}).items()}
    extra = record.get("ref_extra") or {}
    if isinstance(extra.get("job_dir"), str):
        extra["job_dir"] = to_home_relative(extra["job_dir"], home)
    result = record.get("result") or {}
    for key in ("adapter_path", "checkpoint"):
        if isinstance(result.get(key), str):
            result[key] = to_home_relative(result[key], home)
    return record


def _relative_paths(conn: sqlite3.Connection, home: Path) -> None:
    rows = conn.execute("SELECT local_id, record FROM jobs").fetchall()
    for local_id, text in rows:
        record = json.loads(text)
        conn.execute("UPDATE jobs SET record = ? WHERE local_id = ?",
                     (json.dumps(relative_job_paths(record, home), ensure_ascii=False), local_id))


MIGRATIONS: list[Migration] = [
    # 1: jobs, their status history and their events
    """
    CREATE TABLE jobs (
        local_id      TEXT PRIMARY KEY,
        backend       TEXT NOT NULL,
        remote_id     TEXT,
        state         TEXT NOT NULL,
        record        TEXT NOT NULL,          -- the JobRecord as JSON
        submitter     TEXT,                   -- host:pid of the process that is submitting it
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL
    );
    CREATE INDEX jobs_by_remote ON jobs (backend, remote_id);
    CREATE INDEX jobs_by_state ON jobs (state);
    CREATE TABLE status_log (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        local_id      TEXT NOT NULL REFERENCES jobs (local_id),
        recorded_at   TEXT NOT NULL,
        state         TEXT NOT NULL,
        status        TEXT NOT NULL           -- the JobStatus as JSON
    );
    CREATE INDEX status_log_by_job ON status_log (local_id, seq);
    CREATE TABLE events (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        local_id      TEXT NOT NULL REFERENCES jobs (local_id),
        event_id      TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        event         TEXT NOT NULL,          -- the JobEvent as JSON
        UNIQUE (local_id, event_id)
    );
    """,
    # 2: when the stored state was observed at the backend; an older observation never replaces it
    "ALTER TABLE jobs ADD COLUMN observed_at TEXT",
    # 3: job paths under FTROUTER_HOME stored relative to it (a copied home uses its own job folders)
    _relative_paths,
]

SCHEMA_VERSION = len(MIGRATIONS)
