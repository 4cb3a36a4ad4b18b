"""What the API routes do, as plain functions over the library the CLI commands call — so the
service and the CLI cannot drift apart. No FastAPI here except the upload type."""

from __future__ import annotations

import json
import re
import secrets
import shutil
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftrouter.errors import UsageError
from ftrouter.jobs.paths import ftrouter_home

if TYPE_CHECKING:
    from ftrouter.advise import Advice
    from ftrouter.cost.compare import Comparison
    from ftrouter.cost.report import EstimateReport
    from ftrouter.eval.session import PreparedEval
    from ftrouter.jobs.models import JobSpec, PreparedJob
    from ftrouter.jobs.record import JobRecord
    from ftrouter.jobs.service import JobService
    from ftrouter.serve.schemas import CompareRequest, EstimateRequest, EvalRequest

PROFILE_NAME = Path("request.json")  # how a profile sent in a request body is named in error messages


def existing_file(path: str, field: str) -> Path:
    """A server path given in a request: it must be a readable file (as the CLI checks its flags)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise UsageError(f"{field}: no such file on the server", path=path, code="file_not_found")
    return file


def profile_from(body: dict[str, Any]) -> Any:
    """Validate a task profile sent as JSON exactly as ``advise`` validates a profile file."""
    from ftrouter.advise import parse_profile

    return parse_profile(json.dumps(body, indent=2, ensure_ascii=False), PROFILE_NAME)


def advise(body: dict[str, Any], *, data: str | None = None, data_format: str = "auto", model: str | None = None,
           today: date | None = None) -> Advice:
    from ftrouter.advise import advise as run_advice
    from ftrouter.advise.signals import read_signals

    profile = profile_from(body)
    signals = read_signals(existing_file(data, "data"), fmt=data_format, model=model) if data else None
    return run_advice(profile, signals=signals, today=today)


def estimate(request: EstimateRequest) -> EstimateReport:
    from ftrouter.catalog import default_catalog
    from ftrouter.cost.report import estimate_for_file

    return estimate_for_file(existing_file(request.data, "data"), catalog=default_catalog(), backend=request.backend,
                             model=request.model, epochs=request.epochs, method=request.method,
                             adapter=request.adapter, gpu=request.gpu, assumptions=request.assumptions)


def compare(request: CompareRequest) -> Comparison:
    from ftrouter.catalog import default_catalog
    from ftrouter.cli.cost import split_sets, workload_for
    from ftrouter.cost.report import compare_for_file

    data = existing_file(request.data, "data")
    assumptions = split_sets(request.assumptions)
    profile = profile_from(request.task) if request.task is not None else None
    flags = {k: v for k, v in {"monthly_requests": request.monthly_requests, "prompt_tokens": request.prompt_tokens,
                               "output_tokens": request.output_tokens, "service_months": request.months}.items()
             if v is not None}
    work, notes = workload_for(profile, "task", request.assumptions, flags)
    comparison = compare_for_file(data, catalog=default_catalog(), workload=work, backend=request.backend,
                                  gpu=request.gpu, prompt_model=request.prompt_model,
                                  assumptions=assumptions)
    comparison.notes[:0] = notes
    return comparison


def submit(service: JobService, spec: JobSpec, *, dry_run: bool) -> PreparedJob | JobRecord:
    """``ftrouter submit`` (``--dry-run``): the same checks, the same ``JobService`` calls."""
    existing_file(spec.data, "data")
    if spec.val is not None:
        existing_file(spec.val, "val")
    if dry_run:
        return service.plan(spec)
    return service.submit(spec)


def prepare_eval(request: EvalRequest) -> PreparedEval:
    """``ftrouter eval``'s checks, through the same function: options, the eval file (FILE:LINE errors),
    model specs and their credentials — everything that can fail before a model is asked."""
    from ftrouter.eval.session import need_extra, prepare

    data = existing_file(request.data, "data")
    need_extra()
    return prepare(data, request.models, request.metrics, limit=request.limit, concurrency=request.concurrency,
                   judge=request.judge)


# -- uploaded files --------------------------------------------------------------------------------

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def uploads_dir() -> Path:
    return ftrouter_home() / "uploads"


def safe_name(filename: str | None, default: str) -> str:
    """A file name from a client, reduced to a harmless basename (no path, no odd characters)."""
    base = Path((filename or "").replace("\\", "/")).name
    cleaned = _SAFE.sub("_", base).strip("._")[:100]
    return cleaned or default


def new_upload_folder() -> Path:
    folder = uploads_dir() / secrets.token_hex(8)
    folder.mkdir(parents=True, exist_ok=False)
    return folder


def remove_upload_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
