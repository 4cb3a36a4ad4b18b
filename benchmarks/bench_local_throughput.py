"""Benchmark: ftrouter's local training throughput against a plain TRL ``SFTTrainer`` default run.

In one invocation, on the same model and the same prepared data (the prompt-completion records
ftrouter's ``prepare`` wrote), it runs:

1. ftrouter: ``LocalBackend`` prepare + submit, the detached worker, ftrouter's defaults (or a
   recipe); the figures are the job's own measured ``runtime`` (what the registry stores);
2. the reference: a fresh process running ``SFTTrainer(model=NAME, args=SFTConfig(...))`` with TRL's
   defaults, the same LoRA adapter (``--baseline-adapter none`` for TRL's default full fine-tuning),
   and only what a fair comparison must pin: the step count, per-device batch size and max length
   (plus ``use_cpu`` on a machine without CUDA, where TRL's bf16 default refuses to start);

and prints tokens/s (non-padding input tokens over the training loop's time), peak memory (GPU
allocated on CUDA, process RSS on CPU), wall time, and the ratios ftrouter / TRL. Each run is its
own process, so peak memory is its own. With no --model it builds the tiny offline model and runs on
the CPU (slowly, and small: for checking the script, not for conclusions).

    python benchmarks/bench_local_throughput.py [--model PATH_OR_HUB_ID --data FILE] [--steps 30]
        [--batch-size 8] [--max-length 512] [--recipe NAME] [--option KEY=VALUE ...] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


# -- the reference run (executed in its own process: ``--reference-run SPEC.json``) ----------------


def reference_run(spec: dict[str, Any]) -> dict[str, Any]:
    """A plain TRL default SFT run; returns the same measurements ftrouter's worker reports."""
    started = time.perf_counter()
    import torch
    from ftrouter_local.progress import Throughput
    from ftrouter_local.reporting import peak_rss_gb
    from ftrouter_local.training import load_records
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    meter = Throughput()

    from transformers import TrainerCallback

    class Measure(TrainerCallback):  # measurement only: changes nothing in the run
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            meter.begin(state)

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            meter.sample(state)

    cuda = torch.cuda.is_available()
    args = SFTConfig(output_dir=spec["output_dir"], max_steps=spec["steps"],
                     per_device_train_batch_size=spec["batch_size"], max_length=spec["max_length"],
                     include_num_input_tokens_seen="non_padding",  # to count tokens the same way
                     use_cpu=not cuda,  # without CUDA, TRL's defaults (bf16) refuse to start otherwise
                     report_to="none", disable_tqdm=True)
    lora = spec.get("lora")
    peft_config = LoraConfig(task_type="CAUSAL_LM", bias="none", **lora) if lora else None
    trainer = SFTTrainer(model=spec["model"], args=args, train_dataset=load_records(Path(spec["records"])),
                         peft_config=peft_config, callbacks=[Measure()])
    trainer.train()
    return {
        "tokens_per_second": round(meter.tokens_per_second, 2),
        "train_time_s": round(meter.seconds, 2),
        "wall_time_s": round(time.perf_counter() - started, 2),
        "trained_tokens": meter.tokens,
        "peak_memory_gb": round(torch.cuda.max_memory_allocated() / 1e9, 3) if cuda else peak_rss_gb(),
        "memory_kind": "gpu_allocated" if cuda else "cpu_rss",
        "settings": {"dtype": str(getattr(trainer.model, "dtype", "?")).removeprefix("torch."), "bf16": args.bf16,
                     "activation_checkpointing": args.gradient_checkpointing,
                     "learning_rate": args.learning_rate, "adapter": "lora" if lora else "full"},
    }


# -- the ftrouter run -----------------------------------------------------------------------------


def ftrouter_run(model: str, data: str, opts: argparse.Namespace, options: dict[str, Any],
                 attempt: int = 0) -> tuple[dict, Any]:
    from ftrouter_local import LocalBackend
    from ftrouter_local.config import TrainConfig
    from ftrouter_local.jobfiles import JobFiles

    from ftrouter.jobs.models import Hyperparameters, JobSpec

    backend = LocalBackend()
    spec = JobSpec(backend="local", model=model, data=data, options=options,
                   hyperparameters=Hyperparameters(max_steps=opts.steps, batch_size=opts.batch_size,
                                                   max_length=opts.max_length))
    prepared = backend.prepare(spec, f"ftr-bench{os.getpid()}-{attempt}")
    ref = backend.submit(prepared)
    while not (status := backend.status(ref)).state.terminal:
        time.sleep(0.5)
    files = JobFiles(Path(ref.extra["job_dir"]))
    if status.state.value != "succeeded":
        raise SystemExit(f"the ftrouter run {status.state.value}: {status.error}\n{files.log_tail(20)}")
    config = TrainConfig.model_validate_json(files.config.read_text())
    runtime = dict(status.runtime)
    runtime["settings"] = {"dtype": runtime.get("dtype"), "activation_checkpointing": config.activation_checkpointing,
                           "learning_rate": config.resolved_learning_rate, "adapter": config.adapter}
    return runtime, (files, config)


def run_reference(files: Any, config: Any, opts: argparse.Namespace, model: str, work: Path) -> dict[str, Any]:
    lora = None
    if opts.baseline_adapter == "same" and config.adapter == "lora":
        lora = {"r": config.lora_r, "lora_alpha": config.lora_alpha, "lora_dropout": config.lora_dropout,
                "target_modules": config.lora_target_modules}
    spec = {"model": model, "records": str(files.train_data), "steps": opts.steps, "batch_size": config.batch_size,
            "max_length": config.max_length, "output_dir": str(work / "reference"), "lora": lora}
    spec_file = work / "reference.json"
    spec_file.write_text(json.dumps(spec))
    done = subprocess.run([sys.executable, __file__, "--reference-run", str(spec_file)], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the reference run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- reporting ------------------------------------------------------------------------------------


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median tokens/s (so its figures belong together), with every run's tokens/s."""
    ordered = sorted(runs, key=lambda run: run["tokens_per_second"])
    middle = dict(ordered[len(ordered) // 2])
    middle["all_tokens_per_second"] = [run["tokens_per_second"] for run in runs]
    return middle


def ratios(ours: dict[str, Any], ref: dict[str, Any]) -> dict[str, float | None]:
    def div(key: str) -> float | None:
        return round(ours[key] / ref[key], 3) if ref.get(key) else None

    return {"tokens_per_second": div("tokens_per_second"), "peak_memory_gb": div("peak_memory_gb"),
            "wall_time_s": div("wall_time_s")}


def render(result: dict[str, Any]) -> str:
    rows = [("ftrouter local", result["ftrouter"]), ("plain TRL default", result["reference"])]
    lines = [f"model {result['model']} on {result['device']}: {result['steps']} steps, batch {result['batch_size']}, "
             f"max_length {result['max_length']}; median of {result['repeat']} run(s) each, interleaved",
             f"{'':18} {'tokens/s':>10} {'peak mem GB':>12} {'train s':>8} {'wall s':>8}  settings"]
    for name, run in rows:
        lines.append(f"{name:18} {run['tokens_per_second']:>10.1f} {run['peak_memory_gb']:>12.3f} "
                     f"{run['train_time_s']:>8.2f} {run['wall_time_s']:>8.2f}  {json.dumps(run['settings'])}")
    r = result["ratio"]
    lines.append(f"ratio ftrouter / TRL: tokens/s {r['tokens_per_second']}x, peak memory {r['peak_memory_gb']}x, "
                 f"wall time {r['wall_time_s']}x (memory is {result['ftrouter']['memory_kind']})")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder or hub id (default: build the tiny offline model)")
    parser.add_argument("--data", help="training data (JSONL, any format ftrouter reads)")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--recipe", help="an ftrouter recipe for the ftrouter run")
    parser.add_argument("--option", action="append", default=[], help="ftrouter KEY=VALUE option (repeatable)")
    parser.add_argument("--baseline-adapter", choices=("same", "none"), default="same",
                        help="reference with the same LoRA adapter (default) or TRL's default full fine-tuning")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, interleaved; the median is shown")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--reference-run", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _options(opts: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {"recipe": opts.recipe} if opts.recipe else {}
    for pair in opts.option:
        key, _, value = pair.partition("=")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return options


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    if opts.reference_run:
        print(json.dumps(reference_run(json.loads(Path(opts.reference_run).read_text()))))
        return 0
    with tempfile.TemporaryDirectory(prefix="ftrouter-bench-") as tmp:
        work = Path(tmp)
        os.environ["FTROUTER_HOME"] = str(work / "home")
        model, data = opts.model, opts.data
        if model is None:
            from ftrouter_local.tiny import build_tiny_model, synthetic_conversations, write_jsonl

            model = str(build_tiny_model(work / "tiny-model"))
            data = data or str(write_jsonl(synthetic_conversations(256, seed=1), work / "train.jsonl"))
        if data is None:
            raise SystemExit("--data is required with --model")
        ours_runs: list[dict[str, Any]] = []
        reference_runs: list[dict[str, Any]] = []
        for attempt in range(max(1, opts.repeat)):  # interleaved, so a busy spell hurts both sides
            ours, (files, config) = ftrouter_run(model, data, opts, _options(opts), attempt)
            ours_runs.append(ours)
            reference_runs.append(run_reference(files, config, opts, model, work))
    ours, reference = median_run(ours_runs), median_run(reference_runs)
    result = {"model": model if opts.model else "tiny (built on the spot)", "device": ours.get("gpu", "?"),
              "steps": opts.steps, "batch_size": config.batch_size, "max_length": config.max_length,
              "repeat": len(ours_runs), "ftrouter": ours, "reference": reference, "ratio": ratios(ours, reference)}
    print(json.dumps(result, indent=1) if opts.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
