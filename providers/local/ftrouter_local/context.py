"""A model's context window and the RoPE scaling a run puts on it (``rope_scaling`` in a recipe or
``--option``): checked against the model's own config before a worker starts and again in the worker,
applied when the model loads, and saved beside the adapter so inference loads it the same way.

The recipe value and its rules are in ``ftrouter.rope`` (shared with the memory estimate); this module
holds what needs the model's transformers config: whether it has RoPE at all, whether it is already
scaled, and the ``rope_parameters`` dict transformers 5.x reads (``modeling_rope_utils``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftrouter.errors import UsageError
from ftrouter.rope import RopeScaling, check_training_length, covered_window
from ftrouter.training import DEFAULT_MAX_LENGTH

# Written next to a LoRA adapter (whose own files hold no base-model config): the base model's
# rope_parameters for this run, which inference passes to from_pretrained.
ROPE_FILE = "rope_scaling.json"


@dataclass(frozen=True)
class ContextPlan:
    """The training length to use, the rope_parameters to load the model with (None: the model's
    own), and what to tell the user."""

    native: int | None
    max_length: int
    rope_parameters: dict[str, Any] | None = None
    window: int | None = None  # the context the run covers (native x factor with a scaling)
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {"native_context": self.native, "max_length": self.max_length, "context": self.window,
                "rope_parameters": self.rope_parameters}


def native_window(hf_config: Any) -> int | None:
    """max_position_embeddings (GPT-2 style configs map n_positions onto it); None when the config has none."""
    value = getattr(hf_config, "max_position_embeddings", None)
    return value if isinstance(value, int) and value > 0 else None


def _current_rope(hf_config: Any, model: str) -> dict[str, Any]:
    kind = getattr(hf_config, "model_type", "?")
    current = getattr(hf_config, "rope_parameters", None)
    if not current or getattr(hf_config, "alibi", False):
        raise UsageError(f"{model} ({kind}) has no rotary position embeddings (RoPE): rope_scaling does not apply "
                         "to it; lower --max-length to its window instead", code="no_rope")
    if any(isinstance(v, dict) for v in current.values()):
        raise UsageError(f"{model} ({kind}) sets RoPE per layer type ({', '.join(current)}): rope_scaling applies "
                         "to models with one RoPE setting", code="rope_per_layer")
    existing = current.get("rope_type", "default")
    if existing != "default":
        raise UsageError(f"{model} already uses RoPE scaling {existing!r} (factor {current.get('factor')}): "
                         "ftrouter does not stack a second scaling on it", code="already_scaled")
    return dict(current)


def rope_parameters(hf_config: Any, scaling: RopeScaling, model: str) -> dict[str, Any]:
    """The model's rope_parameters with ``scaling`` applied (rope_theta and the rest kept)."""
    params = _current_rope(hf_config, model)
    native = native_window(hf_config)
    if native is None:
        raise UsageError(f"{model}'s config gives no max_position_embeddings: its native window is unknown, so "
                         "rope_scaling cannot be checked against it", code="invalid_option")
    params.update(rope_type=scaling.type, factor=float(scaling.factor))
    if scaling.type == "yarn":  # yarn needs the pre-training length: the one given, else the native window
        original = scaling.base(native)
        if original > native:
            raise UsageError(f"rope_scaling original_max_position_embeddings {original:,} is beyond {model}'s "
                             f"window of {native:,} (max_position_embeddings)", code="invalid_option")
        params["original_max_position_embeddings"] = original
    return params


def plan_context(hf_config: Any, scaling: RopeScaling | None, max_length: int, *, model: str,
                 length_was_set: bool) -> ContextPlan:
    """Check ``max_length`` and ``scaling`` against the model (UsageError when refused)."""
    native = native_window(hf_config)
    params = rope_parameters(hf_config, scaling, model) if scaling is not None else None
    length, warnings = check_training_length(max_length, native, scaling, model=model, length_was_set=length_was_set)
    window = scaling.window(native) if scaling is not None and native is not None else native
    return ContextPlan(native, length, params, window, warnings)


def plan_for_config(config: Any, hf_config: Any, *, length_was_set: bool | None = None) -> ContextPlan:
    """:func:`plan_context` for a TrainConfig. ``length_was_set`` None: guessed from the value (a
    config.json written by prepare holds every field, so "set" is no longer known there)."""
    was_set = config.max_length != DEFAULT_MAX_LENGTH if length_was_set is None else length_was_set
    return plan_context(hf_config, config.rope_scaling, config.max_length, model=config.model, length_was_set=was_set)


def load_model_config(model: str, *, revision: str | None = None, trust_remote_code: bool = False,
                      local_only: bool = True) -> tuple[Any, str | None]:
    """The model's transformers config, from its folder or the hub cache; (None, why) when not at hand."""
    try:
        from transformers import AutoConfig
    except ImportError:
        return None, "transformers is not installed"
    try:
        return AutoConfig.from_pretrained(model, revision=revision, trust_remote_code=trust_remote_code,
                                          local_files_only=local_only), None
    except Exception as exc:  # OSError/ValueError/... for a missing or unknown config
        return None, f"no config for {model} at hand ({type(exc).__name__})"


def write_rope_file(folder: Path, plan: ContextPlan) -> None:
    from ftrouter_local.jobfiles import write_atomic

    write_atomic(folder / ROPE_FILE, json.dumps({"rope_parameters": plan.rope_parameters,
                                                  "native_context": plan.native, "context": plan.window}, indent=1))


def saved_rope(folder: Path | None) -> tuple[dict[str, Any] | None, int | None]:
    """(rope_parameters, context) a run saved beside its adapter; (None, None) when none was saved (the
    base model's own RoPE)."""
    path = folder / ROPE_FILE if folder is not None else None
    if path is None or not path.is_file():
        return None, None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        params, context = saved.get("rope_parameters"), saved.get("context")
    except (OSError, ValueError, AttributeError) as exc:
        raise UsageError(f"cannot read the saved RoPE scaling: {exc}", path=path, code="model_not_loadable") from None
    if not isinstance(params, dict):
        return None, None
    return params, context if isinstance(context, int) else None


def context_window(hf_config: Any) -> int | None:
    """The context a loaded model covers: its window, times the factor of a linear/dynamic/yarn scaling."""
    return covered_window(native_window(hf_config), getattr(hf_config, "rope_parameters", None))
