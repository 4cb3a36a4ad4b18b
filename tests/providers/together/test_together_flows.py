"""The Together adapter against the in-memory fake: what submit sends (upload, estimate, create with
the local id in the suffix), status with progress and metrics, events, checkpoints, cancel, lookup."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_together import FakeTogether
from together_shared import DATA

from ftrouter.errors import Conflict, NotSupported, QuotaError
from ftrouter.jobs.models import Hyperparameters, JobSpec, JobState, PreparedJob, RemoteRef

MODEL = "openai/gpt-oss-20b"


def prepared(local_id: str = "ftr-tg001", method: str = "sft", val: bool = False, *, model: str = MODEL,
             data_dir: Path = DATA, **spec: Any) -> PreparedJob:
    data = data_dir / ("dpo_train.jsonl" if method == "dpo" else "chat_train.jsonl")
    files = {"train": str(data), **({"val": str(data_dir / "chat_val.jsonl")} if val else {})}
    job = JobSpec(backend="together", model=model, data=str(data), method=method, **spec)  # type: ignore[arg-type]
    return PreparedJob(spec=job, local_id=local_id, files=files)


def test_submit_uploads_asks_the_price_and_creates_with_the_local_id(fake: FakeTogether,
                                                                     backend: Callable[..., Any]) -> None:
    ref = backend().submit(prepared(val=True, suffix="support", seed=7,
                                    hyperparameters=Hyperparameters(epochs=3, learning_rate=2e-5, batch_size=8),
                                    options={"n_checkpoints": "2", "n_evals": "1"}))
    assert fake.calls("POST", "/files/upload") == 2
    upload = next(r for r in fake.requests if r.url.path == "/v1/files/upload")
    assert b'name="purpose"\r\n\r\nfine-tune' in upload.content and b'filename="chat_train.jsonl"' in upload.content
    [estimate] = fake.bodies("POST", "/fine-tunes/estimate-price")
    [create] = fake.bodies("POST", "/fine-tunes")
    assert estimate["n_epochs"] == 3 and estimate["n_evals"] == 1 and estimate["validation_file"]
    assert create == {"training_file": "file-0001-ftr", "validation_file": "file-0002-ftr", "model": MODEL,
                      "n_epochs": 3, "learning_rate": 2e-5, "batch_size": 8, "random_seed": 7,
                      "suffix": "support-ftr-tg001", "training_method": {"method": "sft", "train_on_inputs": False},
                      "n_checkpoints": 2, "n_evals": 1}
    assert ref.remote_id in fake.jobs and ref.extra["estimate"]["estimated_total_price"] == 2.5
    assert ref.extra["estimate_source"] == "POST /fine-tunes/estimate-price"


def test_dpo_with_full_training_and_wandb_passthrough(fake: FakeTogether, backend: Callable[..., Any],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_API_KEY", "wandb-secret-123")
    backend().submit(prepared(method="dpo", adapter="full", hyperparameters=Hyperparameters(beta=0.2),
                              options={"wandb_project_name": "ft", "wandb_name": "run1"}))
    [create] = fake.bodies("POST", "/fine-tunes")
    assert create["training_method"] == {"method": "dpo", "dpo_beta": 0.2}
    assert create["training_type"] == {"type": "Full"}
    assert create["wandb_project_name"] == "ft" and create["wandb_api_key"] == "wandb-secret-123"


def test_lora_rank_becomes_the_training_type(fake: FakeTogether, backend: Callable[..., Any]) -> None:
    backend().submit(prepared(hyperparameters=Hyperparameters(lora_r=16)))
    [create] = fake.bodies("POST", "/fine-tunes")
    assert create["training_type"] == {"type": "Lora", "lora_r": 16, "lora_alpha": 32}


def test_an_account_that_may_not_proceed_creates_nothing(fake: FakeTogether, backend: Callable[..., Any]) -> None:
    fake.allowed_to_proceed = False
    with pytest.raises(QuotaError, match="may not proceed"):
        backend().submit(prepared())
    assert not fake.jobs and fake.calls("POST", "/fine-tunes") == 0


def test_status_follows_the_job_to_success(fake: FakeTogether, backend: Callable[..., Any]) -> None:
    b = backend()
    ref = b.submit(prepared())
    assert b.status(ref).state is JobState.PENDING
    assert fake.calls("GET", f"/fine-tunes/{ref.remote_id}/checkpoints") == 0  # nothing to read before training
    fake.run(ref.remote_id, step=10, total=30)
    running = b.status(ref)
    assert running.state is JobState.RUNNING and running.progress.fraction == pytest.approx(1 / 3)
    assert running.metrics["train_loss"] == 0.9 and running.eta is not None
    fake.complete(ref.remote_id)
    done = b.status(ref)
    assert done.state is JobState.SUCCEEDED and done.result is not None
    assert done.result.model_id == f"acme/gpt-oss-20b-{ref.local_id}" and done.trained_tokens == 1503
    assert done.runtime["checkpoints"] == [done.result.model_id] and done.runtime["epochs"] == 1


def test_a_failed_job_reports_the_error_event(fake: FakeTogether, backend: Callable[..., Any]) -> None:
    b = backend()
    ref = b.submit(prepared())
    fake.error_out(ref.remote_id, "Training data has too few tokens")
    status = b.status(ref)
    assert status.state is JobState.FAILED and status.error is not None
    assert status.error.message == "Training data has too few tokens"


def test_events_after_a_known_one(fake: FakeTogether, backend: Callable[..., Any]) -> None:
    b = backend()
    ref = b.submit(prepared())
    fake.run(ref.remote_id)
    events = b.events(ref)
    assert [e.id for e in events] == ["evt-0000", "evt-0001", "evt-0002", "evt-0003"]
    assert [e.id for e in b.events(ref, after="evt-0001")] == ["evt-0002", "evt-0003"]
    assert events[-1].type == "checkpoint" and events[-1].data == {"step": 10, "total_steps": 30}


def test_one_refresh_reads_the_job_once_and_takes_its_events_from_it(fake: FakeTogether,
                                                                       backend: Callable[..., Any]) -> None:
    b = backend()
    ref = b.submit(prepared())
    fake.run(ref.remote_id)
    fake.requests.clear()
    answer = b.refresh(ref, after="evt-0001")
    assert fake.calls("GET", f"/fine-tunes/{ref.remote_id}") == 1
    assert fake.calls("GET", f"/fine-tunes/{ref.remote_id}/events") == 0  # the job object carries them
    assert answer.status.state is JobState.RUNNING and answer.status.metrics["train_loss"] == 0.9
    assert answer.events == b.events(ref, after="evt-0001")
    assert [e.id for e in answer.events] == ["evt-0002", "evt-0003"]


def test_cancel_and_a_second_cancel(fake: FakeTogether, backend: Callable[..., Any]) -> None:
    b = backend()
    ref = b.submit(prepared())
    assert b.cancel(ref).raw_state == "cancel_requested"
    fake.jobs[ref.remote_id]["status"] = "cancelled"
    assert b.status(ref).state is JobState.CANCELLED
    with pytest.raises(Conflict):
        b.cancel(ref)


def test_find_by_local_id_matches_the_whole_id_only(fake: FakeTogether, backend: Callable[..., Any]) -> None:
    b = backend()
    ref = b.submit(prepared(local_id="ftr-abc1", suffix="support"))
    assert b.find_by_local_id("ftr-abc1") is not None and b.find_by_local_id("ftr-abc1").remote_id == ref.remote_id
    assert b.find_by_local_id("ftr-abc") is None


def test_pause_is_not_supported(backend: Callable[..., Any]) -> None:
    ref = RemoteRef(backend="together", remote_id="ft-x", local_id="ftr-x")
    for action in (backend().pause, backend().resume):
        with pytest.raises(NotSupported, match="together backend cannot"):
            action(ref)  # refused before anything is sent


def test_limits_are_checked_before_anything_is_uploaded(fake: FakeTogether, backend: Callable[..., Any]) -> None:
    from ftrouter.errors import UsageError

    job = prepared(method="dpo", hyperparameters=Hyperparameters(epochs=30, batch_size=16, lora_r=128))
    with pytest.raises(UsageError) as info:
        backend().submit(job)
    message = str(info.value)
    assert "--epochs 30: Together trains openai/gpt-oss-20b for at most 20" in message
    assert "--batch-size 16: Together accepts 8 to 8" in message and "largest LoRA rank" in message
    assert info.value.code == "over_limit" and fake.calls("POST", "/files/upload") == 0


def test_a_model_together_does_not_tune_is_refused(fake: FakeTogether, backend: Callable[..., Any]) -> None:
    from ftrouter.errors import UsageError

    fake.tunable = ()
    with pytest.raises(UsageError, match="Together does not fine-tune openai/gpt-oss-20b") as info:
        backend().submit(prepared())
    assert info.value.code == "model_not_tunable" and not fake.files
