"""``OpenAIBackend.prepare``: everything before the first request, all local.

Validate with the data engine's OpenAI rules, convert to the JSONL OpenAI trains on (chat messages,
or preference pairs for DPO) under the job's folder, estimate the cost with the cost engine, and plan
the requests. The only side effect is the converted files.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

from ftrouter.catalog import get_model
from ftrouter.errors import NotSupported, UsageError
from ftrouter.jobs.models import JobEstimate, JobSpec, PreparedJob
from ftrouter.jobs.paths import job_dir
from ftrouter.methods import method_refusal
from ftrouter_openai.requests import MAX_UPLOAD_BYTES, check_spec, planned_requests


def check_model(spec: JobSpec) -> tuple[list[str], date | None]:
    """The model must be an OpenAI catalog model that supports the method; returns its methods and the
    date after which it takes no new jobs (if known)."""
    row = get_model(spec.model)
    if row.backend != "openai":
        raise UsageError(f"{spec.model} is a {row.backend} model; use --backend {row.backend}", code="wrong_backend")
    refusal = method_refusal("openai", spec.method, model=spec.model, model_methods=row.methods)
    if refusal is not None:
        raise NotSupported(refusal)
    return list(row.methods), row.training_available_until


def _stats(report: Any, files: dict[str, str]) -> dict[str, Any]:
    data = report.report
    stats: dict[str, Any] = {
        "source_format": data.format, "examples": data.examples, "tokens_total": data.tokens.total,
        "tokens_per_example": f"min {data.tokens.min:,} · mean {data.tokens.mean:,.0f} · max {data.tokens.max:,}",
        "over_token_limit": data.over_limit, "token_limit": data.token_limit, "duplicates": data.duplicates,
        "tokenizer": data.tokenizer.get("encoding"), "warnings": report.warnings,
    }
    if report.val_report is not None:
        stats["val_examples"] = report.val_report.examples
        stats["val_tokens_total"] = report.val_report.tokens.total
    for role, path in files.items():
        stats[f"{role}_file"] = f"{os.path.basename(path)} ({os.path.getsize(path):,} bytes)"
    return stats


def prepare(spec: JobSpec, local_id: str) -> PreparedJob:
    from ftrouter.cost import estimate_training
    from ftrouter.data.convert import convert_for_upload
    from ftrouter.data.validate import validate_file

    check_spec(spec)
    _, available_until = check_model(spec)
    report = validate_file(spec.data, backend="openai", model=spec.model, val_path=spec.val, method=spec.method)
    report.raise_for_errors()  # includes wrong_method: data of another kind than --method trains on
    target = "dpo" if spec.method == "dpo" else "openai"
    paths = convert_for_upload(spec.data, spec.val, job_dir(local_id), target, max_bytes=MAX_UPLOAD_BYTES,
                               limit="OpenAI's file upload takes at most 512 MiB")
    files = {role: str(path) for role, path in paths.items()}
    sizes = {role: path.stat().st_size for role, path in paths.items()}
    estimate = estimate_training("openai", example_tokens=report.report.example_tokens, model=spec.model,
                                 epochs=spec.hyperparameters.epochs, method=spec.method)[0]
    warnings = report.warning_lines()  # identical warnings collapsed into one line with a count
    if available_until is not None and date.today() > available_until:
        warnings.append(f"the catalog says OpenAI takes no new fine-tuning jobs for {spec.model} after "
                        f"{available_until} (OpenAI is winding down self-serve fine-tuning); expect the create call "
                        "to be refused and consider --backend vertex or --backend local")
    return PreparedJob(spec=spec, local_id=local_id, files=files, stats=_stats(report, files),
                       estimate=JobEstimate.from_training(estimate),
                       requests=planned_requests(spec, local_id, files, sizes), warnings=warnings)
