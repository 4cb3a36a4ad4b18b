"""Where ftrouter keeps its state: ``FTROUTER_HOME`` (default: the user data dir from platformdirs).

Layout::

    $FTROUTER_HOME/jobs.db             the job registry (SQLite; jobs.db.lock serialises its creation)
    $FTROUTER_HOME/jobs/<local-id>/    one folder per job: converted data files, backend working files

The state is private to its user whatever the umask: the home and every folder ftrouter makes in it
are created 0700, the registry and the files of a job 0600 (they hold copies of training data).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def ftrouter_home() -> Path:
    """The root of ftrouter's state; ``FTROUTER_HOME`` wins over the platform default."""
    configured = os.environ.get("FTROUTER_HOME")
    if configured:
        return Path(configured).expanduser().absolute()  # stored job paths are made relative to it
    import platformdirs

    return Path(platformdirs.user_data_dir("ftrouter", appauthor=False))


def registry_path() -> Path:
    return ftrouter_home() / "jobs.db"


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700 folders. Folders that already exist keep their mode:
    ftrouter does not change the permissions of a folder the user made."""
    missing: list[Path] = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue  # made by a concurrent process meanwhile
        os.chmod(folder, PRIVATE_DIR)  # mkdir's mode is filtered by the umask
    return path


def make_private(root: Path) -> None:
    """Folders 0700 and files 0600 under ``root`` (itself included), e.g. a job folder after a backend
    wrote its converted copies of the training data there. Symlinks are not followed."""
    for folder, dirs, files in os.walk(root):
        os.chmod(folder, PRIVATE_DIR)
        for name in files:
            path = os.path.join(folder, name)
            if stat.S_ISREG(os.lstat(path).st_mode):
                os.chmod(path, PRIVATE_FILE)
        dirs[:] = [name for name in dirs if not os.path.islink(os.path.join(folder, name))]


def job_dir(local_id: str, *, create: bool = True) -> Path:
    """The job's own folder (converted files, logs, a local worker's output), created private."""
    path = ftrouter_home() / "jobs" / local_id
    if create:
        private_dir(path)
    return path


def to_home_relative(value: str, home: Path) -> str:
    """A path under ``home`` as a path relative to it (how the registry stores it, so that a copied or
    moved home keeps working); anything else unchanged."""
    path = Path(value)
    if not path.is_absolute():
        return value
    try:
        return path.relative_to(home).as_posix()
    except ValueError:
        return value


def from_home_relative(value: str, home: Path) -> str:
    """The inverse of ``to_home_relative``: a relative stored path is under ``home``."""
    return value if Path(value).is_absolute() else str(home / value)
