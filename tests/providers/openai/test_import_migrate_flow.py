"""End to end with no network: ``import openai --job`` from an authored cassette (authored from the
published schema, not recorded live), then ``migrate --to local --wait`` trains the replacement on the
tiny offline model through the normal submit path and prints the exact eval command. (Running that
eval is ``ftrouter eval``'s job, built separately.)"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirun import run_cli
from openai_shared import TEST_KEY

from ftrouter.jobs.registry import Registry

pytestmark = [pytest.mark.vcr, pytest.mark.slow]
SFT_ID = "ftjob-Im1SftQ8wK2mZr5Tn1Lx7V"
FAST = ["--option", "logging_steps=5", "--option", "activation_checkpointing=false", "--option", "max_length=96",
        "--option", "save_steps=1000", "--option", "max_steps=12"]


@pytest.fixture
def tiny_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    pytest.importorskip("ftrouter_local")
    from ftrouter_local.jobfiles import JobFiles
    from ftrouter_local.launcher import launcher_pid, process_alive
    from ftrouter_local.tiny import build_tiny_model

    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    yield build_tiny_model(tmp_path / "tiny")
    jobs = Path(os.environ["FTROUTER_HOME"]) / "jobs"
    for root in jobs.iterdir() if jobs.is_dir() else []:  # never leave a worker behind
        files = JobFiles(root)
        for pid in [*files.rank_pids(), launcher_pid(files)] if files.status.is_file() else []:
            if pid and process_alive(pid, str(files.root)):
                os.kill(pid, signal.SIGKILL)


def test_import_then_migrate_to_local_and_train(capsys: pytest.CaptureFixture[str], tiny_model: Path) -> None:
    code, out, err = run_cli(capsys, "import", "openai", "--job", SFT_ID, "--json")
    assert code == 0, err
    [imported] = json.loads(out)

    code, out, err = run_cli(capsys, "migrate", SFT_ID, "--to", "local", "--model", str(tiny_model), "--wait",
                             "--json", *FAST)
    assert code == 0, err
    plan = json.loads(out)
    job = Registry().get(plan["job"])
    assert job.backend == "local" and job.state.value == "succeeded" and job.result and job.result.adapter_path
    assert job.spec.data == imported["files"]["training"] and job.spec.val == imported["files"]["validation"]
    assert job.spec.hyperparameters.epochs == 3 and job.spec.hyperparameters.learning_rate == 2e-4
    assert plan["data"]["examples"] == 10 and plan["estimate"] == job.estimate
    assert plan["eval_command"] == (f"ftrouter eval --data {imported['files']['validation']} --model "
                                    f"openai:{imported['fine_tuned_model']} --model {job.id}")
