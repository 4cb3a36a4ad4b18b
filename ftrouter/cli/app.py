"""The root ``ftrouter`` command and the one place where errors become exit codes.

Command modules register themselves here; each one keeps heavy imports inside its functions so
``ftrouter --help`` stays fast (no torch, no provider SDK on this path).
"""

from __future__ import annotations

import json
import os
import sys

import typer
from typer.exceptions import TyperException

from ftrouter import __version__
from ftrouter.cli import advise, cost, data, jobs, migrate, serve
from ftrouter.cli import eval as eval_cli
from ftrouter.errors import FtrouterError, ProfileError

app = typer.Typer(
    name="ftrouter",
    help="Prompt, retrieve, or fine-tune? Decide, price it, and run the fine-tuning job.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ftrouter {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Prompt, retrieve, or fine-tune? Decide, price it, and run the fine-tuning job."""


data.register(app)
advise.register(app)
cost.register(app)
jobs.register(app)
migrate.register(app)
eval_cli.register(app)
serve.register(app)


def _debug() -> bool:
    return os.environ.get("FTROUTER_DEBUG", "") not in ("", "0")


def _wants_json(argv: list[str]) -> bool:
    """Whether the command line asks for ``--json`` (options end at ``--``)."""
    for arg in argv:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False


def _fail(message: str, *, code: str, exit_code: int, json_mode: bool, error: FtrouterError | None = None) -> None:
    """Report an error on stderr — one line, or under ``--json`` one JSON object — and exit.
    Every message passes through ``ftrouter.redact`` (a provider's words can echo a key)."""
    from ftrouter.redact import redact

    if json_mode:
        text = error.message if error is not None else message
        body: dict[str, object] = {"code": code, "message": redact(text), "exit_code": exit_code}
        if error is not None and error.path is not None:
            body["path"] = redact(error.path)
            if error.line is not None:
                body["line"] = error.line
        if isinstance(error, ProfileError) and len(error.problems) > 1:
            body["problems"] = error.problems_json()
        print(json.dumps({"error": body}, ensure_ascii=False), file=sys.stderr)
    else:
        for line in redact(message).splitlines() or [""]:  # an error listing several problems: one line each
            print(f"ftrouter: {line}", file=sys.stderr)
    sys.exit(exit_code)


def _quiet_broken_pipe() -> None:
    """The reader went away (``ftrouter jobs | head -1``): stop without a word, exit 1 (as typer does
    when the pipe breaks inside a command). Point stdout at /dev/null so the interpreter's final flush
    does not complain either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(1)


def _run(args: list[str], json_mode: bool) -> None:
    """Run the app. Under ``--json`` click's own usage errors are reported as JSON too."""
    if not json_mode:
        # standalone mode: typer prints its own usage errors (exit 2) and handles --help / Exit.
        app(args=args, prog_name="ftrouter")
        return
    try:
        result = app(args=args, prog_name="ftrouter", standalone_mode=False)
    except typer.Abort:
        _fail("interrupted", code="interrupted", exit_code=130, json_mode=True)
    except TyperException as exc:  # typer's click: a usage error (bad option, missing argument)
        _fail(exc.format_message(), code="usage", exit_code=getattr(exc, "exit_code", 2), json_mode=True)
    # non-standalone typer returns an explicit Exit's code (our commands return nothing else)
    sys.exit(result if isinstance(result, int) else 0)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, map errors to exit codes, never show a traceback
    unless FTROUTER_DEBUG=1. Under ``--json`` an error is one JSON object on stderr:
    ``{"error": {"code": ..., "message": ..., "exit_code": N}}`` (stdout keeps only results)."""
    args = list(sys.argv[1:] if argv is None else argv)
    json_mode = _wants_json(args)
    try:
        _run(args, json_mode)
    except FtrouterError as exc:
        if _debug():
            raise
        _fail(str(exc), code=exc.code, exit_code=exc.exit_code, json_mode=json_mode, error=exc)
    except KeyboardInterrupt:
        _fail("interrupted", code="interrupted", exit_code=130, json_mode=json_mode)
    except BrokenPipeError:
        _quiet_broken_pipe()
    except Exception as exc:  # the last line of defence: one line, not a traceback
        if _debug():
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} (set FTROUTER_DEBUG=1 for a traceback)",
              code="internal_error", exit_code=70, json_mode=json_mode)
