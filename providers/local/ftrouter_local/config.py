"""The local training configuration: defaults, recipe files, and the job's own flags, merged once.

Precedence, lowest first: the defaults below < a recipe (``configs/recipes/*.yaml``, chosen with
``--option recipe=NAME|PATH``) < ``--option KEY=VALUE`` settings < the common ``submit`` flags
(``--epochs``, ``--batch-size``, ``--adapter``, ``--seed``...). The merged result is written to the
job's folder as ``config.json``; the worker and a later ``resume`` read exactly that file, so a
resumed run trains with the settings it started with.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ftrouter import safeyaml
from ftrouter.errors import UnknownName, UsageError
from ftrouter.jobs.models import JobSpec
from ftrouter.methods import method_refusal
from ftrouter.rope import RopeScaling, parse_rope_scaling
from ftrouter.training import DEFAULT_MAX_LENGTH
from ftrouter_local.profile import DEFAULT_BATCH_SIZE, DEFAULT_DPO_LR, DEFAULT_LR

Dtype = Literal["auto", "bfloat16", "float16", "float32"]
Device = Literal["auto", "cuda", "cpu"]

# DEFAULT_LR / DEFAULT_DPO_LR (by adapter) live in the profile, which ``migrate`` reads too
RECIPES_ENV = "FTROUTER_RECIPES"


class TrainConfig(BaseModel):
    """Every knob of a local SFT run. Field names are what recipes and ``--option`` use."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, description="local folder or hub id of the base model")
    method: Literal["sft", "dpo"] = "sft"
    beta: float = Field(default=0.1, gt=0, description="DPO only: weight of the penalty for leaving the reference")
    # what is trained: sft (a causal LM on chat data) or an encoder with a head on labelled data
    task: Literal["sft", "classification", "multi-label", "token-classification", "pair-classification",
                  "embedding"] = "sft"
    class_weights: Literal["auto", "on", "off"] = "auto"  # labelled tasks: auto = on past an imbalance ratio of 3
    adapter: Literal["lora", "qlora", "full"] = "lora"
    epochs: float = Field(default=3.0, gt=0)
    max_steps: int | None = Field(default=None, ge=1)
    learning_rate: float | None = Field(default=None, gt=0, description="default: 2e-4 LoRA/QLoRA, 2e-5 full")
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, ge=1, description="per device (per process)")
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    max_length: int = Field(default=DEFAULT_MAX_LENGTH, ge=16)
    rope_scaling: RopeScaling | None = Field(
        default=None, description="RoPE scaling to train past the model's native window: {type: linear|dynamic|"
        "yarn, factor, original_max_position_embeddings (yarn)}, or TYPE:FACTOR (see ftrouter.rope)")
    packing: bool = False
    on_long: Literal["truncate", "drop", "error"] | None = Field(
        default=None, description="records over max_length: cut, leave out, or refuse (default: truncate, "
        "refusing past 5% dropped; see ftrouter_local.lengths)")
    lora_r: int = Field(default=16, ge=1)
    lora_alpha: int = Field(default=32, ge=1)
    lora_dropout: float = Field(default=0.05, ge=0, lt=1)
    lora_target_modules: str | list[str] = "all-linear"
    dtype: Dtype = "auto"
    device: Device = "auto"
    gpus: int = Field(default=1, ge=1, description="processes (one per GPU); >1 uses accelerate launch")
    distributed: Literal["ddp", "fsdp"] = "ddp"
    activation_checkpointing: bool = True
    lr_scheduler_type: str = "linear"
    warmup_ratio: float = Field(default=0.0, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0)
    logging_steps: int = Field(default=10, ge=1)
    save_steps: int = Field(default=200, ge=1)
    save_total_limit: int | None = Field(default=2, ge=1)
    eval_steps: int | None = Field(default=None, ge=1)
    seed: int = Field(default=42, ge=0)
    attn_implementation: str | None = None
    revision: str | None = None
    trust_remote_code: bool = False
    tensorboard: bool = True
    recipe_file: str | None = Field(default=None, description="the recipe file the settings came from (set by "
                                    "ftrouter, not by a recipe or --option), shown in the plan and the events")

    @field_validator("rope_scaling", mode="before")
    @classmethod
    def _rope_scaling(cls, value: Any) -> RopeScaling | None:
        return parse_rope_scaling(value)  # a ValueError names the problem (unknown type, factor <= 1...)

    @model_validator(mode="after")
    def _rope_for_causal_lms(self) -> TrainConfig:
        if self.rope_scaling is not None and self.task != "sft":
            raise ValueError(f"rope_scaling applies to causal LMs (--task sft), not to --task {self.task}")
        return self

    @property
    def resolved_learning_rate(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return (DEFAULT_DPO_LR if self.method == "dpo" else DEFAULT_LR)[self.adapter]


class Recipe(BaseModel):
    """A recipe file: a flat mapping of TrainConfig fields (except the base model) plus notes."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    suggested_models: list[str] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)


_RECIPE_NOTES = ("description", "suggested_models")


# -- recipes ---------------------------------------------------------------------------------------


# The recipes shipped in the source checkout this package is installed from (``pip install -e``), so a
# recipe name works from any folder, not only from the repository root.
_CHECKOUT_RECIPES = Path(__file__).resolve().parents[3] / "configs" / "recipes"


def recipe_dirs() -> list[Path]:
    """Where recipe names are looked up: ``$FTROUTER_RECIPES`` (os.pathsep list), then ./configs/recipes,
    then the source checkout's configs/recipes."""
    configured = [Path(p) for p in os.environ.get(RECIPES_ENV, "").split(os.pathsep) if p]
    folders = [*configured, Path.cwd() / "configs" / "recipes"]
    if _CHECKOUT_RECIPES.is_dir() and _CHECKOUT_RECIPES not in folders:
        folders.append(_CHECKOUT_RECIPES)
    return folders


def recipe_candidates(name: str) -> list[Path]:
    """Every file a recipe name could mean, in lookup order; the first is used, the others are shadowed."""
    return [folder / f"{name}.yaml" for folder in recipe_dirs() if (folder / f"{name}.yaml").is_file()]


def known_recipes() -> list[str]:
    names = {p.stem for folder in recipe_dirs() if folder.is_dir() for p in folder.glob("*.yaml")}
    return sorted(names)


def find_recipe(name_or_path: str) -> Path:
    """A recipe by path, or by name in :func:`recipe_dirs`."""
    direct = Path(name_or_path).expanduser()
    if direct.is_file():
        return direct
    for folder in recipe_dirs():
        candidate = folder / f"{name_or_path}.yaml"
        if candidate.is_file():
            return candidate
    known = known_recipes()
    if not known:
        searched = ", ".join(str(folder) for folder in recipe_dirs())
        raise UsageError(f"unknown recipe {name_or_path!r}: no recipe files in {searched}; pass a recipe's path "
                         f"or set {RECIPES_ENV}", code=UnknownName.code)
    raise UnknownName("recipe", name_or_path, known)


def _key_lines(node: yaml.Node | None) -> dict[str, int]:
    """1-based line of each top-level key, for error messages."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(key.value): key.start_mark.line + 1 for key, _ in node.value}


def load_recipe(name_or_path: str) -> tuple[Path, Recipe]:
    """Read and validate a recipe; errors name the file, the line and the key."""
    path = find_recipe(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
        parsed = safeyaml.load(text)
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"cannot read recipe: {reason}", path=path, code="invalid_recipe") from exc
    except safeyaml.YamlProblem as exc:
        raise UsageError(exc.message, path=path, line=exc.line, code="invalid_recipe") from None
    raw = parsed.data or {}
    lines = _key_lines(parsed.node)
    if not isinstance(raw, dict):
        raise UsageError("a recipe must be a mapping of settings", path=path, line=1, code="invalid_recipe")
    if "model" in raw:
        raise UsageError("a recipe does not pick the base model; pass --model", path=path,
                         line=lines.get("model"), code="invalid_recipe")
    if "recipe_file" in raw:
        raise UsageError("recipe_file is set by ftrouter, not by a recipe", path=path, line=lines.get("recipe_file"),
                         code="invalid_recipe")
    notes = {key: raw[key] for key in _RECIPE_NOTES if key in raw}
    settings = {key: value for key, value in raw.items() if key not in _RECIPE_NOTES}
    try:
        TrainConfig.model_validate({"model": "recipe-check", **settings})
        recipe = Recipe.model_validate({**notes, "settings": settings})
    except ValidationError as exc:
        key, message = _describe(exc)
        raise UsageError(message, path=path, line=lines.get(key), code="invalid_recipe") from exc
    return path, recipe


def _describe(exc: ValidationError) -> tuple[str, str]:
    first = exc.errors()[0]
    key = str(first["loc"][0]) if first["loc"] else "recipe"
    field = ".".join(str(p) for p in first["loc"]) or "recipe"
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        allowed = sorted({*TrainConfig.model_fields, *_RECIPE_NOTES} - {"model"})
        message = f"unknown setting (allowed: {', '.join(allowed)})"
    return key, f"{field}: {message}"


# -- merging a JobSpec into a TrainConfig ----------------------------------------------------------

# JobSpec.hyperparameters field -> TrainConfig field (None means: not a local setting)
_HYPERPARAMETERS = {
    "epochs": "epochs",
    "learning_rate": "learning_rate",
    "batch_size": "batch_size",
    "lora_r": "lora_r",
    "lora_alpha": "lora_alpha",
    "max_length": "max_length",
    "packing": "packing",
    "max_steps": "max_steps",
}
_NOT_OPTIONS = {"recipe"}
_NOT_SETTABLE = {"model", "recipe_file"}  # neither a recipe nor --option may set these


def _absolute_if_local(model: str) -> str:
    """A local model folder becomes an absolute path: the detached worker runs in the job's folder,
    where a relative path would be read as a hub id."""
    path = Path(model).expanduser()
    return str(path.resolve()) if path.is_dir() else model


def config_from_spec(spec: JobSpec) -> TrainConfig:
    """Merge defaults, the recipe, ``spec.options`` and the common flags into one validated config."""
    refusal = method_refusal("local", spec.method)
    if refusal is not None:
        raise UsageError(refusal, code="not_supported")
    if spec.hyperparameters.beta is not None and spec.method != "dpo":
        raise UsageError("--beta applies to --method dpo only", code="bad_flag")
    settings: dict[str, Any] = {}
    recipe_name = spec.options.get("recipe")
    if recipe_name:
        path, recipe = load_recipe(str(recipe_name))
        _no_remote_code_from(path, recipe, spec.options)
        settings.update(recipe.settings)
        settings["recipe_file"] = str(path.resolve())
    settings.update(_options(spec.options))
    settings.update(_flags(spec))
    settings["model"] = _absolute_if_local(spec.model)
    config = _validate(settings)
    multiplier = spec.hyperparameters.learning_rate_multiplier
    if multiplier is not None:
        config = config.model_copy(update={"learning_rate": config.resolved_learning_rate * multiplier})
    return config


def _no_remote_code_from(path: Path, recipe: Recipe, options: dict[str, Any]) -> None:
    """Running a model's own Python code is a decision for the person at the command line: a recipe
    (possibly a ./configs/recipes file shadowing a shipped one) can ask for it but not turn it on."""
    asked = recipe.settings.get("trust_remote_code")
    given = options.get("trust_remote_code")
    if asked is True and given not in (True, "true", "True", "1", 1):
        raise UsageError("this recipe sets trust_remote_code: true; the model's own code runs only with "
                         "--trust-remote-code on the command line", path=path, code="remote_code_not_allowed")


def _options(options: dict[str, Any]) -> dict[str, Any]:
    picked = {k: v for k, v in options.items() if k not in _NOT_OPTIONS}
    unknown = sorted(set(picked) - set(TrainConfig.model_fields) | (_NOT_SETTABLE & set(picked)))
    if unknown:
        choices = sorted((set(TrainConfig.model_fields) - _NOT_SETTABLE) | _NOT_OPTIONS)
        raise UnknownName("local backend option", unknown[0], choices)
    if isinstance(picked.get("lora_target_modules"), str) and "," in picked["lora_target_modules"]:
        picked["lora_target_modules"] = [m.strip() for m in picked["lora_target_modules"].split(",") if m.strip()]
    return picked


def _flags(spec: JobSpec) -> dict[str, Any]:
    flags: dict[str, Any] = {}
    for source, target in _HYPERPARAMETERS.items():
        value = getattr(spec.hyperparameters, source)
        if value is not None:
            flags[target] = value
    if spec.adapter is not None:
        flags["adapter"] = spec.adapter
    if spec.seed is not None:
        flags["seed"] = spec.seed
    flags["method"] = spec.method
    if spec.hyperparameters.beta is not None:
        flags["beta"] = spec.hyperparameters.beta
    return flags


def _validate(settings: dict[str, Any]) -> TrainConfig:
    try:
        return TrainConfig.model_validate(settings)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        value = settings.get(str(first["loc"][0])) if first["loc"] else None
        message = str(first["msg"]).removeprefix("Value error, ")
        where = f"option {field}={value!r}: " if field else ""  # a rule across options has no one field
        raise UsageError(f"{where}{message}", code="invalid_option") from exc
