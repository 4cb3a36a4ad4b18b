"""Start a command fully detached from the caller: ``python -m ftrouter_local.detach PIDFILE LOG -- CMD...``.

Classic double fork. This process starts a new session, forks, and exits as soon as the grandchild
has written its pid and exec'd CMD (or reports why exec failed). The grandchild has no controlling
terminal, is not the CLI's child (so it never lingers as the CLI's zombie) and survives the CLI
exiting. Its pid is the pid of CMD itself, because exec keeps the pid.

Kept free of ftrouter imports: it runs in a fresh interpreter on every submit.
"""

from __future__ import annotations

import os
import sys


def _child(pidfile: str, log: str, command: list[str], report_fd: int) -> None:
    log_fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null_fd, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    tmp = f"{pidfile}.{os.getpid()}.tmp"
    with open(tmp, "w") as handle:
        handle.write(str(os.getpid()))
    os.replace(tmp, pidfile)
    try:
        os.execvp(command[0], command)  # the report pipe is close-on-exec: EOF tells the parent "ok"
    except OSError as exc:
        os.write(report_fd, f"cannot start {command[0]}: {exc.strerror}".encode())
        os._exit(127)


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print("usage: python -m ftrouter_local.detach PIDFILE LOG -- CMD [ARGS...]", file=sys.stderr)
        return 2
    pidfile, log, command = argv[0], argv[1], argv[3:]
    # everything the worker writes (checkpoints, the adapter, logs) is private to the user, like the
    # rest of FTROUTER_HOME, whatever umask the CLI was started with
    os.umask(0o077)
    os.setsid()
    read_fd, write_fd = os.pipe()  # both close-on-exec (PEP 446)
    if os.fork() == 0:
        os.close(read_fd)
        _child(pidfile, log, command, write_fd)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as report:
        problem = report.read().decode(errors="replace")
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
