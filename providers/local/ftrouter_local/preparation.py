"""``LocalBackend.prepare``: merge the config, check this machine can run it, convert the data.

Side effects stay inside the job folder (config.json, data/*.jsonl). torch is imported only when
the config needs a GPU fact (QLoRA, device=cuda, several processes on GPUs), never for a plain run.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

from ftrouter.errors import DataError, FtrouterError, UsageError
from ftrouter.jobs.models import JobEstimate, JobSpec, PlannedRequest, PreparedJob
from ftrouter.jobs.paths import private_dir
from ftrouter_local import lengths
from ftrouter_local.config import TrainConfig, config_from_spec, recipe_candidates
from ftrouter_local.jobfiles import JobFiles, write_atomic
from ftrouter_local.records import ConversionStats, write_records

QLORA_ON_CPU = ("QLoRA (4-bit NF4 through bitsandbytes) needs a CUDA GPU and this machine has none; "
                "use --adapter lora (or full) to train on the CPU")


def _cuda_devices() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def check_machine(config: TrainConfig) -> list[str]:
    """Refuse what cannot run here (clear errors before a worker starts); return warnings."""
    warnings: list[str] = []
    needs_gpu_fact = config.adapter == "qlora" or config.device == "cuda" or config.gpus > 1
    gpus = _cuda_devices() if needs_gpu_fact and config.device != "cpu" else 0
    if config.adapter == "qlora":
        if gpus == 0:
            raise UsageError(QLORA_ON_CPU, code="qlora_needs_gpu")
        if importlib.util.find_spec("bitsandbytes") is None:
            raise UsageError("QLoRA needs bitsandbytes: pip install -e 'providers/local[qlora]'",
                             code="missing_dependency")
    if config.device == "cuda" and gpus == 0:
        raise UsageError("device=cuda was asked for but no CUDA GPU is visible", code="no_gpu")
    if config.gpus > 1 and 0 < gpus < config.gpus:
        raise UsageError(f"--option gpus={config.gpus} but only {gpus} CUDA GPU(s) are visible", code="no_gpu")
    if config.gpus > 1 and gpus == 0:
        warnings.append(f"no CUDA GPU: {config.gpus} processes will train on the CPU (gloo); slow, for testing")
    if config.device != "cpu":  # the trainer's own precision rule: float16 full fine-tuning is refused here
        from ftrouter.training import resolve_precision

        resolve_precision(config.adapter, config.dtype)
    if config.distributed == "fsdp" and config.gpus == 1:
        warnings.append("distributed=fsdp has no effect with one process")
    return warnings


def check_model(model: str) -> list[str]:
    """A path-like model must exist locally; anything else is a hub id the worker will fetch."""
    path = Path(model).expanduser()
    looks_like_path = model.startswith((".", "/", "~")) or path.exists()
    if looks_like_path:
        if not (path / "config.json").is_file():
            raise UsageError(f"{model}: not a model folder (no config.json)", code="model_not_found")
        return []
    return [f"{model} is not a local folder: the worker will load it from the Hugging Face hub "
            "(needs network access and, for gated models, HF_TOKEN)"]


def validate_data(spec: JobSpec, config: TrainConfig) -> Any:
    """The data engine's checks for the local backend; the first error stops the job (one line, with
    the file and line), warnings are counted. Token counts use the model's own tokenizer when the
    model is a local folder."""
    from ftrouter.data import validate_file

    folder = config.model if Path(config.model).expanduser().is_dir() else None
    report = validate_file(spec.data, backend="local", model=folder, val_path=spec.val, method=spec.method)
    report.raise_for_errors()  # includes wrong_method: preference pairs for sft
    return report


def _convert(path: str, target: Path, method: str = "sft") -> ConversionStats:
    from ftrouter.data import read_examples

    if method == "dpo":
        from ftrouter_local.preference import write_preference_records

        return write_preference_records(read_examples(path), target, source=path)
    return write_records(read_examples(path), target, source=path)


def _warnings_for(stats: ConversionStats, role: str) -> list[str]:
    if not stats.skipped_untrained:
        return []
    lines = ", ".join(str(n) for n in stats.skipped_untrained[:5])
    more = "..." if len(stats.skipped_untrained) > 5 else ""
    return [f"{role}: {len(stats.skipped_untrained)} example(s) have no trained assistant turn (all weight 0) "
            f"and were skipped: lines {lines}{more}"]


def load_tokenizer(config: TrainConfig) -> tuple[Any, str | None]:
    """The model's own tokenizer from a local folder or the hub cache (never the network here: the
    worker may download it); (None, why) when it cannot be had."""
    try:
        from transformers import AutoTokenizer
    except ImportError:
        return None, "transformers is not installed"
    local = Path(config.model).expanduser().is_dir()
    try:
        tokenizer = AutoTokenizer.from_pretrained(config.model, revision=config.revision, local_files_only=True,
                                                  trust_remote_code=config.trust_remote_code)
    except Exception as exc:  # transformers raises OSError/ValueError/... for a missing or odd tokenizer
        where = "its folder" if local else "the local hub cache"
        return None, f"no tokenizer for {config.model} in {where} ({type(exc).__name__})"
    if not getattr(tokenizer, "chat_template", None):
        return None, f"the tokenizer of {config.model} has no chat template"
    return tokenizer, None


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def check_lengths(config: TrainConfig, tokenizer: Any, converted: dict[str, tuple[Path, ConversionStats, str]],
                  ) -> tuple[dict[str, Any], list[str]]:
    """Measure every converted file's records against max_length, apply ``on_long`` (rewriting the
    files without the dropped records) and say what happened; TooLong becomes a DataError (exit 1)."""
    summary: dict[str, Any] = {"max_length": config.max_length, "on_long": config.on_long or "truncate",
                               "counted_with": config.model}
    messages: list[str] = []
    for role, (path, stats, source) in converted.items():
        records = _read_jsonl(path)
        check = lengths.measure(records, tokenizer, config.max_length, stats.record_lines)
        try:
            lengths.decide(check, config.on_long, config.max_length, role)
        except lengths.TooLong as exc:
            raise DataError(exc.message, path=source, code=exc.code) from None
        if check.dropped:
            write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lengths.keep(records, check)))
        summary[role] = check.as_dict()
        line = lengths.describe(check, config.on_long, config.max_length, role)
        if line:
            messages.append(line)
    return summary, messages


def check_context(config: TrainConfig) -> tuple[TrainConfig, dict[str, Any], list[str]]:
    """The training length and RoPE scaling against the model's own config, when it is at hand (a local
    folder, the hub cache); otherwise the worker checks once it has it. A refusal is a UsageError (exit 2)."""
    from ftrouter_local.context import load_model_config, plan_for_config

    hf_config, why = load_model_config(config.model, revision=config.revision,
                                       trust_remote_code=config.trust_remote_code)
    if hf_config is None:
        later = [f"max_length and rope_scaling not checked against the model before the start: {why}; the "
                 "worker checks them"] if config.rope_scaling is not None else []
        return config, {"not_checked": why}, later
    plan = plan_for_config(config, hf_config, length_was_set="max_length" in config.model_fields_set)
    if plan.max_length != config.max_length:
        config = config.model_copy(update={"max_length": plan.max_length})
    return config, plan.describe(), plan.warnings


def recipe_notes(spec: JobSpec, config: TrainConfig) -> list[str]:
    """A warning when the recipe file used shadows a same-named one (a shipped recipe); the file used is
    always in the plan (``config.recipe_file``) and the submit event."""
    if not config.recipe_file:
        return []
    name = str(spec.options.get("recipe"))
    others = [p for p in recipe_candidates(name) if str(p.resolve()) != config.recipe_file]
    if Path(name).expanduser().is_file() or not others:
        return []
    return [f"recipe {name!r}: using {config.recipe_file}, which shadows {', '.join(map(str, others))}"]


def prepare_job(spec: JobSpec, local_id: str, files: JobFiles) -> PreparedJob:
    config = config_from_spec(spec)
    if config.task != "sft":  # an encoder classifier on labelled data
        from ftrouter_local.labelled_prep import prepare_labelled_job

        return prepare_labelled_job(spec, local_id, files, config)
    warnings = recipe_notes(spec, config) + check_model(config.model) + check_machine(config)
    config, context, context_lines = check_context(config)
    warnings += context_lines
    report = validate_data(spec, config)
    if report.warnings:
        warnings.append(f"the data has {report.warnings} warning(s): `ftrouter data validate {spec.data} "
                        "--backend local` lists them")
    private_dir(files.root)  # 0700: it will hold a copy of the training data
    stats: dict[str, Any] = {"context": context}
    train = _convert(spec.data, files.train_data, spec.method)
    stats["train"] = {**train.as_dict(), "tokens": report.report.tokens.total,
                      "tokenizer": report.report.tokenizer.get("method")}
    warnings += _warnings_for(train, "train")
    paths = {"train": str(files.train_data)}
    converted = {"train": (files.train_data, train, spec.data)}
    if spec.val:
        val = _convert(spec.val, files.val_data, spec.method)
        stats["val"] = val.as_dict()
        warnings += _warnings_for(val, "val")
        paths["val"] = str(files.val_data)
        converted["val"] = (files.val_data, val, spec.val)
    tokenizer, why_not = load_tokenizer(config)
    if tokenizer is None:
        stats["over_max_length"] = {"max_length": config.max_length, "on_long": config.on_long or "truncate",
                                    "counted_with": None, "not_counted": why_not}
        warnings.append(f"records over max_length {config.max_length} not counted before the start: {why_not}; "
                        "the worker counts them with the model's tokenizer and applies --on-long "
                        f"{config.on_long or 'truncate'}")
    else:
        stats["over_max_length"], length_lines = check_lengths(config, tokenizer, converted)
        warnings += length_lines
    write_atomic(files.config, config.model_dump_json(indent=1))
    paths["config"] = str(files.config)
    from ftrouter_local.launcher import worker_command

    command = worker_command(files, config)
    request = PlannedRequest(method="SPAWN", url=f"file://{files.root}", body={"command": command,
                             "config": config.model_dump(mode="json")},
                             note="a detached local worker process; nothing leaves this machine")
    estimate, problem = _estimate(config, report.report.example_tokens)
    return PreparedJob(spec=spec, local_id=local_id, files=paths, stats=stats, requests=[request],
                       warnings=warnings + ([f"no cost estimate: {problem}"] if problem else []), estimate=estimate)


def _estimate(config: TrainConfig, example_tokens: list[int]) -> tuple[JobEstimate, str | None]:
    """The cost engine's local estimate; a model it does not know is a warning, never a failure."""
    from ftrouter.cost import estimate_training
    from ftrouter.cost.calibration import registry_runs
    from ftrouter.training import resolve_precision

    # the run's own training length and precision (the trainer's rule for its dtype), not the estimator's
    # defaults: the memory figure is for THIS run
    try:
        precision = resolve_precision(config.adapter, config.dtype, device="cuda")
        assumptions = {"seq_len": config.max_length, "full_precision": precision.memory_mode,
                       "lora_rank": config.lora_r, "micro_batch": config.batch_size,
                       "activation_checkpointing": config.activation_checkpointing,
                       "rope_scaling": config.rope_scaling.as_spec() if config.rope_scaling else None,
                       "attention": "eager" if config.attn_implementation == "eager" else "sdpa"}
        estimates = estimate_training("local", example_tokens=example_tokens, model=config.model,
                                      epochs=max(1, math.ceil(config.epochs)), adapter=config.adapter,
                                      method=config.method, assumptions=assumptions, measured=registry_runs())
    except FtrouterError as exc:
        return JobEstimate(), exc.message
    if not estimates:
        return JobEstimate(), "the cost engine returned nothing"
    return JobEstimate.from_training(estimates[0]), None
