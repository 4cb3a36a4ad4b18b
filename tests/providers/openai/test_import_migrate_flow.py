"""End to end with no network: ``import openai --job`` from an authored cassette (authored from the
published schema, not recorded live), then ``migrate --to local --wait`` trains the replacement on the
tiny offline model through the normal submit path and runs the eval comparing it with the old
fine-tune on the held-out file: the old fine-tune's answers come from the loopback OpenAI-compatible
server (``OPENAI_BASE_URL``), the new job's from the trained adapter. The printed ``ftrouter eval``
command then reproduces that run from the answer cache."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli
from openai_shared import TEST_KEY

from ftrouter.jobs.registry import Registry

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "eval"))
import vcr_support
from loopback_openai import LoopbackOpenAI

pytestmark = [pytest.mark.vcr, pytest.mark.slow]
SFT_ID = "ftjob-Im1SftQ8wK2mZr5Tn1Lx7V"
FAST = ["--option", "logging_steps=5", "--option", "activation_checkpointing=false", "--option", "max_length=96",
        "--option", "save_steps=1000", "--option", "max_steps=12"]


@pytest.fixture
def vcr_config() -> dict[str, Any]:
    """The cassette plays OpenAI's job API; the loopback server (the old fine-tune answering) is not in it."""
    return {**vcr_support.vcr_config(), "ignore_localhost": True}


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


def test_import_then_migrate_to_local_and_train(capsys: pytest.CaptureFixture[str], tiny_model: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run_cli(capsys, "import", "openai", "--job", SFT_ID, "--json")
    assert code == 0, err
    [imported] = json.loads(out)
    held_out = [json.loads(line) for line in Path(imported["files"]["validation"]).read_text().splitlines()]
    golden = {row["messages"][-2]["content"]: row["messages"][-1]["content"] for row in held_out}

    with LoopbackOpenAI(answer=lambda messages: golden[messages[-1]["content"]], require_key=TEST_KEY) as old:
        monkeypatch.setenv("OPENAI_BASE_URL", old.base_url)  # the old fine-tune answers here, as it would at OpenAI
        code, out, err = run_cli(capsys, "migrate", SFT_ID, "--to", "local", "--model", str(tiny_model), "--wait",
                                 "--json", *FAST)
        assert code == 0, err
        plan = json.loads(out)
        job = Registry().get(plan["job"])
        assert job.backend == "local" and job.state.value == "succeeded" and job.result and job.result.adapter_path
        assert job.spec.data == imported["files"]["training"] and job.spec.val == imported["files"]["validation"]
        assert job.spec.hyperparameters.epochs == 3 and job.spec.hyperparameters.learning_rate == 2e-4
        assert plan["data"]["examples"] == 10 and plan["estimate"] == job.estimate.as_dict()
        old_spec = f"openai:{imported['fine_tuned_model']}"
        assert plan["eval_command"] == (f"ftrouter eval --data {imported['files']['validation']} --model "
                                        f"{old_spec} --model {job.id}")

        # --wait ran that eval: the old fine-tune answered every held-out example (with its own golden answers)
        assert old.state.requests == len(held_out)
        comparison = plan["eval"]
        assert comparison["models"] == [old_spec, job.id] and comparison["notes"] == []
        top = comparison["headline"]
        assert top["old"] == 1.0 and top["new"] is not None and top["delta"] == pytest.approx(top["new"] - 1.0)
        code, out, err = run_cli(capsys, "evals", "show", comparison["run"], "--json")
        assert code == 0, err
        stored = json.loads(out)
        assert [m["model"] for m in stored["models"]] == [old_spec, job.id] and stored["examples"] == len(held_out)

        # the printed command is the same eval: every answer now comes from the cache, nothing is sent
        code, out, err = run_cli(capsys, *plan["eval_command"].split()[1:], "--json")
    assert code == 0, err
    again = json.loads(out)
    assert old.state.requests == len(held_out) and [m["cached"] for m in again["models"]] == [len(held_out)] * 2
    assert [m["metrics"] for m in again["models"]] == [m["metrics"] for m in stored["models"]]
