"""GPU check: run the local trainer's CUDA paths end to end and time them, on a model built on the spot.

Nothing is downloaded. The model has the shape of Qwen2.5-0.5B (24 layers, hidden 896, 14 query / 2
key-value heads, a 151,936-row embedding) with random weights, and a byte-level tokenizer trained on the
synthetic conversations it trains on; what it learns does not matter here, what runs does. Stages, each a
separate process with its own time limit, each reported whether it passed or failed:

- ``throughput``: ``bench_local_throughput.py`` (ftrouter's bf16 LoRA defaults against plain TRL);
- ``qlora``: ``ftrouter submit --adapter qlora --wait``, then ``ftrouter eval`` of the job (generation
  through the adapter on CUDA);
- ``full``: a full bf16 fine-tune through ``ftrouter submit``;
- ``fsdp``: the worker under ``accelerate launch`` with the FSDP2 config the launcher writes for
  ``--gpus N --option distributed=fsdp``, run as one process (the machine has one GPU);
- ``tests``: the local plugin's test suite with CUDA visible.

    python benchmarks/gpu_check.py [--out DIR] [--stages throughput,qlora,...] [--steps 30] [--budget-s 480]

Results go to DIR/gpu_check.json and one line per stage on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("throughput", "qlora", "full", "fsdp", "tests")
QWEN25_05B_SHAPE = {"hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
                    "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": 151936,
                    "max_position_embeddings": 32768, "tie_word_embeddings": True}
TINY_SHAPE = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
              "num_key_value_heads": 2, "vocab_size": 512, "max_position_embeddings": 1024,
              "tie_word_embeddings": True}  # --shape tiny: checks this script on a CPU
_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
          "twelve", "plus", "minus", "times", "is", "what", "the", "answer", "please", "careful", "sum",
          "difference", "product", "of", "and", "total", "number"]


def conversations(count: int, seed: int) -> list[dict[str, Any]]:
    """Multi-turn chats of 150-450 tokens (with the tokenizer below), so a 512-token batch is mostly real."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        messages = [{"role": "system", "content": "You are a careful calculator."}]
        for _ in range(rng.randint(4, 12)):
            messages.append({"role": "user", "content": " ".join(rng.choices(_WORDS, k=rng.randint(5, 14))) + "?"})
            messages.append({"role": "assistant", "content": " ".join(rng.choices(_WORDS, k=rng.randint(4, 12)))})
        rows.append({"messages": messages})
    return rows


def build_model(out: Path, rows: list[dict[str, Any]], shape: dict[str, Any]) -> Path:
    import torch
    from ftrouter_local.tiny import build_tokenizer
    from transformers import AutoModelForCausalLM, Qwen2Config

    tokenizer = build_tokenizer([m["content"] for row in rows for m in row["messages"]] + ["system user assistant"])
    config = Qwen2Config(**shape, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=None)
    torch.manual_seed(0)
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.max_new_tokens = 32  # random weights rarely say <|im_end|>: keep eval short
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


# when the whole check must end (--budget-s): every step's time limit is cut to what is left, so the report
# of the stages that ran is written even when the machine is lent for less time than all of them need
_DEADLINE = float("inf")


def run_stage(name: str, command: list[str], timeout: int, env: dict[str, str], log_dir: Path) -> dict[str, Any]:
    """Run one step in its own process; its output is appended to LOG_DIR/NAME.log (stage and step share one)."""
    timeout = max(1, int(min(timeout, _DEADLINE - time.monotonic())))
    started = time.perf_counter()
    log = log_dir / f"{name.split('.')[0]}.log"
    try:
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
        rc, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        rc, out, err = 124, str(exc.stdout or ""), str(exc.stderr or "") + f"\n(timed out after {timeout} s)"
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"$ {' '.join(command)}\n--- stdout\n{out}\n--- stderr\n{err}\n--- rc {rc}\n")
    return {"rc": rc, "seconds": round(time.perf_counter() - started, 1), "stdout": out, "stderr_tail": err[-1500:]}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ftrouter", *args]


def final_status(result: dict[str, Any]) -> dict[str, Any] | None:
    """The job as ``submit --wait --json`` printed it when it ended (None when it printed no JSON)."""
    try:
        status = json.loads(result["stdout"])
    except ValueError:
        return None
    keep = ("id", "state", "error", "runtime", "metrics", "progress")
    return {key: status.get(key) for key in keep if key in status} if isinstance(status, dict) else None


def fsdp_stage(model: str, data: str, steps: int, env: dict[str, str], work: Path, log_dir: Path) -> dict[str, Any]:
    """Prepare a job as ``--gpus N --option distributed=fsdp`` would, then launch its worker through
    accelerate with the launcher's FSDP2 config and one process."""
    import yaml
    from ftrouter_local import LocalBackend
    from ftrouter_local.config import TrainConfig
    from ftrouter_local.jobfiles import JobFiles, WorkerStatus
    from ftrouter_local.launcher import accelerate_config, free_port, worker_environment

    from ftrouter.jobs.models import Hyperparameters, JobSpec

    backend = LocalBackend(jobs_root=work / "fsdp-jobs")
    spec = JobSpec(backend="local", model=model, data=data, options={"distributed": "fsdp"},
                   hyperparameters=Hyperparameters(max_steps=steps, batch_size=8, max_length=512))
    prepared = backend.prepare(spec, "ftr-fsdp")
    files = JobFiles(Path(prepared.files["config"]).parent)
    config = TrainConfig.model_validate_json(files.config.read_text())
    accel = accelerate_config(config.model_copy(update={"gpus": 1}))
    files.accelerate_config.write_text(yaml.safe_dump(accel, sort_keys=True))
    files.write_status(WorkerStatus(state="pending"))
    command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(files.accelerate_config),
               "--num_processes", "1", "--main_process_port", str(free_port()), "-m", "ftrouter_local.worker",
               str(files.root)]
    result = run_stage("fsdp", command, 180, {**env, **worker_environment(files)}, log_dir)
    status = files.read_status()
    result.update({"state": status.state, "error": status.error_message, "runtime": status.runtime,
                   "accelerate": {k: accel.get(k) for k in ("distributed_type", "fsdp_config")},
                   "adapter_files": sorted(p.name for p in files.output.glob("*")) if files.output.is_dir() else []})
    return result


def run_named_stage(stage: str, opts: argparse.Namespace, model: str, data: Path, work: Path, env: dict[str, str],
                    out: Path) -> dict[str, Any]:
    """Run one stage (see the module docstring); its result for the report."""
    steps = str(opts.steps)
    if stage == "throughput":
        result = run_stage(stage, [sys.executable, "benchmarks/bench_local_throughput.py", "--model", model,
                                   "--data", str(data), "--steps", steps, "--batch-size", "8",
                                   "--max-length", "512", "--repeat", "1", "--json"], 240, env, out)
        with contextlib.suppress(ValueError):
            result["result"] = json.loads(result["stdout"][result["stdout"].index("{"):])
    elif stage in ("qlora", "full"):
        result = run_stage(stage, cli("submit", "--backend", "local", "--model", model, "--data", str(data),
                                      "--adapter", stage,
                                      "--max-steps", steps, "--batch-size", "8", "--max-length", "512",
                                      "--wait", "--json"), 180, env, out)
        status = final_status(result)
        result["status"] = status
        if stage == "qlora" and status and status.get("state") == "succeeded":
            evaluate = cli("eval", "--data", str(work / "eval.jsonl"), "--model", str(status["id"]), "--limit", "8",
                           "--json", "--engine", "transformers")
            result["eval"] = run_stage(f"{stage}.eval", evaluate, 120, env, out)
    elif stage == "fsdp":
        result = fsdp_stage(model, str(data), opts.steps, env, work, out)
    elif stage == "tests":
        result = run_stage(stage, [sys.executable, "-m", "pytest", *opts.tests, "-q", "-n", "8",
                                   "-p", "no:cacheprovider", "--maxfail", "40",
                                   "--ignore", "tests/providers/local/test_local_serve.py"], 200, env, out)
        result["stdout"] = result["stdout"][-6000:]
    else:
        raise SystemExit(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("gpu-check-out"), help="where the report and logs go")
    parser.add_argument("--work", type=Path, help="model, data and jobs (default: a temporary folder)")
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--shape", choices=("0.5b", "tiny"), default="0.5b")
    parser.add_argument("--tests", nargs="*", default=["tests/providers/local"], help="what the tests stage runs")
    parser.add_argument("--budget-s", type=float, help="end within this many seconds: stages that would start "
                        "with under a minute left are skipped, the running one is stopped in time")
    opts = parser.parse_args(argv)
    global _DEADLINE
    if opts.budget_s:
        _DEADLINE = time.monotonic() + opts.budget_s
    out = opts.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    work = (opts.work or Path(tempfile.mkdtemp(prefix="ftrouter-gpu-check-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "FTROUTER_HOME": str(work / "home"), "PYTHONUNBUFFERED": "1", "NO_COLOR": "1",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    os.environ.update({"FTROUTER_HOME": env["FTROUTER_HOME"], "HF_HUB_OFFLINE": "1"})
    report: dict[str, Any] = {"stages": {}}
    results_file = out / "gpu_check.json"

    def save() -> None:
        results_file.write_text(json.dumps(report, indent=1, default=str))

    import torch

    report["device"] = {"torch": torch.__version__, "cuda": torch.version.cuda,
                        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    for module in ("transformers", "trl", "peft", "accelerate", "datasets", "bitsandbytes"):
        try:
            report["device"][module] = __import__(module).__version__
        except Exception as exc:  # a missing optional package is a finding, not a crash
            report["device"][module] = f"unavailable: {type(exc).__name__}: {exc}"
    print("device:", json.dumps(report["device"]), flush=True)
    rows = conversations(opts.examples, seed=1)
    data = work / "train.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    (work / "eval.jsonl").write_text("".join(json.dumps(row) + "\n" for row in conversations(16, seed=2)))
    started = time.perf_counter()
    shape = TINY_SHAPE if opts.shape == "tiny" else QWEN25_05B_SHAPE
    model = str(build_model(work / f"model-{opts.shape}", rows, shape))
    report["model_build_s"] = round(time.perf_counter() - started, 1)
    save()
    stages = [s for s in opts.stages.split(",") if s]
    for stage in stages:
        if _DEADLINE - time.monotonic() < 60:
            report["stages"][stage] = {"rc": None, "seconds": 0, "skipped": "under a minute of --budget-s left"}
            save()
            print(f"{stage}: skipped (budget)", flush=True)
            continue
        print(f"== {stage}", flush=True)
        result = run_named_stage(stage, opts, model, data, work, env, out)
        report["stages"][stage] = result
        save()
        print(f"{stage}: rc {result['rc']} in {result['seconds']} s", flush=True)
    print(json.dumps({name: {k: v for k, v in r.items() if k not in ("stdout",)}
                      for name, r in report["stages"].items()}, indent=1, default=str)[-9000:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
