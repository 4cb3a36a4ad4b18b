"""Starting, finding and signalling the detached worker. Light: no torch here.

One process (``--gpus 1``): the detached process is the worker itself. Several (``--gpus N``): it is
``accelerate launch`` (torchrun underneath), which starts N workers; rank 0 writes the job's files.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from ftrouter.errors import BackendError
from ftrouter_local.config import TrainConfig
from ftrouter_local.jobfiles import JobFiles, write_atomic

START_TIMEOUT_S = 60.0
# TRL ships accelerate configs for its own CLI; we start from them rather than write our own.
_TRL_ACCELERATE_CONFIGS = {"ddp": "multi_gpu.yaml", "fsdp": "fsdp2.yaml"}
_FALLBACK_ACCELERATE = {
    "compute_environment": "LOCAL_MACHINE",
    "distributed_type": "MULTI_GPU",
    "machine_rank": 0,
    "num_machines": 1,
    "rdzv_backend": "static",
    "same_network": True,
}


def worker_environment(files: JobFiles) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "PYTHONUNBUFFERED": "1",  # the log tail must be current when the worker dies
        "TENSORBOARD_LOGGING_DIR": str(files.tensorboard),
        "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
        "TOKENIZERS_PARALLELISM": "false",
    })
    return env


def accelerate_config(config: TrainConfig) -> dict[str, Any]:
    """The accelerate config for a multi-process run: TRL's shipped DDP or FSDP2 file, adjusted.

    Mixed precision stays ``no`` here on purpose: the worker's TrainingArguments decide bf16/fp16
    once the device is known, and override the launcher's environment.
    """
    base = dict(_FALLBACK_ACCELERATE)
    spec = importlib.util.find_spec("trl")
    if spec is not None and spec.submodule_search_locations:
        shipped = Path(next(iter(spec.submodule_search_locations))) / "accelerate_configs"
        path = shipped / _TRL_ACCELERATE_CONFIGS[config.distributed]
        if path.is_file():
            base = yaml.safe_load(path.read_text(encoding="utf-8"))
    elif config.distributed == "fsdp":
        raise BackendError("FSDP needs TRL's accelerate configs; reinstall trl", code="missing_dependency")
    base.update({"num_processes": config.gpus, "mixed_precision": "no", "use_cpu": False})
    return base


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def worker_command(files: JobFiles, config: TrainConfig, resume_from: Path | None = None) -> list[str]:
    """The command line that runs the training for this job."""
    args = [str(files.root)] + (["--resume", str(resume_from)] if resume_from else [])
    if config.gpus == 1:
        return [sys.executable, "-m", "ftrouter_local.worker", *args]
    write_atomic(files.accelerate_config, yaml.safe_dump(accelerate_config(config), sort_keys=True))
    return [
        sys.executable, "-m", "accelerate.commands.launch",
        "--config_file", str(files.accelerate_config),
        "--num_processes", str(config.gpus),
        "--main_process_port", str(free_port()),
        "-m", "ftrouter_local.worker", *args,
    ]  # fmt: skip


def spawn_detached(command: list[str], files: JobFiles) -> int:
    """Start ``command`` detached (own session, not our child); returns its pid."""
    pidfile = files.launcher_pidfile
    pidfile.unlink(missing_ok=True)
    shim = [sys.executable, "-m", "ftrouter_local.detach", str(pidfile), str(files.log), "--", *command]
    try:
        done = subprocess.run(shim, env=worker_environment(files), cwd=files.root, capture_output=True,
                              text=True, timeout=START_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackendError(f"cannot start the local worker: {exc}", code="worker_start_failed") from exc
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise BackendError(f"cannot start the local worker: {reason[-1] if reason else done.returncode}",
                           code="worker_start_failed")
    return int(pidfile.read_text().strip())


def launcher_pid(files: JobFiles) -> int | None:
    """The pid of the detached top process (written by the detach shim before it exec'd)."""
    try:
        return int(files.launcher_pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def process_alive(pid: int | None, marker: str) -> bool:
    """Whether ``pid`` is a live (not zombie) process whose command line mentions ``marker``.

    The marker (the job folder) guards against a recycled pid after a reboot or a long time.
    """
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, belongs to someone else
    proc = Path(f"/proc/{pid}")
    if not proc.is_dir():
        return True  # no procfs (macOS): existence is all we can know
    try:
        stat = (proc / "stat").read_text()
        cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X") and marker in cmdline


def signal_workers(files: JobFiles, launcher_pid: int | None, signum: int = signal.SIGTERM) -> int:
    """Send ``signum`` to every live training process of the job; returns how many got it.

    The ranks are signalled, not ``accelerate launch``: torchrun would tear the workers down
    instead of letting them checkpoint. A worker that has not written its pid yet still sees the
    cancel request file at its next check.
    """
    marker = str(files.root)
    targets = [pid for pid in files.rank_pids() if process_alive(pid, marker)]
    if not targets and process_alive(launcher_pid, marker):
        targets = [launcher_pid] if launcher_pid else []
    sent = 0
    for pid in targets:
        try:
            os.kill(pid, signum)
            sent += 1
        except ProcessLookupError:
            continue
    return sent
