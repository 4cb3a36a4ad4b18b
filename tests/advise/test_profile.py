"""The task profile contract: defaults, YAML and JSON, and one clear error for each kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftrouter.advise import apply_eval_scores, load_eval_scores, load_profile
from ftrouter.advise.profile import DEFAULT_MODEL_SIZE_B, PROFILE_KEYS
from ftrouter.errors import EXIT_USAGE, ProfileError

ISSUE_KEYS = [
    "task", "task_type", "failures", "knowledge_change", "needs_citations", "examples", "eval_set_size", "scores",
    "latency_budget_ms", "prompt_tokens", "monthly_requests", "training_budget_usd", "data_must_stay_local",
    "gpu_memory_gb", "gpus", "model_family", "model_size_b", "service_months", "distribution_shift",
    "input_tokens", "context_window", "answer_span",  # issue 15: inputs past the model's window
]


def write(tmp_path: Path, text: str, name: str = "task.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str, name: str = "task.yaml") -> ProfileError:
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, text, name))
    assert info.value.exit_code == EXIT_USAGE
    return info.value


def test_the_public_keys_are_exactly_the_issue_contract() -> None:
    assert list(PROFILE_KEYS) == ISSUE_KEYS


def test_only_task_and_task_type_are_required(tmp_path: Path) -> None:
    p = load_profile(write(tmp_path, "task: sort mail\ntask_type: classification\n"))
    assert p.failures == () and p.examples == 0 and p.eval_set_size == 0 and p.gpus == 1
    assert p.knowledge_change == "never" and p.model_family == "any" and p.service_months == 12
    assert p.model_size_b is None and p.effective_model_size_b == DEFAULT_MODEL_SIZE_B


def test_the_issue_example_profile_loads_from_yaml_and_json(tmp_path: Path) -> None:
    yaml_text = """
task: "Extract invoice fields as JSON"
task_type: extraction
failures: [format]
knowledge_change: never
needs_citations: false
examples: 800
eval_set_size: 100
scores: {prompting: 0.71, rag: null, target: 0.95}
latency_budget_ms: 800
prompt_tokens: 3000
monthly_requests: 200000
training_budget_usd: 500
data_must_stay_local: false
gpu_memory_gb: 24
gpus: 1
model_family: any
model_size_b: 8
service_months: 12
distribution_shift: low
"""
    from_yaml = load_profile(write(tmp_path, yaml_text))
    json_text = from_yaml.model_dump_json()
    from_json = load_profile(write(tmp_path, json_text, "task.json"))
    assert from_yaml == from_json
    assert from_yaml.scores.prompting == 0.71 and from_yaml.failures == ("format",)


def test_unknown_key_names_the_key_its_line_a_close_match_and_the_allowed_keys(tmp_path: Path) -> None:
    err = error_for(tmp_path, "task: x\ntask_type: chat\nexmaples: 40\n")
    assert err.line == 3
    assert "'exmaples'" in err.message and "did you mean 'examples'" in err.message
    assert "allowed keys:" in err.message and "eval_set_size" in err.message
    assert str(err).startswith(f"{tmp_path / 'task.yaml'}:3: invalid_profile: ")


def test_unknown_nested_key_lists_the_nested_allowed_keys(tmp_path: Path) -> None:
    err = error_for(tmp_path, "task: x\ntask_type: chat\nscores:\n  prompt: 0.5\n")
    assert err.line == 4 and "'scores.prompt'" in err.message and "prompting, rag, target" in err.message


def test_bad_enum_value_lists_the_allowed_values(tmp_path: Path) -> None:
    err = error_for(tmp_path, "task: x\ntask_type: chat\nknowledge_change: fortnightly\n")
    assert err.line == 3
    assert "knowledge_change" in err.message and "'fortnightly'" in err.message
    assert "'never', 'yearly', 'monthly', 'weekly' or 'daily'" in err.message


def test_bad_list_item_names_its_position_and_line(tmp_path: Path) -> None:
    err = error_for(tmp_path, "task: x\ntask_type: chat\nfailures:\n  - format\n  - speed\n")
    assert err.line == 5 and "failures[1]" in err.message and "'speed'" in err.message
    assert "knowledge_missing" in err.message


@pytest.mark.parametrize(("line", "needle"), [
    ("examples: many", "examples: expected a whole number, got 'many'"),
    ("examples: 12.5", "examples: expected a whole number, got 12.5"),
    ("needs_citations: maybe", "needs_citations: expected true or false, got 'maybe'"),
    ("failures: format", "failures: expected a list, got 'format'"),
    ("scores: 0.7", "scores: expected a mapping, got 0.7"),
])
def test_wrong_type_says_what_was_expected(tmp_path: Path, line: str, needle: str) -> None:
    err = error_for(tmp_path, f"task: x\ntask_type: chat\n{line}\n")
    assert err.line == 3 and needle in err.message


@pytest.mark.parametrize(("line", "needle"), [
    ("examples: -5", "examples: -5 is out of range; it must be >= 0"),
    ("scores: {prompting: 1.4}", "scores.prompting: 1.4 is out of range; it must be <= 1"),
    ("service_months: 0", "service_months: 0 is out of range; it must be >= 1"),
    ("latency_budget_ms: 0", "latency_budget_ms: 0 is out of range; it must be > 0"),
])
def test_out_of_range_number_gives_the_bound(tmp_path: Path, line: str, needle: str) -> None:
    err = error_for(tmp_path, f"task: x\ntask_type: chat\n{line}\n")
    assert err.line == 3 and needle in err.message


def test_yaml_syntax_error_gives_its_line(tmp_path: Path) -> None:
    err = error_for(tmp_path, "task: x\ntask_type: chat\nfailures: [format\nexamples: 3\n")
    assert err.line is not None and err.line >= 3 and "not valid YAML" in err.message


def test_json_syntax_error_gives_its_line(tmp_path: Path) -> None:
    err = error_for(tmp_path, '{"task": "x",\n "task_type": "chat",\n}\n', "task.json")
    assert err.line == 3 and "not valid JSON" in err.message


def test_missing_required_key_lists_allowed_values(tmp_path: Path) -> None:
    err = error_for(tmp_path, "task: x\n")
    assert "missing required key 'task_type'" in err.message and "classification, extraction" in err.message


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n"])
def test_a_profile_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    assert "expected a mapping of keys" in error_for(tmp_path, text).message


def test_none_cannot_be_combined_with_a_failure(tmp_path: Path) -> None:
    err = error_for(tmp_path, "task: x\ntask_type: chat\nfailures: [none, format]\n")
    assert "'none' cannot be combined" in err.message
    assert err.line == 3 and err.message.startswith("failures: ")


@pytest.mark.parametrize(("text", "name", "line", "key"), [
    ("task: x\ntask_type: chat\nexamples: 800\nexamples: 8\n", "task.yaml", 4, "'examples' (first given on line 3)"),
    ("task: x\ntask_type: chat\nscores:\n  rag: 0.5\n  rag: 0.6\n", "task.yaml", 5, "'scores.rag'"),
    ('{"task": "x", "task_type": "chat",\n "task": "y"}', "task.json", 2, "'task' (first given on line 1)"),
])
def test_a_key_given_twice_is_an_error_not_a_silent_last_wins(tmp_path: Path, text: str, name: str, line: int,
                                                               key: str) -> None:
    err = error_for(tmp_path, text, name)
    assert err.line == line and f"duplicate key {key}" in err.message


def test_several_problems_are_all_reported_in_line_order(tmp_path: Path) -> None:
    err = error_for(tmp_path, "task: x\ntask_type: chat\nexamples: -1\ngpus: lots\n")
    assert err.line == 3 and err.message.startswith("examples: -1 is out of range")
    assert [line for line, _ in err.problems] == [3, 4] and err.problems[1][1].startswith("gpus: ")
    assert str(err).splitlines()[1].endswith(":4: invalid_profile: " + err.problems[1][1])


def test_unreadable_paths_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="not found"):
        load_profile(tmp_path / "missing.yaml")
    with pytest.raises(ProfileError, match="is a directory"):
        load_profile(tmp_path)
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("task: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ProfileError, match="not UTF-8"):
        load_profile(bad)


def test_eval_scores_file_overrides_the_profile(tmp_path: Path) -> None:
    p = load_profile(write(tmp_path, "task: x\ntask_type: chat\nscores: {prompting: 0.5, target: 0.9}\n"))
    scores = load_eval_scores(write(tmp_path, "prompting: 0.62\nrag: 0.8\neval_set_size: 150\n", "eval.yaml"))
    merged = apply_eval_scores(p, scores)
    assert (merged.scores.prompting, merged.scores.rag, merged.scores.target) == (0.62, 0.8, 0.9)
    assert merged.eval_set_size == 150


def test_eval_scores_file_accepts_a_scores_block_and_rejects_typos(tmp_path: Path) -> None:
    scores = load_eval_scores(write(tmp_path, "scores: {prompting: 0.7}\n", "eval.yaml"))
    assert scores.prompting == 0.7
    with pytest.raises(ProfileError, match="did you mean 'target'"):
        load_eval_scores(write(tmp_path, "targe: 0.9\n", "eval2.yaml"))
