"""``ftrouter serve``: the HTTP API and dashboard (the ``serve`` extra). Thin: check the bind, build
the app, run uvicorn. FastAPI and uvicorn are imported only here, never by ``ftrouter --help``."""

from __future__ import annotations

import typer


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on. Anything but loopback needs "
                             "FTROUTER_API_TOKEN."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port."),
    max_upload_mb: int = typer.Option(256, "--max-upload-mb", min=1, help="Largest training file accepted by "
                                      "POST /v1/jobs, in MiB."),
    no_poll: bool = typer.Option(False, "--no-poll", help="Do not refresh active jobs in the background."),
) -> None:
    """Serve the HTTP API (/v1, /openapi.json) and the dashboard (/) over the local job registry."""
    from ftrouter.serve import require_serve_extra
    from ftrouter.serve.settings import MIB, ServeSettings, check_bind, is_loopback, loopback_hosts

    require_serve_extra()
    settings = ServeSettings.from_env(max_upload_bytes=max_upload_mb * MIB, poll=not no_poll,
                                      allowed_hosts=loopback_hosts(host) if is_loopback(host) else ())
    check_bind(host, settings.token)
    from ftrouter.serve.server import run

    typer.echo(f"ftrouter: serving on http://{host}:{port}/ (API schema at /openapi.json)", err=True)
    run(settings, host, port)


def register(app: typer.Typer) -> None:
    """Attach this module's command to the root app."""
    app.command("serve")(serve)
