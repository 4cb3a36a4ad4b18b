"""Local DPO end to end on CPU with the tiny model (TRL's DPOTrainer in the same detached worker):
LoRA (reference = the base with the adapter disabled) learns to prefer the chosen replies; full
fine-tuning (reference = a frozen copy) is cancelled with a checkpoint and resumed to success;
``submit --method dpo`` through the CLI; data that does not match the method is refused."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli
from ftrouter_local import LocalBackend
from ftrouter_local.tiny import write_jsonl
from local_helpers import FAST_OPTIONS, ended, wait_until

from ftrouter.jobs.models import Hyperparameters, JobSpec, JobState

pytestmark = pytest.mark.slow
NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
           "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen"]


def preference_pairs(count: int, seed: int = 0) -> list[dict[str, Any]]:
    """OpenAI DPO format: the right sum is preferred over a wrong one."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        a, b = rng.randint(0, 9), rng.randint(0, 9)
        wrong = (a + b + rng.randint(1, 5)) % 19
        question = [{"role": "user", "content": f"What is {NUMBERS[a]} plus {NUMBERS[b]}?"}]
        rows.append({"input": {"messages": question},
                     "preferred_output": [{"role": "assistant", "content": f"It is {NUMBERS[a + b]}."}],
                     "non_preferred_output": [{"role": "assistant", "content": f"It is {NUMBERS[wrong]}."}]})
    return rows


@pytest.fixture(scope="module")
def dpo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(preference_pairs(32, seed=3), tmp_path_factory.mktemp("dpo") / "pairs.jsonl")


def dpo_spec(model: Path, data: Path, *, max_steps: int, adapter: str = "lora", beta: float = 0.1) -> JobSpec:
    return JobSpec(backend="local", model=str(model), data=str(data), method="dpo", adapter=adapter,  # type: ignore[arg-type]
                   hyperparameters=Hyperparameters(max_steps=max_steps, learning_rate=3e-3, batch_size=8, beta=beta),
                   options={**FAST_OPTIONS, "logging_steps": 2})


def _metric_series(events: list[Any], key: str) -> list[float]:
    return [e.data[key] for e in events if e.type == "metrics" and key in e.data]


def test_lora_dpo_learns_the_preference_against_the_base_as_reference(backend: LocalBackend, tiny_model: Path,
                                                                      dpo_data: Path) -> None:
    prepared = backend.prepare(dpo_spec(tiny_model, dpo_data, max_steps=24, beta=0.2), "ftr-dpo001")
    record = json.loads(Path(prepared.files["train"]).read_text().splitlines()[0])
    assert set(record) == {"prompt", "chosen", "rejected"}
    ref = backend.submit(prepared)
    final = wait_until(backend, ref, ended, timeout=180)

    assert final.state is JobState.SUCCEEDED, final.error
    assert final.progress.step == 24
    events = backend.events(ref)
    messages = [e.message for e in events]
    assert "DPO with beta 0.2; reference: the base model with the adapter disabled (no second copy in memory)" \
        in messages
    margins = _metric_series(events, "rewards/margins")
    losses = _metric_series(events, "loss")
    assert margins and losses and margins[-1] > margins[0] and losses[-1] < losses[0]
    output = Path(final.result.adapter_path) if final.result and final.result.adapter_path else None
    assert output and (output / "adapter_model.safetensors").is_file()
    assert json.loads((output / "summary.json").read_text())["config"]["beta"] == 0.2


def test_full_dpo_cancels_with_a_checkpoint_and_resumes(backend: LocalBackend, tiny_model: Path,
                                                        dpo_data: Path) -> None:
    ref = backend.submit(backend.prepare(dpo_spec(tiny_model, dpo_data, max_steps=80, adapter="full"), "ftr-dpo002"))
    wait_until(backend, ref, lambda s: (s.progress.step or 0) >= 3, timeout=180)

    cancelled = backend.cancel(ref)
    assert cancelled.state is JobState.CANCELLED and cancelled.result and cancelled.result.checkpoint
    stopped_at = cancelled.progress.step
    assert stopped_at is not None and stopped_at < 80

    backend.resume(ref)
    final = wait_until(backend, ref, ended, timeout=180)
    assert final.state is JobState.SUCCEEDED, final.error
    assert final.progress.step == 80
    messages = [e.message for e in backend.events(ref)]
    assert f"resuming from checkpoint-{stopped_at}" in messages
    assert "DPO with beta 0.1; reference: a frozen copy of the base model (full fine-tuning changes the policy's " \
           "own weights)" in messages
    assert final.result and final.result.adapter_path
    assert (Path(final.result.adapter_path) / "model.safetensors").is_file()


def test_submit_method_dpo_through_the_cli(capsys: pytest.CaptureFixture[str], tiny_model: Path, dpo_data: Path,
                                           chat_data: Path) -> None:
    code, out, err = run_cli(capsys, "submit", "--backend", "local", "--method", "dpo", "--beta", "0.3", "--data",
                             str(dpo_data), "--model", str(tiny_model), "--dry-run", "--json")
    assert code == 0, err
    plan = json.loads(out)
    config = plan["requests"][0]["body"]["config"]
    assert (config["method"], config["beta"], plan["stats"]["train"]["records"]) == ("dpo", 0.3, 32)

    code, _, err = run_cli(capsys, "submit", "--backend", "local", "--method", "dpo", "--data", str(chat_data),
                           "--model", str(tiny_model), "--dry-run")
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "wrong_method: --method dpo trains on preference pairs" in err
    code, _, err = run_cli(capsys, "submit", "--backend", "local", "--method", "sft", "--data", str(dpo_data),
                           "--model", str(tiny_model), "--dry-run")
    assert code == 1 and "wrong_method: --method sft trains on conversations" in err
    code, out, err = run_cli(capsys, "submit", "--backend", "local", "--data", str(dpo_data), "--model",
                             str(tiny_model), "--dry-run", "--json")  # no --method: the data says dpo
    assert code == 0 and json.loads(out)["requests"][0]["body"]["config"]["method"] == "dpo", err
