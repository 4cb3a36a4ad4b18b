"""The HTTP face of ``ftrouter.errors``: one table from error type to status, one JSON shape.

Every error answer is ``{"error": {"code": ..., "message": ...}}`` with the code the CLI would print.
The status follows the CLI's exit code (usage 2 -> 400, invalid input 1 -> 422, provider 3 -> 502,
credentials 4 -> 403) with a few types more precise; nothing ever answers with a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ftrouter import errors as e

log = logging.getLogger("ftrouter.serve")

# Most specific first: the first type the error is an instance of decides.
_STATUS: tuple[tuple[type[e.FtrouterError], int], ...] = (
    (e.JobNotFound, 404),
    (e.NotFound, 404),
    (e.RegistryError, 503),
    (e.RateLimited, 429),
    (e.AuthError, 403),  # the server's provider credentials; 401 is kept for this API's own token
    (e.InvalidRequest, 422),
    (e.BackendError, 502),
    (e.UsageError, 400),
    (e.DataError, 422),
)
_BY_EXIT = {e.EXIT_INVALID: 422, e.EXIT_USAGE: 400, e.EXIT_PROVIDER: 502, e.EXIT_AUTH: 403}


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


_BY_CODE = {"run_not_found": 404,  # an unknown eval run is a UsageError to the CLI (exit 2), 404 here
            "service_stopped": 503, "internal_error": 500}


def status_for(exc: e.FtrouterError) -> int:
    if exc.code in _BY_CODE:
        return _BY_CODE[exc.code]
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return _BY_EXIT.get(exc.exit_code, 400)


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None,
                   **extra: Any) -> JSONResponse:
    return JSONResponse(error_body(code, message, **extra), status_code=status, headers=headers)


def ftrouter_error_response(exc: e.FtrouterError) -> JSONResponse:
    headers = None
    if isinstance(exc, e.RateLimited) and exc.retry_after is not None:
        headers = {"Retry-After": str(max(0, round(exc.retry_after)))}
    extra = {"path": exc.path, "line": exc.line} if exc.path else {}
    return error_response(status_for(exc), exc.code, str(exc) if exc.path else exc.message, headers, **extra)


def _validation_message(exc: RequestValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the JSON error shape."""

    async def on_ftrouter(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, e.FtrouterError)
        return ftrouter_error_response(exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, "invalid_request", _validation_message(exc))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    async def on_too_large(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BodyTooLarge)
        return error_response(413, "body_too_large", f"request body larger than {exc.limit:,} bytes")

    async def on_other(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
        return error_response(500, "internal_error", f"internal error: {type(exc).__name__}")

    app.add_exception_handler(e.FtrouterError, on_ftrouter)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(BodyTooLarge, on_too_large)
    app.add_exception_handler(Exception, on_other)
