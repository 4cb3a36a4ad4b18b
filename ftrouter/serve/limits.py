"""Guards in front of every route: request bodies are size-limited before any route reads them (a
declared Content-Length over the limit is refused at once, a chunked body is counted as it arrives),
and a loopback service answers only requests addressed to a loopback name (DNS rebinding)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ftrouter.serve.errors import BodyTooLarge, error_body


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_json_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_json_bytes = max_json_bytes
        self.max_upload_bytes = max_upload_bytes

    def _limit(self, scope: Scope) -> int:
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        return self.max_upload_bytes if content_type.startswith("multipart/form-data") else self.max_json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


class HostCheck:
    """Like Starlette's TrustedHostMiddleware, answering in this API's JSON error shape."""

    def __init__(self, app: ASGIApp, *, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = frozenset(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        host = _host_name(dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1"))
        if scope["type"] in ("http", "websocket") and host not in self.allowed:
            await _answer(send, 400, "bad_host", "this service answers only requests addressed to "
                          + ", ".join(sorted(self.allowed)))
            return
        await self.app(scope, receive, send)


def _host_name(header: str) -> str:
    """``name:port`` -> ``name``; an IPv6 address keeps its brackets (``[::1]:8000`` -> ``[::1]``)."""
    if header.startswith("["):
        return header[: header.find("]") + 1]
    return header.rsplit(":", 1)[0]


async def _refuse(send: Send, limit: int) -> None:
    await _answer(send, 413, "body_too_large", f"request body larger than {limit:,} bytes")


async def _answer(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(code, message)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
