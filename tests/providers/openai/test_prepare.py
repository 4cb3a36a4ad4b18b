"""``submit --dry-run`` for OpenAI: every local step (validate, convert, estimate, plan) with no key and
no network, and clear one-line errors for data or flags OpenAI cannot take."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openai_shared import REPO

from ftrouter.backends import backend_names, load_backend_class

MODEL = "gpt-4.1-mini-2025-04-14"
EXAMPLES = REPO / "configs" / "examples"


def cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(FTROUTER_HOME=str(home), COLUMNS="120")
    return subprocess.run([sys.executable, "-m", "ftrouter", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_the_plugin_is_found_by_its_entry_point() -> None:
    from ftrouter_openai import OpenAIBackend

    assert "openai" in backend_names() and load_backend_class("openai") is OpenAIBackend
    from ftrouter.backends import Backend
    from ftrouter.catalog import models
    from ftrouter.profiles import profile_for

    assert profile_for("openai").methods == ("sft", "dpo") and models()[MODEL].backend == "openai"
    assert OpenAIBackend.pause is not Backend.pause and OpenAIBackend.resume is not Backend.resume


@pytest.mark.slow
def test_dry_run_without_a_key_shows_stats_estimate_and_requests(ftrouter_home: Path) -> None:
    """The acceptance line of issue 3, run as a new user would (a real process, no OPENAI_API_KEY)."""
    proc = cli("submit", "--backend", "openai", "--data", str(EXAMPLES / "chat.jsonl"), "--model", MODEL,
               "--dry-run", home=ftrouter_home)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Converted data" in out and "examples" in out and "tokens total" in out  # converted file stats
    assert "Cost estimate" in out and "billed tokens" in out and "$" in out and "prices as of" in out
    assert "POST https://api.openai.com/v1/files" in out and "POST https://api.openai.com/v1/fine_tuning/jobs" in out
    assert '"ftrouter_local_id"' in out and "nothing was sent" in out
    assert not (ftrouter_home / "jobs.db").exists() or "ftr-" not in cli("jobs", "--json", home=ftrouter_home).stdout
    assert not list(ftrouter_home.glob("jobs/*/train.jsonl"))  # the dry run's converted file is gone again


def test_dry_run_json_plan(ftrouter_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ftrouter.cli.app import main

    with pytest.raises(SystemExit) as info:
        main(["submit", "--backend", "openai", "--data", str(EXAMPLES / "dpo.jsonl"), "--model", MODEL,
              "--method", "dpo", "--beta", "0.2", "--epochs", "2", "--suffix", "prefs", "--seed", "3", "--dry-run",
              "--json"])
    assert info.value.code in (0, None)
    plan = json.loads(capsys.readouterr().out)
    create = plan["requests"][-1]
    assert create["method"] == "POST" and create["url"].endswith("/fine_tuning/jobs")
    assert create["body"]["method"] == {"type": "dpo", "dpo": {"hyperparameters": {"n_epochs": 2, "beta": 0.2}}}
    assert create["body"]["suffix"] == "prefs" and create["body"]["seed"] == 3
    assert create["body"]["metadata"]["ftrouter_local_id"] == plan["local_id"]
    assert plan["estimate"]["backend"] == "openai" and plan["estimate"]["epochs"] == 2
    assert plan["estimate"]["billed_tokens"] > 0 and plan["stats"]["examples"] == 11


@pytest.mark.parametrize(("extra", "code", "expected"), [
    (("--data", str(EXAMPLES / "broken.jsonl")), 1, "broken.jsonl:2: invalid_json"),
    (("--data", str(EXAMPLES / "chat.jsonl"), "--method", "dpo"), 1, "wrong_method"),
    (("--data", str(EXAMPLES / "chat.jsonl"), "--adapter", "lora"), 2, "not_supported"),
    (("--data", str(EXAMPLES / "chat.jsonl"), "--learning-rate", "0.001"), 2, "--lr-multiplier"),
    (("--data", str(EXAMPLES / "chat.jsonl"), "--beta", "0.1"), 2, "--method dpo"),
    (("--data", str(EXAMPLES / "chat.jsonl"), "--option", "project=x"), 2, "takes no --option"),
    (("--data", str(EXAMPLES / "chat.jsonl"), "--model", "gpt-4.1-mini"), 2, "gpt-4.1-mini-2025-04-14"),
])
def test_bad_data_or_flags_fail_before_anything_is_sent(ftrouter_home: Path, capsys: pytest.CaptureFixture[str],
                                                        extra: tuple[str, ...], code: int, expected: str) -> None:
    from ftrouter.cli.app import main

    args = ["submit", "--backend", "openai", "--model", MODEL, "--dry-run", *extra]
    with pytest.raises(SystemExit) as info:
        main(args)
    err = capsys.readouterr().err
    assert info.value.code == code and expected in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_real_submit_without_a_key_names_the_variable(ftrouter_home: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from ftrouter.cli.app import main

    with pytest.raises(SystemExit) as info:
        main(["submit", "--backend", "openai", "--data", str(EXAMPLES / "chat.jsonl"), "--model", MODEL])
    err = capsys.readouterr().err
    assert info.value.code == 4 and "OPENAI_API_KEY is not set" in err and "--dry-run" in err
