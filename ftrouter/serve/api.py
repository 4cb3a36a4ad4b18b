"""The ``/v1`` JSON API. Each route is a thin call into ``ftrouter.serve.operations`` or the job
service, answering with the model the CLI prints with ``--json`` for the same operation.

Reads come from the registry; only the service's poller talks to backends about job state, so a
thousand clients watching a job cost its backend nothing extra.
"""

from __future__ import annotations

import json
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import anyio
import orjson
from fastapi import APIRouter, Body, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from ftrouter import __version__
from ftrouter.advise import Advice
from ftrouter.cost.compare import Comparison
from ftrouter.cost.report import EstimateReport
from ftrouter.errors import FtrouterError, UsageError
from ftrouter.jobs.models import JobEvent, JobSpec, PreparedJob
from ftrouter.jobs.polling import fingerprint
from ftrouter.jobs.record import JobRecord
from ftrouter.jobs.service import JobService
from ftrouter.serve import operations
from ftrouter.serve.auth import require_token
from ftrouter.serve.errors import error_body
from ftrouter.serve.schemas import CompareRequest, EstimateRequest, Health, SubmitRequest

public = APIRouter(prefix="/v1", tags=["service"])
api = APIRouter(prefix="/v1", dependencies=[Depends(require_token)], tags=["api"])

JOB_ACTIONS = ("cancel", "pause", "resume")
COMPARE_FORMATS = ("json", "html", "md", "csv")


class JSONBytes(Response):
    """JSON serialised with orjson (already a core dependency): fast for long job lists."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _service(request: Request) -> JobService:
    service: JobService = request.app.state.service
    return service


def _wake(request: Request, job_id: str) -> None:
    poller = request.app.state.poller
    if poller is not None:
        poller.wake(job_id)


@public.get("/health", response_model=Health, summary="Liveness; needs no token")
def health(request: Request) -> Health:
    poller = request.app.state.poller
    return Health(version=__version__, jobs=_service(request).registry.count(),
                  poller=bool(poller is not None and poller.running))


# -- advice and cost -------------------------------------------------------------------------------


@api.post("/advise", response_model=Advice, summary="ftrouter advise: the body is a task profile object")
def advise(profile: dict[str, Any] = Body(..., examples=[{"task": "invoice extraction", "task_type": "extraction"}]),
           data: str | None = None, data_format: str = "auto", model: str | None = None,
           today: date | None = None) -> Response:
    advice = operations.advise(profile, data=data, data_format=data_format, model=model, today=today)
    return JSONBytes(advice.model_dump(mode="json"))


@api.post("/estimate", response_model=EstimateReport, summary="ftrouter estimate")
def estimate(body: EstimateRequest) -> Response:
    return JSONBytes(operations.estimate(body).model_dump(mode="json"))


@api.post("/compare", response_model=Comparison, summary="ftrouter compare (?format=html|md|csv for reports)")
def compare(body: CompareRequest, format: str = "json") -> Response:
    from ftrouter.cost.render import comparison_text

    if format not in COMPARE_FORMATS:
        raise UsageError(f"unknown format {format!r} (one of {', '.join(COMPARE_FORMATS)})", code="unknown_name")
    comparison = operations.compare(body)
    if format == "json":
        return JSONBytes(comparison.model_dump(mode="json"))
    media = {"html": "text/html", "md": "text/markdown", "csv": "text/csv"}[format]
    return Response(comparison_text(comparison, format), media_type=f"{media}; charset=utf-8")


# -- jobs ------------------------------------------------------------------------------------------


@api.get("/jobs", response_model=list[JobRecord], summary="ftrouter jobs --offline (the poller keeps it fresh)")
def list_jobs(request: Request, all: bool = False) -> Response:
    records = _service(request).registry.list_jobs(include_all=all)
    return JSONBytes([record.to_json() for record in records])


SUBMIT_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/SubmitRequest"}},
        "multipart/form-data": {"schema": {
            "type": "object",
            "properties": {
                "spec": {"type": "string", "description": "a SubmitRequest as JSON; data and val may be left out "
                                                          "when they are uploaded"},
                "data": {"type": "string", "format": "binary", "description": "the training file"},
                "val": {"type": "string", "format": "binary", "description": "the validation file"},
            },
            "required": ["spec"],
        }},
    },
}


@api.post("/jobs", summary="ftrouter submit (dry_run: the plan only); data as a server path or an uploaded file",
          openapi_extra={"requestBody": SUBMIT_BODY},
          responses={200: {"description": "The plan (dry run, a PreparedJob) or the recorded job (a JobRecord)"}})
async def submit(request: Request) -> Response:
    body, folder = await read_body(request, SubmitRequest)
    try:
        spec = JobSpec.model_validate(body.model_dump(exclude={"dry_run"}))
        result = await run_in_threadpool(partial(operations.submit, _service(request), spec, dry_run=body.dry_run))
    except BaseException:
        if folder is not None:
            operations.remove_upload_folder(folder)
        raise
    if isinstance(result, PreparedJob):  # a dry run: the upload has served its purpose
        if folder is not None:
            operations.remove_upload_folder(folder)
        return JSONBytes(result.model_dump(mode="json"))
    _wake(request, result.id)
    return JSONBytes(result.to_json(), status_code=201)


Body_ = TypeVar("Body_", bound=BaseModel)


async def read_body(request: Request, model: type[Body_]) -> tuple[Body_, Path | None]:
    """A POST body as ``model``: JSON, or multipart with a ``spec`` field and uploaded ``data``/``val``
    files (then also the folder holding them; it is removed again when the body is invalid). An invalid
    body is answered like any other: 422 naming the field."""
    folder = None
    try:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            raw, folder = await _read_upload(request)
        else:
            raw = _json_object(await request.body())
        try:
            return model.model_validate(raw), folder
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from None
    except BaseException:
        if folder is not None:
            operations.remove_upload_folder(folder)
        raise


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"null")
    except ValueError as exc:
        raise UsageError(f"the body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(value, dict):
        raise UsageError("the body must be a JSON object (a job spec)", code="invalid_json")
    return value


async def _read_upload(request: Request) -> tuple[dict[str, Any], Path]:
    """The ``spec`` field of a multipart submit with the uploaded files saved under FTROUTER_HOME."""
    form = await request.form()
    spec_field = form.get("spec")
    raw = _json_object(spec_field.encode("utf-8") if isinstance(spec_field, str) else b"{}")
    folder = operations.new_upload_folder()
    try:
        for role in ("data", "val"):
            upload = form.get(role)
            if isinstance(upload, UploadFile):
                target = folder / f"{role}-{operations.safe_name(upload.filename, role + '.jsonl')}"
                await run_in_threadpool(_save, upload, target)
                raw[role] = str(target)
            elif upload is not None:
                raise UsageError(f"{role}: expected an uploaded file (or give a server path in spec)",
                                 code="bad_upload")
    except BaseException:
        operations.remove_upload_folder(folder)
        raise
    return raw, folder


def _save(upload: UploadFile, target: Path) -> None:
    import shutil

    with open(target, "wb") as out:
        shutil.copyfileobj(upload.file, out, 1024 * 1024)


@api.get("/jobs/{job}", response_model=JobRecord, summary="ftrouter status --offline")
def get_job(request: Request, job: str) -> Response:
    return JSONBytes(_service(request).registry.get(job).to_json())


def _act(request: Request, job: str, action: str) -> Response:
    record = getattr(_service(request), action)(job)
    _wake(request, record.id)
    return JSONBytes(record.to_json())


@api.post("/jobs/{job}/cancel", response_model=JobRecord, summary="ftrouter cancel")
def cancel(request: Request, job: str) -> Response:
    return _act(request, job, "cancel")


@api.post("/jobs/{job}/pause", response_model=JobRecord, summary="ftrouter pause")
def pause(request: Request, job: str) -> Response:
    return _act(request, job, "pause")


@api.post("/jobs/{job}/resume", response_model=JobRecord, summary="ftrouter resume")
def resume(request: Request, job: str) -> Response:
    return _act(request, job, "resume")


@api.get("/jobs/{job}/events", response_model=list[JobEvent],
         summary="ftrouter events; Server-Sent Events until the job ends with Accept: text/event-stream")
async def job_events(request: Request, job: str) -> Response:
    registry = _service(request).registry
    record = await run_in_threadpool(registry.get, job)
    if "text/event-stream" in request.headers.get("accept", ""):
        return StreamingResponse(_event_stream(request, record.id), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    stored = await run_in_threadpool(registry.events, record.id)
    return JSONBytes([event.model_dump(mode="json") for event in stored])


def _sse(event: str, data: Any, event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id else ""
    return (head + f"event: {event}\ndata: " + orjson.dumps(data).decode() + "\n\n").encode("utf-8")


async def _event_stream(request: Request, local_id: str) -> Any:
    """Stored events as they arrive, a ``status`` message when the job changes, ``end`` when it ends."""
    registry = _service(request).registry
    interval = request.app.state.settings.sse_interval_s
    sent: set[str] = set()
    last: tuple[object, ...] | None = None
    while True:
        try:
            record = await run_in_threadpool(registry.get, local_id)
            events = await run_in_threadpool(registry.events, local_id)
        except FtrouterError as exc:  # e.g. the job was removed while watched: say so and end the stream
            yield _sse("error", error_body(exc.code, exc.message)["error"])
            return
        for event in events:
            if event.id not in sent:
                sent.add(event.id)
                yield _sse("job-event", event.model_dump(mode="json"), event.id)
        if fingerprint(record) != last:
            last = fingerprint(record)
            yield _sse("status", record.to_json())
        if record.terminal:
            yield _sse("end", {"id": record.id, "state": record.state.value})
            return
        yield b": waiting\n\n"  # a comment: keeps proxies from closing an idle stream
        await anyio.sleep(interval)
