"""Calibration: measured tokens/s of finished local jobs replaces the MFU prior."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftrouter.cost import MeasuredRun, estimate_training, measured_tokens_per_second, registry_runs
from ftrouter.cost.calibration import run_from_record


def test_median_per_gpu_and_name_matching() -> None:
    runs = [
        MeasuredRun(model="meta-llama/Llama-3.1-8B-Instruct", gpu="H100-SXM-80GB", gpus=2, tokens_per_second=10_000),
        MeasuredRun(model="llama-3.1-8b", gpu="h100", tokens_per_second=3_000, method="lora"),
        MeasuredRun(model="llama-3.1-8b", gpu="h100", tokens_per_second=9_000, method="qlora"),
        MeasuredRun(model="qwen2.5-7b", gpu="h100", tokens_per_second=1),
    ]
    # lora: per-GPU 5,000 (2 GPUs) and 3,000; the qlora run is another method
    assert measured_tokens_per_second(runs, model="llama-3.1-8b", gpu="H100-SXM-80GB", method="lora") == (4_000, 2)
    assert measured_tokens_per_second(runs, model="llama-3.1-8b", gpu="h100") == (5_000, 3)
    assert measured_tokens_per_second(runs, model="llama-3.1-8b", gpu="a100") is None


def test_record_without_measurements_is_skipped() -> None:
    assert run_from_record("m", "lora", {"wall_time_s": 5}) is None
    assert run_from_record("m", "lora", {"tokens_per_second": 0, "gpu": "h100"}) is None
    run = run_from_record("m", None, {"tokens_per_second": 1200.5, "gpu": "h100", "gpus": 2})
    assert run is not None and run.gpus == 2 and run.tokens_per_second == 1200.5


def test_no_registry_file_means_no_calibration_and_no_file_created(ftrouter_home: Path) -> None:
    assert registry_runs() == []
    assert not (ftrouter_home / "jobs.db").exists()


def test_registry_finished_local_jobs_calibrate_the_estimate(ftrouter_home: Path) -> None:
    registry = pytest.importorskip("ftrouter.jobs.registry")
    from ftrouter.jobs.models import JobSpec, JobState, JobStatus, PreparedJob, RemoteRef

    reg = registry.Registry()

    def finished(local_id: str, backend: str, state: JobState, runtime: dict[str, object]) -> None:
        spec = JobSpec(backend=backend, model="meta-llama/Llama-3.1-8B-Instruct", data="d.jsonl", adapter="lora")
        reg.create(PreparedJob(spec=spec, local_id=local_id))
        reg.attach_remote(local_id, RemoteRef(backend=backend, remote_id=f"r-{local_id}", local_id=local_id))
        reg.record_status(local_id, JobStatus(state=state, runtime=runtime))

    finished("ftr-aaaaaa", "local", JobState.SUCCEEDED, {"tokens_per_second": 6000.0, "gpu": "H100-SXM-80GB",
                                                         "gpus": 1, "wall_time_s": 500})
    finished("ftr-bbbbbb", "local", JobState.FAILED, {"tokens_per_second": 1.0, "gpu": "H100-SXM-80GB"})
    finished("ftr-cccccc", "openai", JobState.SUCCEEDED, {"tokens_per_second": 1.0, "gpu": "H100-SXM-80GB"})
    runs = registry_runs()
    assert [(r.gpu, r.tokens_per_second, r.method) for r in runs] == [("H100-SXM-80GB", 6000.0, "lora")]
    [est] = estimate_training("local", example_tokens=[1000] * 600, model="llama-3.1-8b", gpu="h100",
                              measured=runs)  # the caller reads the registry; the estimator stays pure
    assert est.assumptions["throughput_source"] == "measured (1 run)"
    assert est.hours == pytest.approx(600 * 1000 * 3 / 6000 / 3600)
