"""``ftrouter serve``: the HTTP API and web dashboard over the same library and job registry as the CLI.

A face like the CLI, never a second implementation: every route calls the functions the CLI commands
call (``ftrouter.advise``, ``ftrouter.cost.report``, ``ftrouter.jobs.service``) and answers with the
same pydantic models the CLI prints with ``--json``. FastAPI, uvicorn and jinja2 are an optional extra
(``pip install 'ftrouter[serve]'``) and are imported only when ``serve`` runs.
"""

from __future__ import annotations

from ftrouter.errors import PluginMissing

INSTALL_HINT = "pip install 'ftrouter[serve]'"


def require_serve_extra() -> None:
    """Fail with the install hint (exit 2) when the serve extra is missing."""
    import importlib.util

    missing = [name for name in ("fastapi", "uvicorn", "jinja2", "multipart")
               if importlib.util.find_spec(name) is None]
    if missing:
        raise PluginMissing(f"ftrouter serve needs {', '.join(missing)}, which is not installed: {INSTALL_HINT}")
