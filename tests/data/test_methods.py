"""``data validate --backend X --method M`` and ``submit --backend X --method M --dry-run`` agree on what
each backend accepts, for every backend, model, method and kind of data (they share ftrouter.methods)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import run_cli

from ftrouter.catalog import get_model
from ftrouter.methods import data_refusal, method_refusal
from ftrouter.profiles import installed_profiles

# (backend, model): OpenAI with and without DPO, Gemini, a local hub id (prepare only warns about it)
TARGETS = [("openai", "gpt-4.1-mini-2025-04-14"), ("openai", "gpt-3.5-turbo-0125"), ("vertex", "gemini-2.5-flash"),
           ("local", "org/tiny-model")]


def _sft(i: int) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": f"Question {i}?"},
                         {"role": "assistant", "content": f"Answer {i}."}]}


def _dpo(i: int) -> dict[str, object]:
    return {"input": {"messages": [{"role": "user", "content": f"Question {i}?"}]},
            "preferred_output": [{"role": "assistant", "content": f"A careful answer {i}."}],
            "non_preferred_output": [{"role": "assistant", "content": "No idea."}]}


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("kinds")
    files = {}
    for kind, make in (("sft", _sft), ("dpo", _dpo)):
        files[kind] = folder / f"{kind}.jsonl"
        files[kind].write_text("".join(json.dumps(make(i)) + "\n" for i in range(20)))
    return files


def _expected_refusal(backend: str, model: str, method: str, kind: str) -> str | None:
    methods = get_model(model).methods if backend != "local" else None
    return (method_refusal(backend, method, model=model, model_methods=methods)
            or data_refusal(method, {kind: 20}))


@pytest.mark.parametrize("kind", ["sft", "dpo"])
@pytest.mark.parametrize("method", ["sft", "dpo"])
@pytest.mark.parametrize(("backend", "model"), TARGETS, ids=[f"{b}-{m}" for b, m in TARGETS])
def test_validate_and_submit_agree(backend: str, model: str, method: str, kind: str, datasets: dict[str, Path],
                                   capsys: pytest.CaptureFixture[str]) -> None:
    data = str(datasets[kind])
    model_flag = [] if backend == "local" else ["--model", model]
    v_code, v_out, v_err = run_cli(capsys, "data", "validate", data, "--backend", backend, "--method", method,
                                   *model_flag)
    s_code, s_out, s_err = run_cli(capsys, "submit", "--backend", backend, "--model", model, "--data", data,
                                   "--method", method, "--dry-run")
    refusal = _expected_refusal(backend, model, method, kind)
    assert (v_code == 0) == (s_code == 0) == (refusal is None), (v_out + v_err, s_out + s_err)
    if refusal is not None:  # the same reason, from the same place, in both
        assert refusal in v_out and refusal in s_err, (refusal, v_out, s_err)
    assert "Traceback" not in v_err + s_err


def test_the_profile_is_what_method_refusal_judges() -> None:
    for profile in installed_profiles():
        for method in ("sft", "dpo"):
            refused = method_refusal(profile.name, method) is not None
            assert refused == (method not in profile.methods), (profile.name, method)


def test_validate_infers_the_method_from_the_data(datasets: dict[str, Path],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Without --method, preference data is judged as DPO: OK on OpenAI and local (TRL's DPOTrainer),
    refused by vertex (the bug: validate said OK for DPO data on vertex while submit refused it)."""
    for backend in ("openai", "local"):
        assert run_cli(capsys, "data", "validate", str(datasets["dpo"]), "--backend", backend)[0] == 0
    for backend in ("vertex",):
        code, out, _ = run_cli(capsys, "data", "validate", str(datasets["dpo"]), "--backend", backend)
        assert code == 1 and "unsupported_method" in out, out


def test_an_unknown_method_is_a_usage_error(datasets: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "data", "validate", str(datasets["sft"]), "--backend", "openai", "--method", "ppo")
    assert code == 2 and "unknown method 'ppo'" in err


@pytest.mark.parametrize("kind", ["sft", "dpo"])
@pytest.mark.parametrize(("backend", "model"), TARGETS, ids=[f"{b}-{m}" for b, m in TARGETS])
def test_without_method_validate_and_submit_agree(backend: str, model: str, kind: str, datasets: dict[str, Path],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Neither is given --method: both take it from the data (dpo for preference pairs) and agree."""
    data = str(datasets[kind])
    model_flag = [] if backend == "local" else ["--model", model]
    v_code, v_out, v_err = run_cli(capsys, "data", "validate", data, "--backend", backend, *model_flag)
    s_code, s_out, s_err = run_cli(capsys, "submit", "--backend", backend, "--model", model, "--data", data,
                                   "--dry-run", "--json")
    refusal = _expected_refusal(backend, model, kind, kind)
    assert (v_code == 0) == (s_code == 0) == (refusal is None), (v_out + v_err, s_out + s_err)
    if s_code == 0:
        assert json.loads(s_out)["spec"]["method"] == kind
