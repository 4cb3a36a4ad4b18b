"""``prepare`` for Vertex: validate for Vertex, convert to Gemini's format, estimate, plan the requests.

Nothing here touches the network or needs credentials: it is all that ``submit --dry-run`` runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ftrouter.catalog import ModelEntry, get_model, models
from ftrouter.errors import UsageError, ValidationFailed
from ftrouter.jobs.models import JobSpec, PlannedRequest, PreparedJob
from ftrouter.jobs.paths import job_dir
from ftrouter_vertex.gemini_file import read_gemini_file, token_summary
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

MAX_PROBLEMS_IN_MESSAGE = 5


def vertex_models() -> list[str]:
    return sorted(name for name, entry in models().items() if entry.backend == "vertex")


def check_model(name: str) -> ModelEntry:
    """The catalog row for a tunable Gemini model; other backends' models are a usage error."""
    entry = get_model(name)
    if entry.backend != "vertex":
        raise UsageError(f"{name} is a {entry.backend} model; the vertex backend tunes: {', '.join(vertex_models())}")
    return entry


def check_spec(spec: JobSpec, entry: ModelEntry) -> None:
    if spec.method not in entry.methods or spec.method != "sft":
        raise UsageError(f"the vertex backend runs supervised tuning (--method sft) only; got {spec.method!r}")
    if spec.adapter not in (None, "lora"):
        raise UsageError(f"Vertex tunes Gemini with managed adapters; --adapter {spec.adapter} is not available "
                         "(leave it out, or set the adapter size with --option adapter_size=N)")


def _raise_validation(path: str, problems: list[Any]) -> None:
    shown = [p.render(path) if hasattr(p, "render") else str(p) for p in problems[:MAX_PROBLEMS_IN_MESSAGE]]
    more = len(problems) - len(shown)
    tail = f" (and {more} more; run `ftrouter data validate {path} --backend vertex`)" if more > 0 else ""
    first_line = getattr(problems[0], "line", None) if problems else None
    raise ValidationFailed(f"{len(problems)} problem(s) for Vertex: " + " | ".join(shown) + tail,
                           path=path, line=first_line)


def _validate_and_convert(spec: JobSpec, entry: ModelEntry, folder: Path) -> tuple[dict[str, Path], list[int]]:
    from ftrouter.data import convert_file, validate_file

    result = validate_file(spec.data, backend="vertex", model=entry.name, val_path=spec.val)
    if not result.ok:
        _raise_validation(spec.data, list(result.errors))
    files = {"train": folder / "train.gemini.jsonl"}
    convert_file(spec.data, files["train"], to="gemini")
    if spec.val:
        files["val"] = folder / "val.gemini.jsonl"
        convert_file(spec.val, files["val"], to="gemini")
    return files, list(result.report.example_tokens)


def _estimate(entry: ModelEntry, spec: JobSpec, example_tokens: list[int]) -> dict[str, Any]:
    from ftrouter.cost import estimate_training

    estimate = estimate_training("vertex", example_tokens=example_tokens, model=entry.name,
                                 epochs=spec.hyperparameters.epochs)
    if hasattr(estimate, "model_dump"):
        return dict(estimate.model_dump(mode="json"))
    return dict(estimate)


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
        PlannedRequest(method="POST", url=upload_url(settings.bucket, settings.object_name(local_id, role)),
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
    folder = job_dir(local_id)
    files, example_tokens = _validate_and_convert(spec, entry, folder)
    stats: dict[str, Any] = {"train": read_gemini_file(files["train"]).as_dict()}
    stats["train"]["tokens"] = token_summary(example_tokens, entry.training_token_limit)
    stats["train"]["tokens"]["method"] = "estimate (Gemini has no public tokenizer; see the data engine's band)"
    if "val" in files:
        stats["val"] = read_gemini_file(files["val"], max_examples=entry.max_validation_examples, role="val").as_dict()
    uris = {role: settings.gs_uri(settings.object_name(local_id, role)) for role in files}
    request = build_request(spec, settings, local_id, uris)
    return PreparedJob(
        spec=spec,
        local_id=local_id,
        files={role: str(path) for role, path in files.items()},
        stats=stats,
        estimate=_estimate(entry, spec, example_tokens),
        requests=plan_requests(settings, local_id, files, request),
        warnings=_settings_warnings(settings) + _ignored_settings(spec),
    )
