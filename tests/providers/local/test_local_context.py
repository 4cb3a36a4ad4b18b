"""RoPE scaling and training past the native window (issue 15, long context): the recipe value is checked
against the model's own config before a worker starts — no RoPE, already scaled, per-layer RoPE, a length
the scaling does not cover — and becomes the rope_parameters transformers loads the model with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import run_cli
from ftrouter_local import LocalBackend
from ftrouter_local.config import config_from_spec, load_recipe
from ftrouter_local.context import context_window, plan_context, rope_parameters
from local_helpers import make_spec

from ftrouter.errors import UsageError
from ftrouter.jobs.models import JobSpec
from ftrouter.rope import RopeScaling

LINEAR2 = RopeScaling(type="linear", factor=2)


def qwen2(**fields: object) -> object:
    from transformers import Qwen2Config

    return Qwen2Config(max_position_embeddings=512, rope_theta=5000.0, **fields)


def test_the_scaling_keeps_the_models_own_rope_settings() -> None:
    assert rope_parameters(qwen2(), LINEAR2, "m") == {"rope_type": "linear", "factor": 2.0, "rope_theta": 5000.0}
    yarn = rope_parameters(qwen2(), RopeScaling(type="yarn", factor=4), "m")
    assert yarn == {"rope_type": "yarn", "factor": 4.0, "rope_theta": 5000.0, "original_max_position_embeddings": 512}


def test_transformers_builds_the_scaled_rotary_embedding_from_it() -> None:
    from transformers import Qwen2Config
    from transformers.models.qwen2.modeling_qwen2 import Qwen2RotaryEmbedding

    params = rope_parameters(qwen2(), RopeScaling(type="yarn", factor=4), "m")
    config = Qwen2Config(max_position_embeddings=512, rope_parameters=params)
    rotary = Qwen2RotaryEmbedding(config)
    assert rotary.rope_type == "yarn" and rotary.attention_scaling == pytest.approx(0.1 * 1.3862944 + 1)
    assert context_window(config) == 2048 and context_window(qwen2()) == 512


@pytest.mark.parametrize(("config", "scaling", "code", "message"), [
    ("gpt2", LINEAR2, "no_rope", r"m \(gpt2\) has no rotary position embeddings \(RoPE\)"),
    ("scaled", LINEAR2, "already_scaled", r"m already uses RoPE scaling 'dynamic' \(factor 4.0\)"),
    ("gemma3", LINEAR2, "rope_per_layer", r"sets RoPE per layer type \(sliding_attention, full_attention\)"),
    ("qwen2", RopeScaling(type="yarn", factor=2, original_max_position_embeddings=4096), "invalid_option",
     r"original_max_position_embeddings 4,096 is beyond m's window of 512"),
])
def test_scalings_the_model_cannot_take_are_refused(config: str, scaling: RopeScaling, code: str,
                                                    message: str) -> None:
    from transformers import Gemma3TextConfig, GPT2Config

    hf_config = {"gpt2": lambda: GPT2Config(n_positions=512),
                 "scaled": lambda: qwen2(rope_parameters={"rope_type": "dynamic", "factor": 4.0}),
                 "gemma3": lambda: Gemma3TextConfig(), "qwen2": qwen2}[config]()
    with pytest.raises(UsageError, match=message) as caught:
        plan_context(hf_config, scaling, 1024, model="m", length_was_set=True)
    assert caught.value.code == code


def test_a_model_without_rope_can_still_train_within_its_window() -> None:
    from transformers import GPT2Config

    plan = plan_context(GPT2Config(n_positions=512), None, 256, model="m", length_was_set=True)
    assert (plan.native, plan.max_length, plan.rope_parameters) == (512, 256, None)


def test_recipe_and_option_values_are_validated_with_the_file_and_line(tmp_path: Path) -> None:
    recipe = tmp_path / "long.yaml"
    recipe.write_text("max_length: 4096\nrope_scaling:\n  type: ntk\n  factor: 4\n")
    with pytest.raises(UsageError, match="unknown RoPE scaling type 'ntk'") as caught:
        load_recipe(str(recipe))
    assert (caught.value.line, caught.value.code) == (2, "invalid_recipe")
    recipe.write_text("rope_scaling: {type: yarn, factor: 4, original_max_position_embeddings: 2048}\n")
    assert load_recipe(str(recipe))[1].settings["rope_scaling"]["factor"] == 4
    base = {"backend": "local", "model": "/models/m", "data": "d.jsonl"}
    with pytest.raises(UsageError, match=r"option rope_scaling='linear:1': factor must be above 1"):
        config_from_spec(JobSpec.model_validate({**base, "options": {"rope_scaling": "linear:1"}}))
    with pytest.raises(UsageError, match=r"rope_scaling applies to causal LMs \(--task sft\), not to --task "
                       "classification"):
        config_from_spec(JobSpec.model_validate({**base, "options": {"task": "classification",
                                                                      "rope_scaling": "linear:2"}}))


# -- prepare, on the tiny model (native window 512) ------------------------------------------------------


def test_prepare_refuses_a_length_past_the_window_without_scaling(backend: LocalBackend, tiny_model: Path,
                                                                  chat_data: Path) -> None:
    with pytest.raises(UsageError, match=r"max_length 1,024 is beyond .* native context of 512 tokens .*"
                       "rope_scaling=linear:2") as caught:
        backend.prepare(make_spec(tiny_model, chat_data, max_steps=2, max_length=1024), "ftr-ctx001")
    assert caught.value.code == "beyond_context"


def test_prepare_accepts_it_with_a_scaling_that_covers_it(backend: LocalBackend, tiny_model: Path,
                                                          chat_data: Path) -> None:
    prepared = backend.prepare(make_spec(tiny_model, chat_data, max_steps=2, max_length=1024,
                                         rope_scaling="yarn:2"), "ftr-ctx002")
    assert prepared.stats["context"] == {"native_context": 512, "max_length": 1024, "context": 1024,
                                         "rope_parameters": {"rope_theta": 10000.0, "rope_type": "yarn",
                                                             "factor": 2.0, "original_max_position_embeddings": 512}}
    assert not any("extrapolated" in w for w in prepared.warnings)
    saved = json.loads(Path(prepared.files["config"]).read_text())
    assert saved["rope_scaling"] == {"type": "yarn", "factor": 2.0, "original_max_position_embeddings": None}


def test_the_jobs_memory_estimate_is_made_at_the_long_length_with_its_scaling() -> None:
    from ftrouter_local.config import TrainConfig
    from ftrouter_local.preparation import _estimate

    config = TrainConfig(model="Qwen/Qwen2.5-1.5B-Instruct", max_length=65_536, rope_scaling="yarn:4")
    estimate, problem = _estimate(config, [70_000] * 10)
    assert problem is None
    assumptions = estimate.as_dict()["assumptions"]
    assert (assumptions["seq_len"], assumptions["rope_scaling"], assumptions["context"]) == (65_536, "yarn x4", 131_072)
    plain, _ = _estimate(config.model_copy(update={"rope_scaling": None}), [70_000] * 10)
    assert plain.as_dict()["assumptions"]["seq_len"] == 32_768  # without it, capped at the native context


def test_a_scaling_short_of_the_length_is_a_warning(backend: LocalBackend, tiny_model: Path,
                                                    chat_data: Path) -> None:
    prepared = backend.prepare(make_spec(tiny_model, chat_data, max_steps=2, max_length=2000,
                                         rope_scaling="linear:2"), "ftr-ctx003")
    assert any("max_length 2,000 is beyond the 1,024 tokens that RoPE scaling linear x2 covers" in w
               and "factor of 4 or more" in w for w in prepared.warnings)


def test_the_default_length_is_lowered_to_a_small_models_window(backend: LocalBackend, tiny_model: Path,
                                                                chat_data: Path) -> None:
    spec = JobSpec(backend="local", model=str(tiny_model), data=str(chat_data), options={"device": "cpu"})
    prepared = backend.prepare(spec, "ftr-ctx004")
    assert json.loads(Path(prepared.files["config"]).read_text())["max_length"] == 512
    assert any("max_length lowered to 512" in w for w in prepared.warnings)


def test_submit_dry_run_exits_2_with_one_line(capsys: pytest.CaptureFixture[str], tiny_model: Path,
                                              chat_data: Path) -> None:
    code, _, err = run_cli(capsys, "submit", "--backend", "local", "--model", str(tiny_model), "--data",
                           str(chat_data), "--max-length", "1024", "--dry-run")
    assert code == 2 and "beyond_context" in err and "Traceback" not in err
    code, out, _ = run_cli(capsys, "submit", "--backend", "local", "--model", str(tiny_model), "--data",
                           str(chat_data), "--max-length", "1024", "--option", "rope_scaling=linear:2",
                           "--dry-run", "--json")
    assert code == 0 and json.loads(out)["stats"]["context"]["context"] == 1024


def test_data_inspect_names_examples_past_the_local_models_window(capsys: pytest.CaptureFixture[str],
                                                                   tiny_model: Path, tmp_path: Path) -> None:
    from ftrouter_local.tiny import synthetic_conversations, write_jsonl

    rows = synthetic_conversations(12, seed=2)
    for index in (3, 7):  # lines 4 and 8: ~700 tokens, past the tiny model's 512 positions
        rows[index]["messages"][-2]["content"] = "one plus two is three. " * 120
    data = write_jsonl(rows, tmp_path / "some-long.jsonl")
    code, out, _ = run_cli(capsys, "data", "inspect", str(data), "--model", str(tiny_model), "--max-length", "2048",
                           "--json")
    assert code == 0 and json.loads(out)["over_context"] == {
        "context_length": 512, "source": "the model's config.json (max_position_embeddings)", "examples": 2,
        "first_lines": [4, 8]}
    code, out, _ = run_cli(capsys, "data", "inspect", str(data), "--model", str(tiny_model))
    assert code == 0 and "past the model's context    2 (context 512 tokens" in out and "lines 4, 8" in out


# -- training past the window: a real run on the tiny model ----------------------------------------------


@pytest.mark.slow
def test_a_scaled_rope_run_trains_past_the_window_and_saves_the_scaling(backend: LocalBackend, tiny_model: Path,
                                                                       tmp_path: Path) -> None:
    from ftrouter_local.answer import LocalAnswerer
    from ftrouter_local.tiny import synthetic_conversations, write_jsonl
    from local_helpers import ended, wait_until

    from ftrouter.eval.answerer import GenerationSettings
    from ftrouter.jobs.models import JobState

    rows = synthetic_conversations(16, seed=5)
    for row in rows:  # ~700 tokens each: past the tiny model's native 512 positions
        row["messages"][0]["content"] = "one plus two is three. " * 120 + row["messages"][0]["content"]
    data = write_jsonl(rows, tmp_path / "long.jsonl")
    prepared = backend.prepare(make_spec(tiny_model, data, max_steps=4, max_length=1024, rope_scaling="linear:2"),
                               "ftr-ctx100")
    assert prepared.stats["over_max_length"]["train"]["longer_than_max_length"] == 0
    ref = backend.submit(prepared)
    final = wait_until(backend, ref, ended, timeout=240)
    assert final.state is JobState.SUCCEEDED, final.error
    events = backend.events(ref)
    assert any("RoPE scaling linear x2: context 512 -> 1,024 tokens" in e.message for e in events)
    loaded = [e.data["rope_parameters"] for e in events if "rope_parameters" in e.data]
    assert loaded == [{"rope_theta": 10000.0, "rope_type": "linear", "factor": 2.0}]  # read back from the model
    assert final.trained_tokens > 16 * 512  # whole records past the native window were trained on

    output = Path(final.result.adapter_path if final.result else "")
    saved = json.loads((output / "rope_scaling.json").read_text())
    assert saved == {"rope_parameters": {"rope_theta": 10000.0, "rope_type": "linear", "factor": 2.0},
                     "native_context": 512, "context": 1024}
    answerer = LocalAnswerer(str(tiny_model), str(output))
    answer = answerer.answer([[{"role": "user", "content": rows[0]["messages"][-2]["content"]}]],
                             GenerationSettings(max_tokens=4))
    base = answerer._model.get_base_model()
    assert base.config.rope_parameters["rope_type"] == "linear" and base.model.rotary_emb.rope_type == "linear"
    assert answer[0].input_tokens > 512
