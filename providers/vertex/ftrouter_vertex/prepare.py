"""``prepare`` for Vertex: validate for Vertex, convert to Gemini's format, estimate, plan the requests.

Nothing here touches the network or needs credentials: it is all that ``submit --dry-run`` runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ftrouter.catalog import ModelEntry, get_model, models
from ftrouter.errors import NotSupported, UsageError
from ftrouter.jobs.models import JobEstimate, JobSpec, PlannedRequest, PreparedJob
from ftrouter.jobs.paths import job_dir
from ftrouter.methods import method_refusal
from ftrouter_vertex.gemini_file import read_gemini_file, token_percentiles
from ftrouter_vertex.request import (
    CREATED_BY_LABEL,
    LABEL_KEY,
    TuningRequest,
    adapter_size_enum,
    label_value,
    tuning_jobs_url,
    upload_url,
)
from ftrouter_vertex.settings import VertexSettings


def vertex_models() -> list[str]:
    return sorted(name for name, entry in models().items() if entry.backend == "vertex")


def check_model(name: str) -> ModelEntry:
    """The catalog row for a tunable Gemini model; other backends' models are a usage error."""
    entry = get_model(name)
    if entry.backend != "vertex":
        raise UsageError(f"{name} is a {entry.backend} model; use --backend {entry.backend} (the vertex backend "
                         f"tunes: {', '.join(vertex_models())})", code="wrong_backend")
    return entry


def check_spec(spec: JobSpec, entry: ModelEntry) -> None:
    refusal = method_refusal("vertex", spec.method, model=entry.name, model_methods=entry.methods)
    if refusal is not None:
        raise NotSupported(refusal)
    if spec.adapter not in (None, "lora"):
        raise NotSupported(f"Vertex tunes Gemini with managed adapters; --adapter {spec.adapter} is not available "
                           "(leave it out, or set the adapter size with --option adapter_size=N)")


def _validate_and_convert(spec: JobSpec, entry: ModelEntry, folder: Path) -> tuple[dict[str, Path], Any]:
    from ftrouter.data import validate_file
    from ftrouter.data.convert import convert_for_upload

    report = validate_file(spec.data, backend="vertex", model=entry.name, val_path=spec.val, method=spec.method)
    report.raise_for_errors()  # includes wrong_method: preference pairs for supervised tuning
    return convert_for_upload(spec.data, spec.val, folder, "gemini", name="{role}.gemini.jsonl"), report


def _estimate(entry: ModelEntry, spec: JobSpec, example_tokens: list[int]) -> JobEstimate:
    """The cost engine's Vertex estimate, from this backend's (the data engine's Gemini) token counts."""
    from ftrouter.cost import estimate_training

    estimates = estimate_training("vertex", example_tokens=example_tokens, model=entry.name,
                                  epochs=spec.hyperparameters.epochs, method="sft")
    return JobEstimate.from_training(estimates[0])


def _stats(report: Any, files: dict[str, Path], entry: ModelEntry) -> dict[str, Any]:
    """The source data's summary (same keys as the other managed backends) plus the Gemini files'."""
    data = report.report
    stats: dict[str, Any] = {
        "source_format": data.format, "examples": data.examples, "tokens_total": data.tokens.total,
        "tokens_per_example": f"min {data.tokens.min:,} · mean {data.tokens.mean:,.0f} · max {data.tokens.max:,}",
        "over_token_limit": data.over_limit, "token_limit": data.token_limit, "duplicates": data.duplicates,
        "tokenizer": "Gemini estimate", "warnings": report.warnings,
    }
    if report.val_report is not None:
        stats["val_examples"] = report.val_report.examples
        stats["val_tokens_total"] = report.val_report.tokens.total
    for role, path in files.items():
        stats[f"{role}_file"] = f"{path.name} ({path.stat().st_size:,} bytes)"
    gemini = {f"train_{k}": v for k, v in read_gemini_file(files["train"]).summary().items()}
    gemini["train_tokens_estimate"] = token_percentiles(list(data.example_tokens))
    if "val" in files:
        val = read_gemini_file(files["val"], max_examples=entry.max_validation_examples, role="val")
        gemini.update({f"val_{k}": v for k, v in val.summary().items() if k in ("examples", "bytes")})
    stats["gemini"] = gemini
    return stats


def build_request(spec: JobSpec, settings: VertexSettings, local_id: str, uris: dict[str, str]) -> TuningRequest:
    hyper = spec.hyperparameters
    size = settings.adapter_size if settings.adapter_size is not None else hyper.lora_r
    key, value = CREATED_BY_LABEL
    return TuningRequest(
        base_model=spec.model,
        training_uri=uris["train"],
        validation_uri=uris.get("val"),
        epochs=hyper.epochs,
        learning_rate_multiplier=hyper.learning_rate_multiplier,
        adapter_size=adapter_size_enum(size),
        display_name=settings.display_name or spec.suffix or f"ftrouter-{local_id}",
        description=f"ftrouter job {local_id} ({Path(spec.data).name})",
        labels={LABEL_KEY: label_value(local_id), key: value},
    )


def _ignored_settings(spec: JobSpec) -> list[str]:
    hyper = spec.hyperparameters
    ignored = {
        "--seed": spec.seed, "--batch-size": hyper.batch_size, "learning_rate": hyper.learning_rate,
        "max_length": hyper.max_length, "packing": hyper.packing, "max_steps": hyper.max_steps,
        "lora_alpha": hyper.lora_alpha, "beta": hyper.beta,
    }
    return [f"{name} is not a Vertex tuning setting and is ignored" for name, v in ignored.items() if v is not None]


def plan_requests(settings: VertexSettings, local_id: str, files: dict[str, Path],
                  request: TuningRequest) -> list[PlannedRequest]:
    planned = [
        PlannedRequest(method="POST", url=upload_url(settings.bucket, path.stat().st_size),
                       note=f"upload the {role} file ({path.stat().st_size} bytes) to "
                            f"{settings.gs_uri(settings.object_name(local_id, role))}")
        for role, path in files.items()
    ]
    planned.append(PlannedRequest(method="POST", url=tuning_jobs_url(settings.project, settings.region),
                                  body=request.rest_body(), note="create the tuning job (google-genai tunings.tune)"))
    return planned


def _settings_warnings(settings: VertexSettings) -> list[str]:
    warnings = []
    if settings.project is None:
        warnings.append("no project set yet: submit needs --option project=ID, GOOGLE_CLOUD_PROJECT, or a "
                        "project from the application-default credentials")
    if settings.bucket is None:
        warnings.append("no staging bucket set: submit needs --option bucket=gs://BUCKET (or 'bucket:' in vertex.yaml)")
    return warnings


def prepare_job(spec: JobSpec, local_id: str, settings: VertexSettings) -> PreparedJob:
    """Validate and convert ``spec``'s data for Vertex, estimate the cost and plan every request."""
    entry = check_model(spec.model)
    check_spec(spec, entry)
    files, report = _validate_and_convert(spec, entry, job_dir(local_id))
    stats = _stats(report, files, entry)
    uris = {role: settings.gs_uri(settings.object_name(local_id, role)) for role in files}
    request = build_request(spec, settings, local_id, uris)
    warnings = report.warning_lines()  # identical warnings collapsed into one line with a count
    return PreparedJob(
        spec=spec,
        local_id=local_id,
        files={role: str(path) for role, path in files.items()},
        stats=stats,
        estimate=_estimate(entry, spec, list(report.report.example_tokens)),
        requests=plan_requests(settings, local_id, files, request),
        warnings=warnings + _settings_warnings(settings) + _ignored_settings(spec),
    )
