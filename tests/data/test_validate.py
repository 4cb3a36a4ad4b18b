"""validate_file: each backend's rules on top of the reader's checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftrouter.data import validate_file
from ftrouter.errors import UnknownName, UsageError, ValidationFailed

from .helpers import chat


def many(n: int, **kw: object) -> list[object]:
    return [chat(user=f"question {i}", **kw) for i in range(n)]  # type: ignore[arg-type]


def codes(report) -> list[tuple[str, int | None, str]]:  # type: ignore[no-untyped-def]
    return [(p.code, p.line, p.severity) for p in report.problems]


def test_shipped_chat_example_is_valid_for_openai(examples_dir: Path) -> None:
    report = validate_file(examples_dir / "chat.jsonl", backend="openai")
    assert report.ok and report.model == "gpt-4.1-mini-2025-04-14"
    assert report.report.examples == 12


def test_shipped_gemini_example_is_valid_for_vertex(examples_dir: Path) -> None:
    report = validate_file(examples_dir / "gemini.jsonl", backend="vertex", model="gemini-2.5-flash")
    assert report.ok, report.rendered()


def test_openai_minimum_examples(write_jsonl) -> None:
    report = validate_file(write_jsonl(many(9)), backend="openai")
    assert codes(report) == [("too_few_examples", None, "error")]
    assert not report.ok and report.errors == 1
    assert validate_file(write_jsonl(many(10)), backend="openai").ok


def test_vertex_minimum_comes_from_the_catalog(write_jsonl) -> None:
    report = validate_file(write_jsonl(many(12)), backend="vertex")
    assert ("too_few_examples", None, "error") in codes(report)


def test_openai_too_long_is_a_warning_vertex_an_error(write_jsonl, monkeypatch: pytest.MonkeyPatch) -> None:
    from ftrouter.catalog import get_model

    path = write_jsonl([*many(20), chat(answer="word " * 400)])
    for name in ("gpt-4.1-mini-2025-04-14", "gemini-2.5-flash"):
        monkeypatch.setattr(get_model(name), "__dict__", {**get_model(name).__dict__, "training_token_limit": 100})
    openai = validate_file(path, backend="openai")
    vertex = validate_file(path, backend="vertex")
    assert ("too_long", 21, "warning") in codes(openai)
    assert ("too_long", 21, "error") in codes(vertex)


def test_vertex_requires_user_model_alternation(write_jsonl) -> None:
    double_user = {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                                {"role": "assistant", "content": "c"}]}
    starts_with_model = {"messages": [{"role": "system", "content": "s"}, {"role": "assistant", "content": "a"},
                                      {"role": "user", "content": "b"}, {"role": "assistant", "content": "c"}]}
    ends_with_user = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                                   {"role": "user", "content": "c"}]}
    path = write_jsonl([*many(16), double_user, starts_with_model, ends_with_user])
    vertex = codes(validate_file(path, backend="vertex"))
    assert ("role_order", 17, "error") in vertex
    assert ("role_order", 18, "error") in vertex
    assert ("last_not_assistant", 19, "error") in vertex
    openai = codes(validate_file(path, backend="openai"))
    assert not any(c == "role_order" for c, _, _ in openai)
    assert ("last_not_assistant", 19, "warning") in openai


def test_vertex_accepts_tool_turns_as_alternation(examples_dir: Path) -> None:
    report = validate_file(examples_dir / "chat.jsonl", backend="vertex")
    assert not any(p.code == "role_order" for p in report.problems)
    assert any(p.code == "unsupported_feature" and "weights" in p.message for p in report.problems)


def test_validation_file_overlap_and_vertex_size_cap(write_jsonl, monkeypatch: pytest.MonkeyPatch) -> None:
    from ftrouter.catalog import get_model

    train = write_jsonl(many(20))
    val = write_jsonl([chat(user="question 3"), chat(user="new one"), chat(user="another")])
    report = validate_file(train, backend="openai", val_path=val)
    assert [(path.endswith(val.name), c) for path, c in
            ((f, p.code) for f, p in report.entries)] == [(True, "train_val_overlap")]
    assert "1 validation example(s) are exact copies" in report.problems[0].message
    assert f"{val}:1 = {train}:4" in report.problems[0].message and not report.ok
    entry = get_model("gemini-2.5-flash")
    monkeypatch.setattr(entry, "__dict__", {**entry.__dict__, "max_validation_examples": 2})
    vertex = validate_file(write_jsonl(many(20)), backend="vertex", val_path=val)
    assert ("too_many_val_examples", None, "error") in codes(vertex)


def test_dpo_on_a_model_without_dpo(examples_dir: Path) -> None:
    report = validate_file(examples_dir / "dpo.jsonl", backend="openai", model="gpt-3.5-turbo-0125")
    assert codes(report) == [("unsupported_method", None, "error")]
    assert "gpt-3.5-turbo-0125 cannot be trained with --method dpo" in report.problems[0].message
    assert validate_file(examples_dir / "dpo.jsonl", backend="openai").ok


def test_local_is_loose_but_warns_without_a_tokenizer(examples_dir: Path) -> None:
    report = validate_file(examples_dir / "prompt_completion.jsonl", backend="local")
    assert report.ok
    assert codes(report) == [("no_tokenizer", None, "warning")]


def test_reader_errors_are_errors_for_every_backend(examples_dir: Path) -> None:
    for backend in ("openai", "vertex", "local"):
        report = validate_file(examples_dir / "broken.jsonl", backend=backend)
        assert not report.ok
        assert {"invalid_json", "unknown_role", "malformed_tool_call"} <= {p.code for p in report.problems}


def test_usage_errors(examples_dir: Path) -> None:
    with pytest.raises(UnknownName):
        validate_file(examples_dir / "chat.jsonl", backend="azure")
    with pytest.raises(UsageError, match="is a vertex model"):
        validate_file(examples_dir / "chat.jsonl", backend="openai", model="gemini-2.5-flash")


def test_json_lists_file_for_each_problem(examples_dir: Path) -> None:
    data = validate_file(examples_dir / "broken.jsonl", backend="openai").to_json()
    assert data["ok"] is False and data["errors"] > 0
    assert all(p["file"].endswith("broken.jsonl") for p in data["problems"])


def test_raise_for_errors_names_the_first_error_and_counts_the_rest(examples_dir: Path) -> None:
    report = validate_file(examples_dir / "broken.jsonl", backend="openai")
    with pytest.raises(ValidationFailed) as info:
        report.raise_for_errors()
    err = info.value
    assert err.line == 2 and err.code == "invalid_json" and err.path == str(examples_dir / "broken.jsonl")
    assert f"(and {report.errors - 1} more; see `ftrouter data validate" in err.message
    validate_file(examples_dir / "chat.jsonl", backend="openai").raise_for_errors()  # no error: no raise
