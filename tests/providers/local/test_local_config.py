"""The local training config: defaults < recipe < --option < common flags, recipes' errors, machine checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from ftrouter_local.config import TrainConfig, config_from_spec, known_recipes, load_recipe
from ftrouter_local.preparation import check_machine, check_model

from ftrouter.errors import UnknownName, UsageError
from ftrouter.jobs.models import Hyperparameters, JobSpec

REPO_RECIPES = Path(__file__).resolve().parents[3] / "configs" / "recipes"


def spec(**fields: object) -> JobSpec:
    base: dict[str, object] = {"backend": "local", "model": "/models/m", "data": "d.jsonl"}
    return JobSpec.model_validate({**base, **fields})


def test_defaults_are_lora_on_all_linear_layers_with_the_lora_learning_rate() -> None:
    config = config_from_spec(spec())
    assert (config.adapter, config.lora_target_modules, config.dtype) == ("lora", "all-linear", "auto")
    assert config.resolved_learning_rate == 2e-4
    assert config_from_spec(spec(adapter="full")).resolved_learning_rate == 2e-5


def test_flags_beat_options_which_beat_the_recipe() -> None:
    config = config_from_spec(spec(
        options={"recipe": "small-lora", "batch_size": 2, "lora_r": 4, "max_length": 512},
        hyperparameters={"batch_size": 3, "epochs": 1}, seed=7))
    assert config.batch_size == 3  # flag
    assert config.lora_r == 4 and config.max_length == 512  # options over the recipe's 16 / 2048
    assert config.lr_scheduler_type == "cosine" and config.gradient_accumulation_steps == 2  # recipe
    assert (config.epochs, config.seed, config.model) == (1, 7, "/models/m")


def test_learning_rate_multiplier_scales_the_resolved_rate() -> None:
    config = config_from_spec(spec(hyperparameters=Hyperparameters(learning_rate_multiplier=0.5)))
    assert config.learning_rate == pytest.approx(1e-4)


def test_option_values_from_the_command_line_are_coerced_and_lists_split() -> None:
    config = config_from_spec(spec(options={"gpus": "2", "packing": "true", "lora_target_modules": "q_proj, v_proj"}))
    assert (config.gpus, config.packing, config.lora_target_modules) == (2, True, ["q_proj", "v_proj"])


def test_an_unknown_option_is_a_usage_error_with_a_suggestion() -> None:
    with pytest.raises(UnknownName, match="did you mean: batch_size"):
        config_from_spec(spec(options={"batch_sise": 4}))


def test_a_bad_option_value_names_the_option() -> None:
    with pytest.raises(UsageError, match="option gpus='many'"):
        config_from_spec(spec(options={"gpus": "many"}))


def test_dpo_carries_beta_and_uses_the_dpo_learning_rates() -> None:
    lora = config_from_spec(spec(method="dpo", hyperparameters={"beta": 0.3}))
    assert (lora.method, lora.beta, lora.resolved_learning_rate) == ("dpo", 0.3, 1e-5)
    full = config_from_spec(spec(method="dpo", adapter="full"))
    assert (full.beta, full.resolved_learning_rate) == (0.1, 1e-6)  # TRL's DPOConfig defaults
    assert config_from_spec(spec()).method == "sft"


def test_beta_without_dpo_is_refused() -> None:
    with pytest.raises(UsageError, match="--beta applies to --method dpo only"):
        config_from_spec(spec(hyperparameters={"beta": 0.1}))


def test_every_shipped_recipe_is_valid() -> None:
    names = known_recipes()
    assert {"tiny-cpu", "small-lora", "7b-lora", "7b-qlora", "70b-lora-fsdp"} <= set(names)
    for name in names:
        _, recipe = load_recipe(name)
        assert recipe.description
        TrainConfig.model_validate({"model": "m", **recipe.settings})


def test_recipe_errors_name_the_file_line_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("description: x\nlora_r: 8\nlearnig_rate: 1e-4\n")
    with pytest.raises(UsageError) as caught:
        load_recipe(str(bad))
    assert str(caught.value).startswith(f"{bad}:3: invalid_recipe: learnig_rate: unknown setting (allowed: ")

    bad.write_text("batch_size: lots\n")
    with pytest.raises(UsageError, match=r"bad.yaml:1: invalid_recipe: batch_size: Input should be a valid integer"):
        load_recipe(str(bad))

    bad.write_text("epochs: 1\nmodel: meta-llama/Llama-3.1-8B\n")
    with pytest.raises(UsageError, match=r"bad.yaml:2: .*does not pick the base model"):
        load_recipe(str(bad))

    bad.write_text("epochs: [1\n")
    with pytest.raises(UsageError, match=r"bad.yaml:2: invalid_recipe: not valid YAML") as caught:
        load_recipe(str(bad))
    assert "\n" not in str(caught.value)  # one line, not PyYAML's multi-line excerpt


def test_recipe_names_resolve_from_any_folder_through_the_checkout(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FTROUTER_RECIPES")
    monkeypatch.chdir(tmp_path)  # no ./configs/recipes here
    path, _ = load_recipe("tiny-cpu")
    assert path == REPO_RECIPES / "tiny-cpu.yaml"

    import ftrouter_local.config as config_module

    monkeypatch.setattr(config_module, "_CHECKOUT_RECIPES", tmp_path / "nowhere")
    with pytest.raises(UsageError, match=r"unknown recipe 'tiny-cpu': no recipe files in .*FTROUTER_RECIPES"):
        load_recipe("tiny-cpu")


def test_an_unknown_recipe_lists_the_known_ones() -> None:
    with pytest.raises(UnknownName, match="did you mean: 7b-lora"):
        config_from_spec(spec(options={"recipe": "7b-lor"}))


def test_qlora_on_a_machine_without_cuda_is_a_clear_error() -> None:
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(UsageError, match=r"QLoRA .* needs a CUDA GPU .* use --adapter lora"):
        check_machine(config_from_spec(spec(adapter="qlora")))
    with pytest.raises(UsageError, match="no CUDA GPU is visible"):
        check_machine(config_from_spec(spec(options={"device": "cuda"})))
    assert "processes will train on the CPU" in check_machine(config_from_spec(spec(options={"gpus": 2})))[0]


def test_a_model_path_must_be_a_model_folder_and_a_hub_id_is_a_warning(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a model folder"):
        check_model(str(tmp_path))
    (tmp_path / "config.json").write_text("{}")
    assert check_model(str(tmp_path)) == []
    assert "hugging face hub" in check_model("Qwen/Qwen2.5-0.5B-Instruct")[0].lower()


def test_a_relative_model_folder_becomes_absolute_for_the_detached_worker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "models" / "tiny").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    config = config_from_spec(JobSpec(backend="local", model="models/tiny", data="train.jsonl"))
    assert config.model == str(tmp_path / "models" / "tiny")
    hub = config_from_spec(JobSpec(backend="local", model="Qwen/Qwen2.5-0.5B", data="train.jsonl"))
    assert hub.model == "Qwen/Qwen2.5-0.5B"


@pytest.mark.parametrize(("fields", "expected"), [
    ({"activation_checkpointing": None, "gradient_checkpointing": None}, "activation_checkpointing"),
    ({"gradient_checkpointing": None}, "gradient_checkpointing"),  # transformers 5.17 (a GPU image's)
])
def test_activation_checkpointing_uses_the_name_the_installed_transformers_knows(
        monkeypatch: pytest.MonkeyPatch, fields: dict[str, None], expected: str) -> None:
    import transformers
    from ftrouter_local.jobfiles import JobFiles
    from ftrouter_local.training import Precision, checkpointing_argument, trainer_arguments

    stub = type("TrainingArguments", (), {"__dataclass_fields__": fields})
    monkeypatch.setattr(transformers, "TrainingArguments", stub)
    assert checkpointing_argument() == expected
    config = TrainConfig(model="m", activation_checkpointing=False)
    precision = Precision("cpu", "float32", False, False, None, "test")
    arguments = trainer_arguments(config, JobFiles(Path("job")), precision, has_eval=False)
    assert arguments[expected] is False
    assert {"activation_checkpointing", "gradient_checkpointing"} - {expected} - arguments.keys()
