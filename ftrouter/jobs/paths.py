"""Where ftrouter keeps its state: ``FTROUTER_HOME`` (default: the user data dir from platformdirs).

Layout::

    $FTROUTER_HOME/jobs.db             the job registry (SQLite)
    $FTROUTER_HOME/jobs/<local-id>/    one folder per job: converted data files, backend working files
"""

from __future__ import annotations

import os
from pathlib import Path


def ftrouter_home() -> Path:
    """The root of ftrouter's state; ``FTROUTER_HOME`` wins over the platform default."""
    configured = os.environ.get("FTROUTER_HOME")
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("ftrouter", appauthor=False))


def registry_path() -> Path:
    return ftrouter_home() / "jobs.db"


def job_dir(local_id: str, *, create: bool = True) -> Path:
    """The job's own folder (converted files, logs, a local worker's output)."""
    path = ftrouter_home() / "jobs" / local_id
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path
