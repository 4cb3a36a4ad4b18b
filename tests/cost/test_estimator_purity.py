"""The cost engine is pure: measured throughput comes in as an argument (``measured``); it never reads
the job registry itself. The commands read it (``calibration.registry_runs``) and pass it in."""

from __future__ import annotations

from pathlib import Path

import pytest
from clirun import run_cli

from ftrouter.cost import MeasuredRun, estimate_training
from ftrouter.jobs.models import JobSpec, JobState, JobStatus, PreparedJob, RemoteRef
from ftrouter.jobs.registry import Registry

EXAMPLES = Path(__file__).resolve().parents[1] / "providers" / "openai" / "data" / "chat_train.jsonl"


@pytest.fixture
def a_measured_local_job(ftrouter_home: Path) -> None:
    reg = Registry()
    spec = JobSpec(backend="local", model="meta-llama/Llama-3.1-8B-Instruct", data="d.jsonl", adapter="lora")
    reg.create(PreparedJob(spec=spec, local_id="ftr-pure01"))
    reg.attach_remote("ftr-pure01", RemoteRef(backend="local", remote_id="r", local_id="ftr-pure01"))
    reg.record_status("ftr-pure01", JobStatus(state=JobState.SUCCEEDED, runtime={
        "tokens_per_second": 6000.0, "gpu": "H100-SXM-80GB", "gpus": 1}))


def test_estimating_never_reads_the_registry(a_measured_local_job: None) -> None:
    [est] = estimate_training("local", example_tokens=[1000] * 600, model="llama-3.1-8b", gpu="h100")
    assert est.assumptions["throughput_source"] == "mfu prior"  # nothing passed in: the prior alone


def test_the_estimate_command_passes_the_registry_runs_in(a_measured_local_job: None,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    import json

    code, out, err = run_cli(capsys, "estimate", "--data", str(EXAMPLES), "--backend", "local", "--model",
                             "llama-3.1-8b", "--gpu", "h100", "--json")
    assert code == 0, err
    [est] = json.loads(out)["backends"]
    assert est["assumptions"]["throughput_source"] == "measured (1 run)"


def test_measured_runs_given_replace_the_prior() -> None:
    run = MeasuredRun(model="meta-llama/Llama-3.1-8B-Instruct", gpu="H100-SXM-80GB", gpus=1,
                      tokens_per_second=6000.0, method="lora")
    [est] = estimate_training("local", example_tokens=[1000] * 600, model="llama-3.1-8b", gpu="h100",
                              measured=[run])
    assert est.assumptions["throughput_source"] == "measured (1 run)"
