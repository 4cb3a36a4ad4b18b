"""``LocalBackend.prepare``: merge the config, check this machine can run it, convert the data.

Side effects stay inside the job folder (config.json, data/*.jsonl). torch is imported only when
the config needs a GPU fact (QLoRA, device=cuda, several processes on GPUs), never for a plain run.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

from ftrouter.errors import DataError, FtrouterError, UsageError
from ftrouter.jobs.models import JobSpec, PlannedRequest, PreparedJob
from ftrouter.jobs.paths import private_dir
from ftrouter_local.config import TrainConfig, config_from_spec
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
    report = validate_file(spec.data, backend="local", model=folder, val_path=spec.val)
    report.raise_for_errors()
    preference = report.report.kinds.get("dpo", 0)
    if preference:
        raise DataError(f"{preference} preference (DPO) example(s): the local backend trains sft only",
                        path=spec.data, code="unsupported_method")
    return report


def _convert(path: str, target: Path) -> ConversionStats:
    from ftrouter.data import read_examples

    return write_records(read_examples(path), target, source=path)


def _warnings_for(stats: ConversionStats, role: str) -> list[str]:
    if not stats.skipped_untrained:
        return []
    lines = ", ".join(str(n) for n in stats.skipped_untrained[:5])
    more = "..." if len(stats.skipped_untrained) > 5 else ""
    return [f"{role}: {len(stats.skipped_untrained)} example(s) have no trained assistant turn (all weight 0) "
            f"and were skipped: lines {lines}{more}"]


def prepare_job(spec: JobSpec, local_id: str, files: JobFiles) -> PreparedJob:
    config = config_from_spec(spec)
    if config.task != "sft":  # an encoder classifier on labelled data
        from ftrouter_local.labelled_prep import prepare_labelled_job

        return prepare_labelled_job(spec, local_id, files, config)
    warnings = check_model(config.model) + check_machine(config)
    report = validate_data(spec, config)
    if report.warnings:
        warnings.append(f"the data has {report.warnings} warning(s): `ftrouter data validate {spec.data} "
                        "--backend local` lists them")
    private_dir(files.root)  # 0700: it will hold a copy of the training data
    stats: dict[str, Any] = {}
    train = _convert(spec.data, files.train_data)
    stats["train"] = {**train.as_dict(), "tokens": report.report.tokens.total,
                      "tokenizer": report.report.tokenizer.get("method")}
    warnings += _warnings_for(train, "train")
    paths = {"train": str(files.train_data)}
    if spec.val:
        val = _convert(spec.val, files.val_data)
        stats["val"] = val.as_dict()
        warnings += _warnings_for(val, "val")
        paths["val"] = str(files.val_data)
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


def _estimate(config: TrainConfig, example_tokens: list[int]) -> tuple[dict[str, Any], str | None]:
    """The cost engine's local estimate; a model it does not know is a warning, never a failure."""
    from ftrouter.cost import estimate_training

    try:
        estimates = estimate_training("local", example_tokens=example_tokens, model=config.model,
                                      epochs=max(1, math.ceil(config.epochs)), adapter=config.adapter)
    except FtrouterError as exc:
        return {}, exc.message
    return (estimates[0].model_dump(mode="json"), None) if estimates else ({}, "the cost engine returned nothing")
