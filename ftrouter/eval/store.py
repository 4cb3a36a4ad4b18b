"""Stored runs: ``$FTROUTER_HOME/evals/<run-id>/`` holds ``run.json`` (the summary, the details, when)
and ``examples.jsonl`` (one row per example). A run is written into a temporary folder and renamed,
so a crash never leaves half a run behind.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ftrouter.errors import UsageError
from ftrouter.jobs.paths import ftrouter_home

RUN_PREFIX = "ev-"
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def evals_dir() -> Path:
    return ftrouter_home() / "evals"


def new_run_id() -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{RUN_PREFIX}{stamp}-{''.join(secrets.choice(_ALPHABET) for _ in range(4))}"


def save_run(summary: dict[str, Any], details: dict[str, Any], rows: Iterable[dict[str, Any]],
             run_id: str | None = None) -> str:
    """Store a run; returns its id (``run_id`` when given: the service names a run before it ends)."""
    root = evals_dir()
    root.mkdir(parents=True, exist_ok=True)
    run_id = run_id or new_run_id()
    tmp = Path(tempfile.mkdtemp(prefix=f".{run_id}.", dir=root))
    try:
        record = {"id": run_id, "created_at": datetime.now(UTC).isoformat(timespec="microseconds"),
                  "summary": summary, "details": details}
        (tmp / "run.json").write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
        with (tmp / "examples.jsonl").open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        os.replace(tmp, root / run_id)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return run_id


def _run_dir(run: str) -> Path:
    name = run if run.startswith(RUN_PREFIX) else RUN_PREFIX + run
    path = evals_dir() / name
    if not name.replace("-", "").isalnum() or not (path / "run.json").is_file():
        raise UsageError(f"no eval run {run!r} (see `ftrouter evals`)", code="run_not_found")
    return path


def load_run(run: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((_run_dir(run) / "run.json").read_text(encoding="utf-8"))
    return record


def iter_rows(run: str) -> Iterator[dict[str, Any]]:
    with (_run_dir(run) / "examples.jsonl").open(encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def listing(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``ftrouter evals --json``: each run's id and time with its summary."""
    return [{"id": r["id"], "created_at": r["created_at"], **r["summary"]} for r in runs]


def list_runs() -> list[dict[str, Any]]:
    """Every stored run's record, newest first."""
    root = evals_dir()
    if not root.is_dir():
        return []
    runs = []
    for path in sorted(root.glob(f"{RUN_PREFIX}*/run.json"), reverse=True):
        try:
            runs.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):  # a damaged run does not hide the others
            continue
    # newest first by when each was stored: two runs in the same second have ids in random order
    return sorted(runs, key=lambda r: (str(r.get("created_at", "")), str(r.get("id", ""))), reverse=True)
