"""``create_app``: the FastAPI application — API routes, dashboard, error handlers, body limits,
and the background poller started and stopped with the app's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from ftrouter import __version__
from ftrouter.jobs.service import JobService
from ftrouter.serve import api, dashboard, errors, eval_routes
from ftrouter.serve.auth import new_form_secret
from ftrouter.serve.evals import EvalRunner
from ftrouter.serve.limits import BodyLimit, HostCheck
from ftrouter.serve.poller import Poller
from ftrouter.serve.schemas import SubmitRequest
from ftrouter.serve.settings import ServeSettings

DESCRIPTION = ("ftrouter's HTTP API: the same operations and JSON as the CLI's `--json` output. "
               "Send `Authorization: Bearer <FTROUTER_API_TOKEN>` when the service has a token. "
               "Errors are `{\"error\": {\"code\", \"message\"}}`.")


def create_app(settings: ServeSettings | None = None, service: JobService | None = None,
               poller: Poller | None = None) -> FastAPI:
    """The service over ``service`` (default: the registry under FTROUTER_HOME). The poller runs while
    the app does when ``settings.poll``; pass one to control its schedule."""
    settings = settings or ServeSettings.from_env()
    service = service or JobService()
    if poller is None and settings.poll:
        poller = Poller(service)
    evals = EvalRunner(settings.eval_workers, settings.max_pending_evals)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if poller is not None and settings.poll:
            poller.start()
        try:
            yield
        finally:
            if poller is not None:
                poller.stop()
            evals.shutdown()

    # No /docs or /redoc: FastAPI serves them with scripts from a CDN, and these machines are offline.
    app = FastAPI(title="ftrouter", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.service = service
    app.state.poller = poller
    app.state.evals = evals
    app.state.form_secret = new_form_secret()
    errors.install(app)
    app.include_router(api.public)
    app.include_router(api.api)
    app.include_router(eval_routes.router)
    app.include_router(dashboard.pages)
    app.add_middleware(BodyLimit, max_json_bytes=settings.max_json_bytes,
                       max_upload_bytes=settings.max_upload_bytes)
    if settings.allowed_hosts:
        app.add_middleware(HostCheck, allowed=settings.allowed_hosts)
    _document_submit_body(app)
    return app


def _document_submit_body(app: FastAPI) -> None:
    """POST /v1/jobs and /v1/evals read JSON or multipart themselves; put their JSON schemas into the
    generated OpenAPI."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            body = SubmitRequest.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(body.pop("$defs", {}))
            components["SubmitRequest"] = body
            components.update(eval_routes.openapi_components())
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
