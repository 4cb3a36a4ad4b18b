"""``ftrouter record`` against the loopback OpenAI-compatible server (no network): the written chat rows
(prompt as given, tools kept, the model's answer as the last turn), failures reported and not written,
the cache on a rerun, refusals before any call, a job id resolved to its fine-tuned model, and a
recorded file feeding ``migrate --from-recorded``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
from loopback_openai import LoopbackOpenAI
from test_migrate import imported

TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]
ROWS: list[dict[str, Any]] = [
    {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "q1"},
                  {"role": "assistant", "content": "old reference"}], "tools": TOOLS},
    {"messages": [{"role": "user", "content": "q2"}]},
    {"prompt": "q3", "completion": "c3"},
    {"prompt": "q4"},
    {"text": "q5", "label": "x"},
    {"text": "q6"},
]


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def answer(messages: list[dict[str, Any]]) -> str:
    return "golden " + str(messages[-1]["content"])


def test_every_row_kind_is_written_as_a_chat_row_with_the_models_answer(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write(tmp_path / "prompts.jsonl", ROWS)
    out = tmp_path / "golden.jsonl"
    with LoopbackOpenAI(answer=answer) as server:
        spec = f"openai:old@{server.base_url}"
        code, stdout, err = run_cli(capsys, "record", spec, "--data", str(data), "-o", str(out), "--json")
    assert code == 0, err
    assert json.loads(stdout) == {"model": spec, "data": str(data), "written": 6, "failed": 0, "cached": 0,
                                  "output": str(out), "failed_lines": [], "first_error": None}
    rows = read(out)
    assert rows[0] == {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "q1"},
                                    {"role": "assistant", "content": "golden q1"}], "tools": TOOLS}
    assert [r["messages"] for r in rows[1:]] == [
        [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"golden q{i}"}] for i in range(2, 7)]
    assert sorted(b["messages"][-1]["content"] for b in server.state.bodies) == [f"q{i}" for i in range(1, 7)]


def test_failed_examples_are_reported_not_written_and_retried_from_the_cache(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write(tmp_path / "prompts.jsonl", ROWS)
    out = tmp_path / "golden.jsonl"
    flaky = {"q2", "q5"}

    def fail(messages: list[dict[str, Any]]) -> int | None:
        return 400 if messages[-1]["content"] in flaky else None  # a 400 is not retried: the test stays fast

    with LoopbackOpenAI(answer=answer, fail_when=fail) as server:
        spec = f"openai:old@{server.base_url}"
        code, stdout, err = run_cli(capsys, "record", spec, "--data", str(data), "-o", str(out), "--json")
        assert code == 0, err
        summary = json.loads(stdout)
        assert (summary["written"], summary["failed"], summary["failed_lines"]) == (4, 2, [2, 5])
        assert "2 of 6 prompts got no answer and are NOT in" in err and "lines 2, 5" in err
        assert [r["messages"][-1]["content"] for r in read(out)] == ["golden q1", "golden q3", "golden q4",
                                                                     "golden q6"]
        flaky.clear()
        sent = server.state.requests
        code, stdout, err = run_cli(capsys, "record", spec, "--data", str(data), "-o", str(out), "--json")
    assert code == 0, err
    assert server.state.requests - sent == 2  # only the two that failed are asked again
    assert json.loads(stdout) | {"first_error": None} == {**summary, "written": 6, "failed": 0, "cached": 4,
                                                          "failed_lines": [], "first_error": None}
    assert len(read(out)) == 6


def test_when_every_request_fails_nothing_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write(tmp_path / "prompts.jsonl", ROWS[:2])
    out = tmp_path / "golden.jsonl"
    with LoopbackOpenAI(fail_when=lambda m: 400) as server:
        code, _, err = run_cli(capsys, "record", f"openai:old@{server.base_url}", "--data", str(data), "-o",
                               str(out))
    assert code == 3 and "every request failed" in err and "Traceback" not in err
    assert not out.exists() and list(tmp_path.iterdir()) == [data]


def test_when_every_answer_is_empty_nothing_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A model that answers every prompt with nothing (a broken fine-tune, a wrong template) is a failed
    recording, not an empty file and exit 0."""
    data = write(tmp_path / "prompts.jsonl", ROWS[:2])
    out = tmp_path / "golden.jsonl"
    with LoopbackOpenAI(answer=lambda messages: "  ") as server:
        code, _, err = run_cli(capsys, "record", f"openai:old@{server.base_url}", "--data", str(data), "-o",
                               str(out))
    assert code == 3 and "no prompt got an answer (the model gave an empty answer)" in err, err
    assert "Traceback" not in err and not out.exists() and list(tmp_path.iterdir()) == [data]


@pytest.mark.parametrize(("args", "code", "message"), [
    (["-o", "{data}"], 2, "-o is the prompts file itself"),
    (["-o", "{dir}/./prompts.jsonl"], 2, "-o is the prompts file itself"),
    (["-o", "{dir}/missing/out.jsonl"], 2, "does not exist"),
    (["--limit", "0"], 2, "--limit must be at least 1"),
    (["--concurrency", "0"], 2, "--concurrency must be at least 1"),
])
def test_bad_options_are_refused_before_any_call(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 args: list[str], code: int, message: str) -> None:
    data = write(tmp_path / "prompts.jsonl", ROWS[:2])
    before = data.read_bytes()
    with LoopbackOpenAI() as server:
        argv = [a.format(data=data, dir=tmp_path) for a in args]
        got, _, err = run_cli(capsys, "record", f"openai:old@{server.base_url}", "--data", str(data), *argv)
    assert got == code and message in err and "Traceback" not in err
    assert server.state.requests == 0 and data.read_bytes() == before


def test_a_bad_prompt_row_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "prompts.jsonl"
    data.write_text('{"prompt": "q1"}\n{"messages": "nope"}\n')
    with LoopbackOpenAI() as server:
        code, _, err = run_cli(capsys, "record", f"openai:old@{server.base_url}", "--data", str(data))
    assert code == 1 and f"{data}:2:" in err and server.state.requests == 0
    assert not (tmp_path / "prompts.recorded.jsonl").exists()


def test_an_imported_job_records_its_fine_tuned_model_then_migrate_trains_on_the_recording(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from test_migrate import OPENAI_DATA

    job = imported("ftr-rec001", hyper={"n_epochs": 2}, train=OPENAI_DATA / "chat_train.jsonl")
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_bytes((OPENAI_DATA / "chat_train.jsonl").read_bytes())
    with LoopbackOpenAI(answer=answer, require_key="sk-test-record") as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-record")
        code, stdout, err = run_cli(capsys, "record", job.remote_id or "", "--data", str(prompts), "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    recorded = tmp_path / "prompts.recorded.jsonl"
    assert summary["model"] == job.remote_id and summary["output"] == str(recorded) and summary["failed"] == 0
    assert {b["model"] for b in server.state.bodies} == {job.ref_extra["fine_tuned_model"]}
    assert summary["written"] == len(prompts.read_text().splitlines()) == len(read(recorded))

    code, stdout, err = run_cli(capsys, "migrate", job.id, "--to", "local", "--model", "Qwen/Qwen2.5-0.5B-Instruct",
                                "--from-recorded", str(recorded), "--dry-run", "--json")
    assert code == 0, err
    plan = json.loads(stdout)
    assert any("--from-recorded" in note for note in plan["notes"])
    trained, held_out = read(Path(plan["data"]["training"])), read(Path(plan["data"]["held_out"]))
    assert plan["data"]["examples"] == len(trained) and len(trained) + len(held_out) == summary["written"]
    golden = {json.dumps(r, sort_keys=True) for r in read(recorded)}
    assert all(json.dumps(r, sort_keys=True) in golden for r in trained + held_out)
    assert plan["eval_command"].startswith(f"ftrouter eval --data {plan['data']['held_out']} ")


def test_limit_default_output_and_a_later_eval_served_from_the_cache(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write(tmp_path / "prompts.jsonl", ROWS)
    with LoopbackOpenAI(answer=answer) as server:
        spec = f"openai:old@{server.base_url}"
        code, stdout, err = run_cli(capsys, "record", spec, "--data", str(data), "--limit", "3")
        assert code == 0, err
        recorded = tmp_path / "prompts.recorded.jsonl"
        assert f"wrote 3 answer(s) from {spec} to {recorded}" in stdout and len(read(recorded)) == 3
        # the recording is an eval file: the same model on it is answered from the cache, and matches itself
        code, stdout, err = run_cli(capsys, "eval", "--data", str(recorded), "--model", spec, "--json")
    assert code == 0, err
    [model] = json.loads(stdout)["models"]
    assert server.state.requests == 3 and model["cached"] == 3 and model["metrics"]["normalized"] == 1.0


def test_preference_rows_are_recorded_as_chat_rows_with_their_tools(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A DPO job's data (OpenAI preference rows) is a prompt set too: the input's messages are the prompt."""
    prompt = [{"role": "system", "content": "s"}, {"role": "user", "content": "q1"}]
    data = write(tmp_path / "dpo.jsonl", [
        {"input": {"messages": prompt, "tools": TOOLS}, "preferred_output": [{"role": "assistant", "content": "yes"}],
         "non_preferred_output": [{"role": "assistant", "content": "no"}]},
        {"input": {"messages": [{"role": "user", "content": "q2"}]}}])
    out = tmp_path / "golden.jsonl"
    with LoopbackOpenAI(answer=answer) as server:
        code, _, err = run_cli(capsys, "record", f"openai:old@{server.base_url}", "--data", str(data), "-o", str(out))
    assert code == 0, err
    assert read(out) == [{"messages": [*prompt, {"role": "assistant", "content": "golden q1"}], "tools": TOOLS},
                         {"messages": [{"role": "user", "content": "q2"},
                                       {"role": "assistant", "content": "golden q2"}]}]


def test_recording_needs_no_metric_library(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Only answering is involved: no numpy / scipy / scikit-learn (the `eval` extra) on this path."""
    for module in ("numpy", "scipy", "sklearn"):
        monkeypatch.setitem(sys.modules, module, None)  # importing it now fails
    data = write(tmp_path / "prompts.jsonl", ROWS[:2])
    with LoopbackOpenAI(answer=answer) as server:
        code, stdout, err = run_cli(capsys, "record", f"openai:old@{server.base_url}", "--data", str(data), "--json")
    assert code == 0, err
    assert json.loads(stdout)["written"] == 2


def test_a_gzipped_or_csv_prompts_file_is_recorded_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The prompts are read in the data commands' containers (unpacked once), and every answered row is written
    back: the rows are matched to their answers by the same (original) line numbers."""
    import gzip

    gz = tmp_path / "prompts.jsonl.gz"
    gz.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in ROWS).encode()))
    csv = tmp_path / "prompts.csv"
    csv.write_text('prompt,completion\n"two\nlines",c1\nq2,c2\n', encoding="utf-8")
    from ftrouter.data import containers

    unpacked: list[Path] = []
    real = containers._gunzip
    monkeypatch.setattr(containers, "_gunzip", lambda src, shown: unpacked.append(shown) or real(src, shown))
    with LoopbackOpenAI(answer=answer) as server:
        spec = f"openai:old@{server.base_url}"
        for data, expected in ((gz, [f"golden q{i}" for i in range(1, 7)]), (csv, ["golden two\nlines", "golden q2"])):
            out = tmp_path / f"{data.name}.golden.jsonl"
            code, stdout, err = run_cli(capsys, "record", spec, "--data", str(data), "-o", str(out), "--json")
            assert code == 0, err
            assert json.loads(stdout)["written"] == len(expected)
            assert [r["messages"][-1]["content"] for r in read(out)] == expected
    assert unpacked == [gz]
