"""End to end on CPU with the tiny model: a real detached worker, real TRL training, no hub.

submit -> running -> succeeded (loss down, adapter loads with PEFT and generates); cancel mid-run ->
cancelled with a checkpoint; resume -> continues from that step and succeeds; kill -9 -> failed with
the log tail; two processes through accelerate launch -> succeeded.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from ftrouter_local import LocalBackend
from ftrouter_local.jobfiles import JobFiles
from local_helpers import cuda_devices, ended, make_spec, running, wait_until

from ftrouter.jobs.models import JobState, RemoteRef

pytestmark = pytest.mark.slow


def _losses(backend: LocalBackend, ref: RemoteRef) -> list[float]:
    return [e.data["loss"] for e in backend.events(ref) if e.type == "metrics" and "loss" in e.data]


def test_submit_runs_to_success_and_the_adapter_generates(backend: LocalBackend, tiny_model: Path,
                                                           chat_data: Path) -> None:
    prepared = backend.prepare(make_spec(tiny_model, chat_data, max_steps=40), "ftr-ok0001")
    assert prepared.stats["train"]["records"] == 64
    ref = backend.submit(prepared)

    wait_until(backend, ref, running)
    final = wait_until(backend, ref, ended)

    assert final.state is JobState.SUCCEEDED, final.error
    assert final.progress.step == final.progress.total_steps == 40
    losses = _losses(backend, ref)
    assert len(losses) >= 5 and losses[-1] < losses[0] - 0.3
    runtime = final.runtime
    assert runtime["tokens_per_second"] > 0 and runtime["wall_time_s"] > 0 and runtime["peak_memory_gb"] > 0
    assert (runtime["gpu"], runtime["gpus"], runtime["processes"], runtime["dtype"]) == ("cpu", 0, 1, "float32")
    assert final.trained_tokens == runtime["trained_tokens"] > 0

    assert final.result is not None and final.result.adapter_path
    output = Path(final.result.adapter_path)
    summary = json.loads((output / "summary.json").read_text())
    assert summary["final_loss"] < summary["first_loss"] and summary["tokens_seen"] > 0
    # the run's average loss has its own name: 'train_loss' is what job views show as the current loss
    assert final.metrics["loss"] == pytest.approx(summary["final_loss"])
    assert "train_loss" not in final.metrics and final.metrics["mean_train_loss"] > summary["final_loss"]
    assert list((JobFiles(output.parent).tensorboard).glob("events.out.tfevents.*"))

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(output)
    base = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    model = PeftModel.from_pretrained(base, output)
    prompt: Any = tokenizer.apply_chat_template([{"role": "user", "content": "What is two plus three?"}],
                                           add_generation_prompt=True, return_tensors="pt", return_dict=True)
    generated = model.generate(**prompt, max_new_tokens=8, do_sample=False)
    new_tokens = generated[0, prompt["input_ids"].shape[1]:]
    assert len(new_tokens) > 0
    text: Any = tokenizer.decode(new_tokens)
    assert text.strip()


def test_cancel_checkpoints_then_resume_continues_from_that_step(backend: LocalBackend, tiny_model: Path,
                                                                 chat_data: Path) -> None:
    ref = backend.submit(backend.prepare(make_spec(tiny_model, chat_data, max_steps=120), "ftr-cancel1"))
    wait_until(backend, ref, lambda s: (s.progress.step or 0) >= 3)

    cancelled = backend.cancel(ref)

    assert cancelled.state is JobState.CANCELLED, cancelled
    stopped_at = cancelled.progress.step
    assert stopped_at is not None and 3 <= stopped_at < 120
    assert cancelled.result is not None and cancelled.result.checkpoint
    checkpoint = Path(cancelled.result.checkpoint)
    assert checkpoint.name == f"checkpoint-{stopped_at}" and (checkpoint / "trainer_state.json").is_file()
    assert any(e.type == "checkpoint" for e in backend.events(ref))

    resumed = backend.resume(ref)
    assert resumed.state is JobState.PENDING
    final = wait_until(backend, ref, ended)

    assert final.state is JobState.SUCCEEDED, final.error
    assert final.progress.step == 120
    messages = [e.message for e in backend.events(ref)]
    assert f"resuming from checkpoint-{stopped_at}" in messages
    assert f"training from step {stopped_at} to step 120" in messages
    first_logged_after_resume = [e.data["step"] for e in backend.events(ref)
                                 if e.type == "metrics" and e.data.get("step", 0) > stopped_at]
    assert first_logged_after_resume and min(first_logged_after_resume) > stopped_at
    assert final.runtime["wall_time_s"] >= cancelled.runtime["wall_time_s"]


def test_a_killed_worker_is_marked_failed_with_its_log_tail(backend: LocalBackend, tiny_model: Path,
                                                            chat_data: Path) -> None:
    ref = backend.submit(backend.prepare(make_spec(tiny_model, chat_data, max_steps=300), "ftr-kill01"))
    wait_until(backend, ref, lambda s: (s.progress.step or 0) >= 2)  # killed mid-training, not while loading
    files = JobFiles(Path(ref.extra["job_dir"]))
    worker_pid = int((files.root / "worker.pid").read_text())

    os.kill(worker_pid, signal.SIGKILL)
    status = wait_until(backend, ref, ended, timeout=20)

    assert status.state is JobState.FAILED
    assert status.error is not None and status.error.code == "worker_died"
    assert f"pid {worker_pid}" in status.error.message
    assert "ftrouter-local worker" in status.error.message  # the log tail's first line
    assert backend.events(ref)[-1].level == "error"
    assert backend.status(ref).state is JobState.FAILED  # stays failed; nothing is left "running"


@pytest.mark.skipif(cuda_devices() == 1, reason="two processes need two GPUs, or none (CPU, gloo)")
def test_two_processes_through_accelerate_launch_stop_together_and_resume(
        backend: LocalBackend, tiny_model: Path, chat_data: Path) -> None:
    ref = backend.submit(backend.prepare(make_spec(tiny_model, chat_data, max_steps=80, gpus=2), "ftr-ddp001"))
    wait_until(backend, ref, lambda s: (s.progress.step or 0) >= 3, timeout=150)

    cancelled = backend.cancel(ref)  # both ranks must agree on the step, or the next all-reduce hangs

    assert cancelled.state is JobState.CANCELLED, cancelled
    assert cancelled.result is not None and cancelled.result.checkpoint
    files = JobFiles(Path(ref.extra["job_dir"]))
    assert len(files.rank_pids()) == 2

    backend.resume(ref)
    final = wait_until(backend, ref, ended, timeout=150)

    assert final.state is JobState.SUCCEEDED, final.error
    assert final.runtime["processes"] == 2 and final.progress.step == 80
    assert (files.output / "adapter_model.safetensors").is_file()
    loading = next(e for e in backend.events(ref) if e.message.startswith("loading"))
    assert loading.data["processes"] == 2


def test_full_fine_tuning_with_packing_and_a_validation_set(backend: LocalBackend, tiny_model: Path,
                                                            chat_data: Path, tmp_path: Path) -> None:
    val = tmp_path / "val.jsonl"  # held-out questions: a copy of the training file would be leakage (an error)
    rows = [json.loads(line) for line in chat_data.read_text().splitlines()[:16]]
    for row in rows:
        row["messages"][0]["content"] += " (held out)"
    val.write_text("".join(json.dumps(row) + "\n" for row in rows))
    spec = make_spec(tiny_model, chat_data, max_steps=12, packing=True, eval_steps=6)
    spec = spec.model_copy(update={"adapter": "full", "val": str(val)})
    ref = backend.submit(backend.prepare(spec, "ftr-full01"))

    final = wait_until(backend, ref, ended)

    assert final.state is JobState.SUCCEEDED, final.error
    assert final.runtime["adapter"] == "full"
    eval_losses = [e.data["eval_loss"] for e in backend.events(ref) if "eval_loss" in e.data]
    assert len(eval_losses) == 2
    output = Path(ref.extra["job_dir"]) / "output"
    assert (output / "model.safetensors").is_file() and not (output / "adapter_config.json").exists()
