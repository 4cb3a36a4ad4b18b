"""``/v1/evals``: start an eval run (in the background), list the stored runs, read one run.

The bodies are the CLI's: ``GET /v1/evals`` is ``ftrouter evals --json``, ``GET /v1/evals/{id}`` of a
finished run is ``ftrouter evals show RUN --json`` (``?format=html|md|csv`` for its reports). While a run
is queued or running, the same URL answers 202 with its progress; a failed run answers the error its
CLI run would have printed, with the status the other routes use for it.
"""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ftrouter.errors import UsageError
from ftrouter.serve import operations
from ftrouter.serve.api import JSONBytes, read_body
from ftrouter.serve.auth import require_token
from ftrouter.serve.errors import error_response, status_for
from ftrouter.serve.evals import EvalRunner, PendingRun, report_headers
from ftrouter.serve.schemas import EvalRequest, EvalStarted

router = APIRouter(prefix="/v1", dependencies=[Depends(require_token)], tags=["evals"])

REPORT_FORMATS = ("json", "html", "md", "csv")
POLL_AFTER_S = 2  # Retry-After on a 202: how soon a client may look again

EVAL_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/EvalRequest"}},
        "multipart/form-data": {"schema": {
            "type": "object",
            "properties": {
                "spec": {"type": "string", "description": "an EvalRequest as JSON; data may be left out when "
                                                          "it is uploaded"},
                "data": {"type": "string", "format": "binary", "description": "the eval set (JSONL)"},
            },
            "required": ["spec"],
        }},
    },
}


def runner(request: Request) -> EvalRunner:
    evals: EvalRunner = request.app.state.evals
    return evals


def accepted(run: PendingRun) -> Response:
    """202 with the run's id, state and progress, and where to follow it."""
    return JSONBytes(run.to_json(), status_code=202,
                     headers={"Location": f"/v1/evals/{quote(run.id)}", "Retry-After": str(POLL_AFTER_S)})


def pending_response(run: PendingRun) -> Response:
    """A run not stored yet: 202 with its progress, or its error once it failed."""
    if run.state == "failed" and run.error is not None:
        body = run.to_json()
        return error_response(status_for(run.error), body["error"]["code"], body["error"]["message"],
                              run=run.id, state=run.state)
    return accepted(run)


@router.post("/evals", status_code=202, response_model=EvalStarted, openapi_extra={"requestBody": EVAL_BODY},
             summary="ftrouter eval, in the background: 202 with the run id; poll GET /v1/evals/{id}")
async def start_eval(request: Request) -> Response:
    body, folder = await read_body(request, EvalRequest)
    try:
        # The eval file is read and every check made now, so bad input fails here and not in the background.
        prepared = await run_in_threadpool(partial(operations.prepare_eval, body))
        run = runner(request).start(prepared)
    except BaseException:
        if folder is not None:
            operations.remove_upload_folder(folder)
        raise
    # the run was accepted even if it has already failed in the background: GET reports how it ended
    return accepted(run)


@router.get("/evals", summary="ftrouter evals --json: stored runs, newest first")
def list_evals() -> Response:
    from ftrouter.eval.store import list_runs, listing

    return JSONBytes(listing(list_runs()))


@router.get("/evals/{run}", summary="ftrouter evals show RUN --json (?format=html|md|csv); 202 while running",
            responses={202: {"model": EvalStarted, "description": "The run is queued or running"}})
def get_eval(request: Request, run: str, format: str = "json") -> Response:
    from ftrouter.eval import render, store

    if format not in REPORT_FORMATS:
        raise UsageError(f"unknown format {format!r} (one of {', '.join(REPORT_FORMATS)})", code="unknown_name")
    pending = runner(request).get(run)
    if pending is not None:
        return pending_response(pending)
    record = store.load_run(run)
    if format == "json":
        return JSONBytes(record["summary"])
    if format == "html":
        return Response(render.render_html(record, store.iter_rows(record["id"])),
                        media_type="text/html; charset=utf-8", headers=report_headers())
    text = render.render_md(record) if format == "md" else render.render_csv(record)
    return Response(text, media_type=f"text/{'markdown' if format == 'md' else 'csv'}; charset=utf-8")


def openapi_components() -> dict[str, Any]:
    """The request body's schema for the generated OpenAPI (the route reads JSON or multipart itself)."""
    body = EvalRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    return {**body.pop("$defs", {}), "EvalRequest": body}
