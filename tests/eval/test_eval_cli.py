"""``ftrouter eval`` / ``evals`` / ``evals show`` end to end against the loopback server: the --json
shape, stored runs, every report format, escaping of untrusted model output, and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli
from loopback_openai import LoopbackOpenAI

HOSTILE = '<script>alert(1)</script> [bold red]boom[/] :100: =cmd()'


def rows(n: int) -> list[dict[str, Any]]:
    return [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"answer {i}"}]}
            for i in range(n)]


def write(tmp_path: Path, items: list[Any], name: str = "eval.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in items))
    return path


def good_or_hostile(messages: list[dict[str, Any]]) -> str:
    i = int(messages[-1]["content"][1:])
    return HOSTILE if i == 0 else f"answer {i}"


def test_json_shape_and_stored_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write(tmp_path, rows(6))
    with LoopbackOpenAI(answer=good_or_hostile) as good, LoopbackOpenAI(answer=lambda m: "no idea") as bad:
        a, b = f"openai:good@{good.base_url}", f"openai:bad@{bad.base_url}"
        code, out, err = run_cli(capsys, "eval", "--data", str(data), "--model", a, "--model", b, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == {"data", "examples", "models", "comparisons"} and doc["examples"] == 6
    model = doc["models"][0]
    assert set(model) == {"model", "metrics", "ci95", "errors", "cached", "latency_ms", "tokens", "cost_usd"}
    assert model["model"] == a and model["metrics"]["normalized"] == pytest.approx(5 / 6, abs=1e-6)
    assert set(model["latency_ms"]) == {"p50", "p95"} and set(model["tokens"]) == {"input", "output"}
    assert model["errors"] == 0 and model["cached"] == 0 and model["cost_usd"] is None
    comparison = doc["comparisons"][0]
    assert {k: comparison[k] for k in ("a", "b", "metric", "test")} == {
        "a": a, "b": b, "metric": "normalized", "test": "mcnemar_exact"}
    assert comparison["delta"] == pytest.approx(-5 / 6, abs=1e-6)
    assert comparison["p_value"] == pytest.approx(2 / 2**5)  # McNemar: 5 discordant pairs, all one way
    run_id = err.split("stored as ")[1].split()[0]
    code, out, _ = run_cli(capsys, "evals", "--json")
    assert code == 0 and json.loads(out)[0]["id"] == run_id
    code, out, _ = run_cli(capsys, "evals", "show", run_id, "--json")
    assert json.loads(out) == doc


def test_a_rerun_is_served_from_the_cache(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write(tmp_path, rows(4))
    with LoopbackOpenAI() as server:
        spec = f"openai:m@{server.base_url}"
        run_cli(capsys, "eval", "--data", str(data), "--model", spec, "--limit", "2", "--json")
        code, out, _ = run_cli(capsys, "eval", "--data", str(data), "--model", spec, "--json")
    assert code == 0 and server.state.requests == 4 and json.loads(out)["models"][0]["cached"] == 2


def test_reports_escape_model_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write(tmp_path, [*rows(3), {"text": "<img src=x onerror=alert(2)>", "label": "x"}][:3])
    with LoopbackOpenAI(answer=good_or_hostile) as server:
        spec = f"openai:m@{server.base_url}"
        html_out = tmp_path / "report.html"
        code, _, err = run_cli(capsys, "eval", "--data", str(data), "--model", spec, "--format", "html", "-o",
                               str(html_out))
        assert code == 0, err
        page = html_out.read_text()
        assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert 'id="disagree"' in page and "Content-Security-Policy" in page
        run_id = err.split("stored as ")[1].split()[0]
    code, out, _ = run_cli(capsys, "evals", "show", run_id, "--format", "md")
    assert code == 0 and "| normalized |" in out.replace("\\_", "_")
    code, out, _ = run_cli(capsys, "evals", "show", run_id, "--format", "csv")
    assert out.splitlines()[0].startswith("model,metric,value,ci95_lo,ci95_hi")
    code, out, _ = run_cli(capsys, "evals", "show", run_id)
    assert code == 0 and "Models" in out


def test_terminal_and_html_keep_hostile_specs_literal(tmp_path: Path) -> None:
    from io import StringIO

    from ftrouter.eval.render import render_html, render_table

    record = {"id": "ev-x", "summary": {"data": "d", "examples": 1, "comparisons": [], "models": [
        {"model": HOSTILE, "metrics": {"exact": 1.0}, "ci95": {"exact": [1.0, 1.0]}, "errors": 0, "cached": 0,
         "latency_ms": {"p50": 1.0, "p95": 1.0}, "tokens": {"input": 1, "output": 1}, "cost_usd": None}]},
        "details": {"metrics": ["exact"], "per_class": {}}}
    buf = StringIO()
    render_table(record, file=buf, width=300)
    assert "[bold red]boom[/]" in buf.getvalue() and ":100:" in buf.getvalue()
    row = {"line": 1, "prompt": [{"role": "user", "content": HOSTILE}], "reference": HOSTILE,
           "answers": {HOSTILE: {"text": HOSTILE, "error": None, "cached": False, "marks": {"exact": 1.0}}}}
    page = render_html(record, [row])
    # five places: the model row, the column head, the prompt, the reference, the answer
    assert "<script>alert" not in page and page.count("&lt;script&gt;alert(1)") == 5


@pytest.mark.parametrize(("content", "where", "code"), [
    ('{"messages": [{"role": "user", "content": "hi"}]}\n', ":1: no_reference", 1),
    ('{"prompt": "p", "completion": "c"}\n{"prompt": "p"}\n', ":2: no_reference", 1),
    ('{"text": "t", "label": "x"}\n{"text": "t"}\n', ":2: no_reference", 1),
    ('{"prompt": "p", "completion": "c"}\n{nope\n', ":2: invalid_json", 1),
])
def test_a_row_without_reference_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     content: str, where: str, code: int) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text(content)
    got, out, err = run_cli(capsys, "eval", "--data", str(data), "--model", "openai:m@http://127.0.0.1:9/v1")
    assert got == code and f"{data}{where}" in err and "Traceback" not in err and out == ""


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--model", "openai:gpt-4.1-mini-2025-04-14"], 4, "OPENAI_API_KEY"),
    (["--model", "nosuch:m"], 2, "unknown provider"),
    (["--model", "openai:m@http://127.0.0.1:9/v1", "--metric", "nonsense"], 2, "unknown metric"),
    (["--model", "openai:m@http://127.0.0.1:9/v1", "--metric", "judge"], 2, "--judge"),
    (["--model", "openai:m@http://127.0.0.1:9/v1", "--format", "pdf"], 2, "--format"),
    (["--model", "ftr-nosuch"], 2, "no job"),
])
def test_usage_and_credential_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                     code: int, message: str) -> None:
    data = write(tmp_path, rows(2))
    got, out, err = run_cli(capsys, "eval", "--data", str(data), *args)
    assert got == code and message in err and out == "" and "Traceback" not in err


def test_a_partly_failing_model_reports_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import functools

    import ftrouter.eval.run as run
    from ftrouter.http import RetryPolicy

    monkeypatch.setattr(run, "RetryPolicy", functools.partial(RetryPolicy, sleep=lambda s: None))  # no real backoff
    data = write(tmp_path, rows(4))
    with LoopbackOpenAI(fail_when=lambda m: 500 if m[-1]["content"] == "q1" else None) as server:
        code, out, _ = run_cli(capsys, "eval", "--data", str(data), "--model", f"openai:m@{server.base_url}",
                               "--json")
    assert code == 0 and json.loads(out)["models"][0]["errors"] == 1
    with LoopbackOpenAI(fail_when=lambda m: 500) as down, LoopbackOpenAI() as up:
        code, out, err = run_cli(capsys, "eval", "--data", str(data), "--model", f"openai:m@{down.base_url}",
                                 "--model", f"openai:m@{up.base_url}", "--json")
        assert code == 0, err
        doc = json.loads(out)
        assert [m["errors"] for m in doc["models"]] == [4, 0] and doc["models"][0]["metrics"] == {}
        assert doc["comparisons"] == []  # nothing to compare on
        code, out, err = run_cli(capsys, "eval", "--data", str(data), "--model", f"openai:m@{down.base_url}")
    assert code == 3 and "every request failed" in err and out == ""


def test_judge_grades_with_a_rubric(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ftrouter.eval.judge import parse_grade

    assert parse_grade("4") == 0.75 and parse_grade("Grade: 5/5") == 1.0 and parse_grade("great") is None

    def grade(messages: list[dict[str, Any]]) -> str:
        prompt = messages[-1]["content"]
        assert "<<<REFERENCE\nanswer 1\nREFERENCE>>>" in prompt or "answer 1" not in prompt
        return "5" if "ANSWER\nanswer" in prompt else "1"

    data = write(tmp_path, rows(4))
    with LoopbackOpenAI(answer=good_or_hostile) as model, LoopbackOpenAI(answer=grade) as judge:
        args = ("eval", "--data", str(data), "--model", f"openai:m@{model.base_url}", "--judge",
                f"openai:judge@{judge.base_url}", "--json")
        code, out, err = run_cli(capsys, *args)
        assert code == 0, err
        assert json.loads(out)["models"][0]["metrics"]["judge"] == pytest.approx(3 / 4)  # 5, 5, 5 and 1
        asked = judge.state.requests
        run_cli(capsys, *args)
    assert asked == 4 and judge.state.requests == 4  # the judge's grades come from the cache on a rerun


def test_judge_states_a_pairwise_preference_in_alternating_order(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from ftrouter.eval.judge import parse_preference

    assert parse_preference("2") == 2 and parse_preference("Answer 0: a tie") == 0 and parse_preference("x") is None
    first_shown: list[str] = []

    def judge(messages: list[dict[str, Any]]) -> str:
        prompt = messages[-1]["content"]
        if "<<<ANSWER 1" not in prompt:
            return "5" if "ANSWER\nanswer" in prompt else "1"
        first = prompt.split("<<<ANSWER 1\n")[1].split("\nANSWER 1>>>")[0]
        first_shown.append(first)
        return "1" if first.startswith("answer") else "2"  # always prefers the right answer

    data = write(tmp_path, rows(6))
    with LoopbackOpenAI(answer=lambda m: f"answer {m[-1]['content'][1:]}") as good, \
            LoopbackOpenAI(answer=lambda m: "no idea") as bad, \
            LoopbackOpenAI(answer=judge) as grader:
        code, out, err = run_cli(capsys, "eval", "--data", str(data), "--model", f"openai:good@{good.base_url}",
                                 "--model", f"openai:bad@{bad.base_url}", "--judge", f"openai:j@{grader.base_url}",
                                 "--json")
    assert code == 0, err
    preference = [c for c in json.loads(out)["comparisons"] if c["metric"] == "judge_preference"]
    assert len(preference) == 1 and preference[0]["test"] == "sign_test_exact"
    assert preference[0]["delta"] == -1.0 and preference[0]["p_value"] == pytest.approx(2 / 2**6)
    assert first_shown.count("no idea") == 3  # the order alternates: position bias cancels out
