"""Numbered schema migrations of the job registry.

Each entry upgrades the schema from version ``n - 1`` to ``n`` (kept in ``PRAGMA user_version``).
Append new migrations at the end; never edit one that has shipped.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
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
]

SCHEMA_VERSION = len(MIGRATIONS)
