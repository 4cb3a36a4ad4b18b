"""Who may call the service: a bearer token for the API, a cookie holding the same token for the
dashboard, and a per-process form secret that stops other web sites from posting to the dashboard.

Tokens are compared in constant time (``hmac.compare_digest``) so the comparison leaks nothing.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from starlette.exceptions import HTTPException

COOKIE = "ftrouter_token"


def same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def require_token(request: Request) -> None:
    """Dependency of every ``/v1`` route but ``/v1/health``: 401 unless the bearer token matches."""
    token: str | None = request.app.state.settings.token
    if token is None:
        return
    if not same(bearer(request), token):
        raise HTTPException(401, "missing or wrong bearer token (send 'Authorization: Bearer <FTROUTER_API_TOKEN>')",
                            headers={"WWW-Authenticate": "Bearer"})


def dashboard_allowed(request: Request) -> bool:
    token: str | None = request.app.state.settings.token
    if token is None:
        return True
    return same(request.cookies.get(COOKIE), token) or same(bearer(request), token)


def new_form_secret() -> str:
    return secrets.token_urlsafe(24)


def check_form_secret(request: Request, given: str | None) -> None:
    if not same(given, request.app.state.form_secret):
        raise HTTPException(403, "the form is stale or came from another site; reload the page")
