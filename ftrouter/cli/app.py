"""The root ``ftrouter`` command and the one place where errors become exit codes.

Command modules register themselves here; each one keeps heavy imports inside its functions so
``ftrouter --help`` stays fast (no torch, no provider SDK on this path).
"""

from __future__ import annotations

import os
import sys

import typer

from ftrouter import __version__
from ftrouter.cli import advise, cost, data, jobs, serve
from ftrouter.errors import FtrouterError

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
serve.register(app)


def _debug() -> bool:
    return os.environ.get("FTROUTER_DEBUG", "") not in ("", "0")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, map errors to exit codes, never show a traceback
    unless FTROUTER_DEBUG=1."""
    try:
        # standalone mode: typer prints its own usage errors (exit 2) and handles --help / Exit.
        app(args=argv, prog_name="ftrouter")
    except FtrouterError as exc:
        if _debug():
            raise
        print(f"ftrouter: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("ftrouter: interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # the last line of defence: one line, not a traceback
        if _debug():
            raise
        print(f"ftrouter: internal error: {type(exc).__name__}: {exc} (set FTROUTER_DEBUG=1 for a traceback)",
              file=sys.stderr)
        sys.exit(70)
