"""Running the app under uvicorn: one place for the server options (the CLI and the benchmark use it)."""

from __future__ import annotations

from ftrouter.serve.settings import ServeSettings

# Longer than clients' usual keep-alive expiry (httpx: 5 s), so a client never reuses a connection the
# server has just closed (a ReadError under load with uvicorn's default of 5 s).
KEEP_ALIVE_S = 30


def run(settings: ServeSettings, host: str, port: int) -> None:
    import uvicorn

    from ftrouter.serve.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", access_log=False,
                timeout_keep_alive=KEEP_ALIVE_S)
