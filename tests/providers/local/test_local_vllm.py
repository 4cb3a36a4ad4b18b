"""``--engine auto|transformers|vllm`` for ``hf:`` models, against a fake ``vllm`` module (vLLM itself is not
installed here and needs a CUDA GPU): which engine auto picks, what the vLLM path asks of vLLM (greedy,
the configured max tokens, the adapter as a LoRARequest), and how its answers and token counts reach the
report; and the exit-2 errors when ``--engine vllm`` cannot run."""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli

from ftrouter.errors import PluginMissing, UsageError
from ftrouter.eval.answerer import GenerationSettings
from ftrouter.eval.specs import make_answerer, parse_spec


@dataclass
class Calls:
    """What the fake vLLM was asked."""

    llm_kwargs: list[dict[str, Any]] = field(default_factory=list)
    chats: list[dict[str, Any]] = field(default_factory=list)


def _fake_vllm(calls: Calls) -> dict[str, types.ModuleType]:
    """Modules shaped like vLLM's offline API: LLM(model=..., **engine args), LLM.chat(messages,
    sampling_params, use_tqdm=, lora_request=) -> [RequestOutput(prompt_token_ids, outputs=[CompletionOutput(
    text, token_ids)])], SamplingParams(temperature=, max_tokens=), LoRARequest(name, int id, path)."""

    class SamplingParams:
        def __init__(self, **kwargs: Any) -> None:
            self.kwargs = kwargs

    class LoRARequest:
        def __init__(self, lora_name: str, lora_int_id: int, lora_path: str) -> None:
            self.lora_name, self.lora_int_id, self.lora_path = lora_name, lora_int_id, lora_path

    class LLM:
        def __init__(self, model: str, **kwargs: Any) -> None:
            calls.llm_kwargs.append({"model": model, **kwargs})

        def get_tokenizer(self) -> Any:
            return types.SimpleNamespace(chat_template="{{ messages }}")

        def chat(self, messages: list[list[dict[str, str]]], sampling_params: Any, use_tqdm: bool = True,
                 lora_request: Any = None) -> list[Any]:
            calls.chats.append({"messages": messages, "params": sampling_params.kwargs, "lora": lora_request})
            # an answer that shows which prompt it belongs to; 3 prompt tokens per turn, 2 output tokens
            return [types.SimpleNamespace(prompt_token_ids=list(range(3 * len(m))),
                                          outputs=[types.SimpleNamespace(text=f" {m[-1]['content'].upper()} ",
                                                                         token_ids=[7, 8])])
                    for m in messages]

    vllm = types.ModuleType("vllm")
    vllm.LLM = LLM  # type: ignore[attr-defined]
    vllm.SamplingParams = SamplingParams  # type: ignore[attr-defined]
    lora = types.ModuleType("vllm.lora")
    request = types.ModuleType("vllm.lora.request")
    request.LoRARequest = LoRARequest  # type: ignore[attr-defined]
    return {"vllm": vllm, "vllm.lora": lora, "vllm.lora.request": request}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """A fake vllm importable, and a CUDA GPU as far as torch can tell."""
    import torch

    recorded = Calls()
    for name, module in _fake_vllm(recorded).items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    return recorded


@pytest.fixture
def no_vllm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm -> ImportError, find_spec -> None


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "base"
    folder.mkdir()
    (folder / "config.json").write_text("{}", encoding="utf-8")
    return folder


@pytest.fixture
def adapter_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "my-adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"r": 48}), encoding="utf-8")
    return folder


def _answerer(model: Path, engine: str, adapter: Path | None = None) -> Any:
    raw = f"hf:{model}+{adapter}" if adapter else f"hf:{model}"
    spec = parse_spec(raw)
    return make_answerer(type(spec)(**{**spec.__dict__, "options": {"engine": engine}}))


def test_auto_picks_vllm_only_with_both_vllm_and_cuda(calls: Calls, model_dir: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from ftrouter_local.answer import LocalAnswerer
    from ftrouter_local.vllm_answer import VllmAnswerer

    assert isinstance(_answerer(model_dir, "auto"), VllmAnswerer)
    assert isinstance(_answerer(model_dir, "transformers"), LocalAnswerer)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert isinstance(_answerer(model_dir, "auto"), LocalAnswerer)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setitem(sys.modules, "vllm", None)
    assert isinstance(_answerer(model_dir, "auto"), LocalAnswerer)
    assert calls.llm_kwargs == []  # choosing loads nothing


def test_vllm_request_is_greedy_with_the_adapter_as_a_lora(calls: Calls, model_dir: Path,
                                                            adapter_dir: Path) -> None:
    answerer = _answerer(model_dir, "vllm", adapter_dir)
    prompts = [[{"role": "user", "content": "one"}],
               [{"role": "system", "content": "be brief"}, {"role": "user", "content": "two"}]]
    answers = answerer.answer(prompts, GenerationSettings(max_tokens=33))
    assert calls.llm_kwargs == [{"model": str(model_dir.resolve()), "dtype": "bfloat16", "enable_lora": True,
                                 "max_lora_rank": 64}]  # r=48 rounded up to a rank vLLM accepts
    [chat] = calls.chats
    assert chat["messages"] == prompts and chat["params"] == {"temperature": 0.0, "max_tokens": 33}
    lora = chat["lora"]
    assert (lora.lora_name, lora.lora_int_id, lora.lora_path) == ("my-adapter", 1, str(adapter_dir.resolve()))
    assert [(a.text, a.input_tokens, a.output_tokens) for a in answers] == [("ONE", 3, 2), ("TWO", 6, 2)]


def test_an_adapter_trained_with_rope_scaling_serves_with_it(calls: Calls, model_dir: Path,
                                                             adapter_dir: Path) -> None:
    rope = {"rope_theta": 10000.0, "rope_type": "yarn", "factor": 2.0, "original_max_position_embeddings": 512}
    (adapter_dir / "rope_scaling.json").write_text(json.dumps({"rope_parameters": rope, "native_context": 512,
                                                               "context": 1024}), encoding="utf-8")
    _answerer(model_dir, "vllm", adapter_dir).answer([[{"role": "user", "content": "x"}]], GenerationSettings())
    assert calls.llm_kwargs[0]["hf_overrides"] == {"rope_parameters": rope}
    assert calls.llm_kwargs[0]["max_model_len"] == 1024


def test_vllm_without_adapter_sends_no_lora(calls: Calls, model_dir: Path) -> None:
    _answerer(model_dir, "vllm").answer([[{"role": "user", "content": "x"}]], GenerationSettings())
    assert calls.llm_kwargs[0]["enable_lora"] is False and "max_lora_rank" not in calls.llm_kwargs[0]
    assert calls.chats[0]["lora"] is None


def test_the_engine_is_part_of_the_cache_identity(calls: Calls, model_dir: Path) -> None:
    vllm, hf = _answerer(model_dir, "vllm"), _answerer(model_dir, "transformers")
    assert vllm.identity == hf.identity + "@vllm"


def test_explicit_vllm_names_what_is_missing(no_vllm: None, model_dir: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PluginMissing, match="needs 'vllm', which is not installed"):
        _answerer(model_dir, "vllm")


def test_explicit_vllm_without_cuda_names_the_gpu(calls: Calls, model_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UsageError, match="needs a CUDA GPU"):
        _answerer(model_dir, "vllm")


def _eval_file(tmp_path: Path) -> Path:
    rows = [{"messages": [{"role": "user", "content": word}, {"role": "assistant", "content": word.upper()}]}
            for word in ("alpha", "beta", "gamma")]
    path = tmp_path / "eval.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_cli_vllm_answers_and_tokens_reach_the_report(calls: Calls, model_dir: Path, adapter_dir: Path,
                                                      tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _eval_file(tmp_path)
    code, out, err = run_cli(capsys, "eval", "--data", str(data), "--model", f"hf:{model_dir}+{adapter_dir}",
                             "--metric", "exact", "--json")  # --engine auto: vllm and "CUDA" are there
    assert code == 0, err
    [model] = json.loads(out)["models"]
    assert model["metrics"]["exact"] == 1.0 and model["errors"] == 0
    assert model["tokens"] == {"input": 9, "output": 6}
    assert len(calls.chats) == 1 and len(calls.chats[0]["messages"]) == 3  # one batch for vLLM to schedule


def test_cli_explicit_vllm_without_it_is_exit_2(no_vllm: None, model_dir: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "eval", "--data", str(_eval_file(tmp_path)), "--model", f"hf:{model_dir}",
                           "--engine", "vllm")
    assert code == 2 and "needs 'vllm', which is not installed" in err and "Traceback" not in err


def test_cli_engine_needs_a_local_model_and_a_known_name(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    data = str(_eval_file(tmp_path))
    code, _, err = run_cli(capsys, "eval", "--data", data, "--model", "openai:gpt-4o-mini@http://127.0.0.1:9/v1",
                           "--engine", "vllm")
    assert code == 2 and "applies to local models" in err
    code, _, err = run_cli(capsys, "eval", "--data", data, "--model", "hf:x", "--engine", "fast")
    assert code == 2 and "'fast' is not one of auto, transformers, vllm" in err
