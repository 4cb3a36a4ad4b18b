"""How a service instance is configured, and the start-up check that keeps a tokenless service on loopback."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

from ftrouter.errors import UsageError

TOKEN_ENV = "FTROUTER_API_TOKEN"
MIB = 1024 * 1024


@dataclass(frozen=True)
class ServeSettings:
    token: str | None = None  # FTROUTER_API_TOKEN; None: no auth (loopback only)
    max_json_bytes: int = 1 * MIB  # any request body that is not a file upload
    max_upload_bytes: int = 256 * MIB  # multipart bodies (a training file sent with POST /v1/jobs)
    poll: bool = True  # run the background poller (tests turn it off and drive it by hand)
    sse_interval_s: float = 1.0  # how often an event stream re-reads the registry (reads only; no backend call)
    allowed_hosts: tuple[str, ...] = field(default=())  # Host headers accepted; () accepts any
    eval_workers: int = 2  # eval runs answered at once (each already sends its own concurrent requests)
    max_pending_evals: int = 16  # runs queued or running; more are refused with 429

    @classmethod
    def from_env(cls, **overrides: object) -> ServeSettings:
        token = os.environ.get(TOKEN_ENV) or None
        return cls(token=token, **overrides)  # type: ignore[arg-type]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token: anyone who can reach it could run jobs."""
    if not is_loopback(host) and not token:
        raise UsageError(f"refusing to listen on {host} without authentication: set {TOKEN_ENV} to a secret "
                         "token (clients then send 'Authorization: Bearer <token>'), or listen on 127.0.0.1",
                         code="token_required")


def loopback_hosts(host: str) -> tuple[str, ...]:
    """Host names a loopback service accepts (guards against DNS rebinding from a web page)."""
    return tuple(sorted({"127.0.0.1", "localhost", "[::1]", f"[{host}]" if ":" in host else host}))
