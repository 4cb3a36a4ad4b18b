"""``TogetherBackend.prepare``: everything before the first request, all local.

Validate with the data engine (the Together profile's rules and the model's catalog row), convert to the
OpenAI-format JSONL Together trains on (chat messages, or preference pairs for DPO) under the job's
folder, estimate from the catalog (billed tokens; Together publishes no per-token rate, so the price
comes from POST /fine-tunes/estimate-price at submit), and plan the requests.
"""

from __future__ import annotations

import os
from typing import Any

from ftrouter.catalog import get_model
from ftrouter.errors import NotSupported, UsageError
from ftrouter.jobs.models import JobEstimate, JobSpec, PreparedJob
from ftrouter.jobs.paths import job_dir
from ftrouter.methods import method_refusal
from ftrouter_together.client import base_url
from ftrouter_together.requests import check_spec, planned_requests

MAX_UPLOAD_BYTES = 5 * 1024**3  # a generous bound: Together's docs name no smaller limit for /files/upload


def check_model(spec: JobSpec) -> None:
    row = get_model(spec.model)
    if row.backend != "together":
        raise UsageError(f"{spec.model} is a {row.backend} model; use --backend {row.backend}", code="wrong_backend")
    refusal = method_refusal("together", spec.method, model=spec.model, model_methods=row.methods)
    if refusal is not None:
        raise NotSupported(refusal)


def _stats(report: Any, files: dict[str, str]) -> dict[str, Any]:
    data = report.report
    stats: dict[str, Any] = {"source_format": data.format, "examples": data.examples,
                             "tokens_total": data.tokens.total, "over_token_limit": data.over_limit,
                             "token_limit": data.token_limit, "tokenizer": data.tokenizer.get("encoding"),
                             "warnings": report.warnings}
    for role, path in files.items():
        stats[f"{role}_file"] = f"{os.path.basename(path)} ({os.path.getsize(path):,} bytes)"
    return stats


def prepare(spec: JobSpec, local_id: str) -> PreparedJob:
    from ftrouter.cost import estimate_training
    from ftrouter.data.convert import convert_for_upload
    from ftrouter.data.validate import validate_file

    check_spec(spec)
    check_model(spec)
    report = validate_file(spec.data, backend="together", model=spec.model, val_path=spec.val, method=spec.method)
    report.raise_for_errors()
    target = "dpo" if spec.method == "dpo" else "openai"  # Together takes OpenAI's JSONL shapes unchanged
    paths = convert_for_upload(spec.data, spec.val, job_dir(local_id), target, max_bytes=MAX_UPLOAD_BYTES)
    files = {role: str(path) for role, path in paths.items()}
    sizes = {role: path.stat().st_size for role, path in paths.items()}
    estimate = estimate_training("together", example_tokens=report.report.example_tokens, model=spec.model,
                                 epochs=spec.hyperparameters.epochs, method=spec.method)[0]
    estimate.assumptions["estimate_source"] = ("catalog (billed tokens only); submit asks POST /fine-tunes/"
                                               "estimate-price for the price after the upload")
    return PreparedJob(spec=spec, local_id=local_id, files=files, stats=_stats(report, files),
                       estimate=JobEstimate.from_training(estimate),
                       requests=planned_requests(spec, local_id, files, sizes, base_url()),
                       warnings=report.warning_lines())
