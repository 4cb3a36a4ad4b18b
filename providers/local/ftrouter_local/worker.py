"""The detached training process: ``python -m ftrouter_local.worker JOB_DIR [--resume CHECKPOINT]``.

Started by ``LocalBackend.submit``/``resume`` (directly, or once per GPU through ``accelerate
launch``). It owns the run: it reports through the job folder's files and always leaves a final
state — succeeded, cancelled (on SIGTERM/SIGINT or a cancel request, after a checkpoint) or failed
(with the error). Only a process killed outright cannot write its end; ``LocalBackend.status``
notices that the process is gone and marks the job failed with the tail of ``worker.log``.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from ftrouter.jobs.models import utcnow
from ftrouter_local.config import TrainConfig
from ftrouter_local.jobfiles import JobFiles
from ftrouter_local.reporting import StatusWriter, StopFlag


def _error_code(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        return code
    name = type(exc).__name__
    if name == "OutOfMemoryError" or "out of memory" in str(exc).lower():
        return "out_of_memory"
    if isinstance(exc, OSError | FileNotFoundError):
        return "cannot_load"
    return "worker_error"


def _start(files: JobFiles, rank: int, resume_from: Path | None) -> tuple[StopFlag, StatusWriter]:
    stop = StopFlag(files)
    stop.install()  # first thing: a cancel during the slow imports must not be lost
    files.write_rank_pid(rank, os.getpid())
    writer = StatusWriter(files, enabled=rank == 0)
    attempt = writer.status.attempt
    print(f"ftrouter-local worker pid {os.getpid()} rank {rank}, attempt {attempt}: {files.root}", flush=True)
    how = f"resuming from {resume_from.name}" if resume_from else "starting"
    writer.set_state("loading", f"worker {os.getpid()} {how} (attempt {attempt})", started_at=utcnow(),
                     resume_from=str(resume_from) if resume_from else None, error_code=None, error_message=None)
    return stop, writer


def run(job_dir: Path, resume_from: Path | None) -> int:
    files = JobFiles(job_dir)
    rank = int(os.environ.get("RANK", "0"))
    stop, writer = _start(files, rank, resume_from)
    try:
        config = TrainConfig.model_validate_json(files.config.read_text(encoding="utf-8"))
        from ftrouter_local.training import train

        train(config, files, stop, writer, resume_from)
    except Exception as exc:
        traceback.print_exc()  # into worker.log, for whoever reads it
        known = isinstance(getattr(exc, "code", None), str)  # our own TrainingError: its message says it all
        message = getattr(exc, "message", None) if known else f"{type(exc).__name__}: {exc}"
        writer.fail(_error_code(exc), str(message), with_log=not known)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ftrouter_local.worker")
    parser.add_argument("job_dir", type=Path)
    parser.add_argument("--resume", type=Path, default=None, help="checkpoint folder to continue from")
    args = parser.parse_args(argv)
    return run(args.job_dir.resolve(), args.resume)


if __name__ == "__main__":
    sys.exit(main())
