"""``migrate --wait``'s comparison (``ftrouter.migrate.compare``) against loopback OpenAI-compatible servers:
the old fine-tune is reached through ``OPENAI_BASE_URL`` as in production, the new model is another
server. Reachable, no key, a refused key, a model already shut down: the new model is evaluated every
time and the reason the old one is missing is said. (The full import -> migrate --wait flow with a
trained local job is tests/providers/openai/test_import_migrate_flow.py.)"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ftrouter.eval.store import load_run
from ftrouter.migrate.compare import compare_after_migration, old_model_spec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
from loopback_openai import LoopbackOpenAI

OLD = "openai:ft:gpt-4.1-mini-2025-04-14:org-redacted:bot:x1"
KEY = "sk-test-compare"


def reference(i: int) -> str:
    return f"answer {i}"


@pytest.fixture
def held_out(tmp_path: Path) -> Path:
    path = tmp_path / "held_out.jsonl"
    path.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"},
                                                     {"role": "assistant", "content": reference(i)}]}) + "\n"
                            for i in range(5)))
    return path


def right(messages: list[dict[str, Any]]) -> str:
    return reference(int(messages[-1]["content"][1:]))


def right_but_q0(messages: list[dict[str, Any]]) -> str:
    return "no idea" if messages[-1]["content"] == "q0" else right(messages)


@pytest.fixture
def new_server() -> Iterator[LoopbackOpenAI]:
    with LoopbackOpenAI(answer=right_but_q0) as server:
        yield server


def new_spec(server: LoopbackOpenAI) -> str:
    return f"openai:new@{server.base_url}"


def test_old_and_new_are_compared_on_the_held_out_file(held_out: Path, new_server: LoopbackOpenAI,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with LoopbackOpenAI(answer=right, require_key=KEY) as old_server:
        monkeypatch.setenv("OPENAI_BASE_URL", old_server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        result = compare_after_migration(held_out, OLD, new_spec(new_server))
    assert result.notes == [] and result.models == [OLD, new_spec(new_server)]
    assert old_server.state.requests == 5 and {b["model"] for b in old_server.state.bodies} == {OLD[len("openai:"):]}
    assert result.headline is not None
    assert {k: result.headline[k] for k in ("metric", "old", "new", "test")} == {
        "metric": "normalized", "old": 1.0, "new": 0.8, "test": "mcnemar_exact"}
    assert result.headline["delta"] == pytest.approx(-0.2)
    assert load_run(result.run)["summary"]["models"][1]["model"] == new_spec(new_server)


def test_without_a_key_the_new_job_is_evaluated_alone(held_out: Path, new_server: LoopbackOpenAI) -> None:
    result = compare_after_migration(held_out, OLD, new_spec(new_server))
    assert result.models == [new_spec(new_server)] and new_server.state.requests == 5
    assert len(result.notes) == 1 and "cannot be reached" in result.notes[0] and "OPENAI_API_KEY" in result.notes[0]
    assert result.headline == {"metric": "normalized", "old": None, "new": 0.8, "delta": None, "ci95": None,
                               "p_value": None, "test": None}


def test_a_refused_key_is_said_and_the_new_job_is_evaluated_from_the_cache(
        held_out: Path, new_server: LoopbackOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    with LoopbackOpenAI(answer=right, require_key="sk-the-right-one") as old_server:
        monkeypatch.setenv("OPENAI_BASE_URL", old_server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        result = compare_after_migration(held_out, OLD, new_spec(new_server))
    assert result.models == [new_spec(new_server)] and "rejected the API key" in result.notes[0]
    assert new_server.state.requests == 5  # the second run took the new model's answers from the cache
    assert load_run(result.run)["summary"]["models"][0]["model"] == new_spec(new_server)


def test_a_shut_down_fine_tune_is_reported_next_to_the_new_jobs_scores(
        held_out: Path, new_server: LoopbackOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    with LoopbackOpenAI(fail_when=lambda m: 404) as old_server:
        monkeypatch.setenv("OPENAI_BASE_URL", old_server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        result = compare_after_migration(held_out, OLD, new_spec(new_server))
    assert any("answered none of the 5 held-out examples" in note for note in result.notes)
    assert result.headline is not None and result.headline["new"] == 0.8 and result.headline["old"] is None
    summary = load_run(result.run)["summary"]
    assert [m["errors"] for m in summary["models"]] == [5, 0]


def test_the_old_spec_is_the_fine_tuned_model_or_else_the_base() -> None:
    assert old_model_spec({"fine_tuned_model": "ft:m:o::1", "base_model": "m"}) == "openai:ft:m:o::1"
    assert old_model_spec({"fine_tuned_model": None, "base_model": "m"}) == "openai:m"


def test_the_human_output_is_the_eval_table_and_the_headline(held_out: Path, new_server: LoopbackOpenAI,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from ftrouter.cli.migrate import _print_comparison

    with LoopbackOpenAI(answer=right) as old_server:
        monkeypatch.setenv("OPENAI_BASE_URL", old_server.base_url)
        result = compare_after_migration(held_out, OLD, new_spec(new_server))
    _print_comparison(result)
    out = capsys.readouterr().out
    assert "Models" in out and "Paired comparisons" in out  # the same table as `ftrouter eval`
    assert "normalized: new job 0.8 vs old fine-tune 1.0, delta -0.2" in out and f"evals show {result.run}" in out


def test_a_new_job_that_answers_nothing_is_said(held_out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with LoopbackOpenAI(answer=right) as old_server, LoopbackOpenAI(fail_when=lambda m: 404) as broken:
        monkeypatch.setenv("OPENAI_BASE_URL", old_server.base_url)
        result = compare_after_migration(held_out, OLD, new_spec(broken))
    assert result.notes == [f"the new job {new_spec(broken)} answered none of the 5 held-out examples; see the "
                            "errors in the stored run"]
    assert result.headline is not None and (result.headline["old"], result.headline["new"]) == (1.0, None)


def test_when_the_comparison_fails_the_trained_job_is_still_reported(
        held_out: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``migrate --wait`` keeps the plan (the job has trained) and returns the error for the exit code."""
    from ftrouter.cli.migrate import _compare
    from ftrouter.errors import BackendError
    from ftrouter.migrate.plan import MigrationPlan

    with LoopbackOpenAI(fail_when=lambda m: 404) as old_server, LoopbackOpenAI(fail_when=lambda m: 404) as broken:
        monkeypatch.setenv("OPENAI_BASE_URL", old_server.base_url)
        plan = MigrationPlan.model_construct(data={"held_out": str(held_out)}, job=new_spec(broken),
                                             source={"fine_tuned_model": OLD[len("openai:"):], "base_model": "m"})
        comparison, failure = _compare(plan)
    assert comparison is None and isinstance(failure, BackendError) and "every request failed" in str(failure)
    assert f"the new job {new_spec(broken)} has trained, but the comparison failed" in capsys.readouterr().err


def test_a_dpo_jobs_held_out_file_is_scored_against_the_preferred_answers(
        tmp_path: Path, new_server: LoopbackOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{"input": {"messages": [{"role": "user", "content": f"q{i}"}]},
             "preferred_output": [{"role": "assistant", "content": reference(i)}],
             "non_preferred_output": [{"role": "assistant", "content": "no idea"}]} for i in range(5)]
    held_out = tmp_path / "dpo_val.jsonl"
    held_out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with LoopbackOpenAI(answer=right) as old_server:
        monkeypatch.setenv("OPENAI_BASE_URL", old_server.base_url)
        result = compare_after_migration(held_out, OLD, new_spec(new_server))
    assert result.headline is not None and (result.headline["old"], result.headline["new"]) == (1.0, 0.8)


def test_answers_recorded_before_the_shutdown_stand_in_for_the_old_fine_tune(
        held_out: Path, new_server: LoopbackOpenAI, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`ftrouter record ftjob-... --data HELD_OUT` before the shutdown fills the answer cache; afterwards the
    model answers 404, and the comparison is still made from the recorded answers."""
    from clirun import run_cli
    from test_migrate import OPENAI_DATA, imported

    job = imported("ftr-cmp001", hyper={"n_epochs": 2}, train=OPENAI_DATA / "chat_train.jsonl")
    old = f"openai:{job.ref_extra['fine_tuned_model']}"
    shut_down = [False]
    with LoopbackOpenAI(answer=right, fail_when=lambda m: 404 if shut_down[0] else None) as old_server:
        monkeypatch.setenv("OPENAI_BASE_URL", old_server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        code, _, err = run_cli(capsys, "record", job.remote_id or "", "--data", str(held_out), "-o",
                               str(held_out.with_name("golden.jsonl")))
        assert code == 0, err
        shut_down[0] = True
        result = compare_after_migration(held_out, old, new_spec(new_server))
    assert old_server.state.requests == 5 and result.notes == []
    assert result.headline is not None and (result.headline["old"], result.headline["new"]) == (1.0, 0.8)
