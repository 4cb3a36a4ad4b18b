"""``prepare`` for the labelled tasks (``--task classification|multi-label|pair-classification|
token-classification``): check the data against the task, fix the label map, write the records.

Writes into the job folder: ``data/train.jsonl`` (and ``val.jsonl``) as ``{"texts": [...], "labels":
[...]}`` records, ``data/labels.json`` (the label list in id order, the training label counts and
whether class weights are used), ``config.json``. Light: no torch (the data engine and the tokenizer
that counts lengths only).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ftrouter.data.labelled import TASK_FORMATS, LabelledExample, labelled_format, scan_labelled
from ftrouter.errors import DataError, UsageError, ValidationFailed
from ftrouter.jobs.models import JobSpec, PlannedRequest, PreparedJob
from ftrouter.jobs.paths import private_dir
from ftrouter_local.config import TrainConfig
from ftrouter_local.jobfiles import JobFiles, write_atomic
from ftrouter_local.preparation import _estimate, check_machine, check_model

# Past this ratio (examples of the largest class over the smallest) ``class_weights=auto`` weighs the
# loss by inverse class frequency; below it, plain cross-entropy (weights would mostly add noise).
IMBALANCE_THRESHOLD = 3.0


def labels_file(files: JobFiles) -> Path:
    return files.data_dir / "labels.json"


def _check_format(path: str, task: str) -> str:
    wanted = TASK_FORMATS[task]
    found = labelled_format(path)
    if found is None:
        raise UsageError(f"--task {task} needs {wanted} data; this file holds no labelled data (see "
                         "`ftrouter data inspect`)", path=path, code="wrong_format")
    if found != wanted:
        raise UsageError(f"--task {task} needs {wanted} data; this file is {found}", path=path,
                         code="wrong_format")
    return found


def _raise_first_error(result: Any) -> None:
    for report in filter(None, (result.train, result.val)):
        errors = [p for p in report.problems if p.severity == "error"]
        if errors:
            first = errors[0]
            more = f" (and {report.errors - 1} more; see `ftrouter data inspect {report.path}`)" \
                if report.errors > 1 else ""
            raise ValidationFailed(first.message + more, path=report.path, line=first.line, code=first.code)


def label_order(train: dict[str, int], val: dict[str, int], fmt: str) -> list[str]:
    """Label ids: sorted, ``O`` first for BIO tags. Labels seen only in validation get ids too, so their
    examples are scored (as errors the model cannot avoid) rather than dropped."""
    names = sorted(set(train) | set(val))
    if fmt == "token-classification" and "O" in names:
        names.remove("O")
        names.insert(0, "O")
    return names


def _use_weights(config: TrainConfig, ratio: float | None) -> bool:
    if config.class_weights == "auto":
        return ratio is not None and ratio > IMBALANCE_THRESHOLD
    return config.class_weights == "on"


def _write_records(path: str, fmt: str, target: Path) -> int:
    rows: list[str] = []
    for record in scan_labelled(path, fmt):
        example: LabelledExample | None = record.example
        if example is not None:
            rows.append(json.dumps({"texts": list(example.texts), "labels": list(example.labels),
                                    "line": example.line}, ensure_ascii=False))
    write_atomic(target, "".join(row + "\n" for row in rows))
    return len(rows)


def _check_negatives(path: str) -> None:
    """Every example has a negative (triplet loss) or none has (in-batch negatives): not a mix."""
    first: tuple[int, bool] | None = None
    for record in scan_labelled(path, "embedding"):
        if record.example is None:
            continue
        has = len(record.example.texts) == 3
        if first is None:
            first = (record.line, has)
        elif has != first[1]:
            which = "has" if has else "has no"
            raise DataError(f"this example {which} 'negative' but the one at line {first[0]} "
                            f"{'does' if first[1] else 'does not'}: give every example a negative or none",
                            path=path, line=record.line, code="mixed_negatives")


def _inspect(spec: JobSpec, config: TrainConfig, fmt: str) -> Any:
    from ftrouter.data.labelled_inspect import inspect_labelled

    folder = config.model if Path(config.model).expanduser().is_dir() else None
    result = inspect_labelled(spec.data, fmt=fmt, model=folder, val=spec.val)
    _raise_first_error(result)
    if fmt == "embedding":
        _check_negatives(spec.data)
        if spec.val:
            _check_negatives(spec.val)
    elif fmt != "token-classification" and len(result.train.labels) < 2:
        raise DataError(f"{len(result.train.labels)} distinct label(s) in the training file: a classifier "
                        "needs at least 2", path=spec.data, code="too_few_labels")
    return result


def prepare_labelled_job(spec: JobSpec, local_id: str, files: JobFiles, config: TrainConfig) -> PreparedJob:
    if config.task == "embedding" and config.adapter != "full":
        raise UsageError("--task embedding fine-tunes the whole encoder: pass --adapter full", code="not_supported")
    if config.adapter == "qlora":
        raise UsageError(f"--task {config.task} trains small encoders: use --adapter lora or full, not qlora",
                         code="not_supported")
    if config.gpus > 1:
        raise UsageError(f"--task {config.task} trains in one process; leave --gpus at 1", code="not_supported")
    fmt = _check_format(spec.data, config.task)
    if spec.val:
        _check_format(spec.val, config.task)
    warnings = check_model(config.model) + check_machine(config)
    result = _inspect(spec, config, fmt)
    train = result.train
    val_labels = dict(result.val.labels) if result.val else {}
    names = label_order(dict(train.labels), val_labels, fmt)
    weighted = fmt != "embedding" and _use_weights(config, train.imbalance_ratio)
    warnings += [f"label {label!r} is in the validation file only: the model cannot learn it"
                 for label in result.only_in_val]
    if train.warnings or (result.val and result.val.warnings):
        warnings.append(f"the data has warnings: `ftrouter data inspect {spec.data}"
                        + (f" --val {spec.val}" if spec.val else "") + "` lists them")
    private_dir(files.root)  # 0700: it will hold a copy of the training data
    stats: dict[str, Any] = {"train": {"examples": _write_records(spec.data, fmt, files.train_data),
                                       "labels": dict(train.labels), "imbalance_ratio": train.imbalance_ratio,
                                       "tokens_p95": train.token_json()["p95"]},
                             "class_weights": weighted}
    paths = {"train": str(files.train_data)}
    if spec.val:
        stats["val"] = {"examples": _write_records(spec.val, fmt, files.val_data), "labels": val_labels}
        paths["val"] = str(files.val_data)
    write_atomic(labels_file(files), json.dumps({"format": fmt, "labels": names, "train_counts": dict(train.labels),
                                                 "class_weights": weighted}, ensure_ascii=False, indent=1))
    write_atomic(files.config, config.model_dump_json(indent=1))
    paths["config"] = str(files.config)
    from ftrouter_local.launcher import worker_command

    request = PlannedRequest(method="SPAWN", url=f"file://{files.root}",
                             body={"command": worker_command(files, config), "config": config.model_dump(mode="json")},
                             note="a detached local worker process; nothing leaves this machine")
    # the local planner's estimate when the catalog knows the model (e.g. answerdotai/ModernBERT-base);
    # a model folder it does not know is a warning, as for SFT
    estimate, problem = _estimate(config, list(train.lengths))
    if problem:
        warnings.append(f"no cost estimate: {problem}")
    return PreparedJob(spec=spec, local_id=local_id, files=paths, stats=stats, requests=[request], warnings=warnings,
                       estimate=estimate)
