"""Moving off a closing provider: ``import`` (bring its jobs into the registry with their data) and
``migrate`` (rebuild an imported job on another backend). The work happens in ``ftrouter.jobs.imports``
and ``ftrouter.migrate``; provider code stays in its plugin."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from ftrouter.errors import UsageError

if TYPE_CHECKING:
    from ftrouter.jobs.imports import RemoteJob

JSON_HELP = "Print machine-readable JSON instead of a table."


def register(app: typer.Typer) -> None:
    app.command("import")(import_jobs)


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _warn(message: str) -> None:
    typer.echo(f"ftrouter: warning: {message}", err=True)


def import_jobs(
    provider: str = typer.Argument(..., help="Where the jobs are: openai."),
    job: list[str] = typer.Option([], "--job", help="Import only this job (ftjob-...); repeatable."),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Import a provider's fine-tuning jobs into the registry and download their data, metrics,
    hyperparameters, events and checkpoints (running it again adds nothing)."""
    from ftrouter.cli.jobs import _service
    from ftrouter.jobs.imports import import_jobs as run_import
    from ftrouter.migrate.inventory import summary

    if provider != "openai":
        raise UsageError(f"ftrouter import {provider}: only 'openai' can be imported", code="bad_argument")

    def skipped(remote: RemoteJob) -> None:
        _warn(f"{remote.remote_id} not imported: {remote.skip}")

    outcomes = run_import(_service(), provider, job or None, on_skip=skipped)
    rows = [summary(outcome.record, new=outcome.new) for outcome in outcomes]
    if json_out:
        _print_json(rows)
    else:
        _print_table(rows)
    for row in rows:
        for problem in row["missing"] if row["new"] else []:
            _warn(f"{row['id']} ({row['remote_id']}) is missing its {problem}")


def _print_table(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table
    from rich.text import Text

    from ftrouter.jobs.view import make_console

    if not rows:
        typer.echo("No fine-tuning jobs to import.")
        return
    table = Table()
    for column in ("job", "remote id", "state", "fine-tuned model", "files", "days left", ""):
        table.add_column(column, overflow="fold")
    for row in rows:
        kept = [name for name, path in row["files"].items() if path]
        days = row["days_left"]
        table.add_row(row["id"], Text(str(row["remote_id"])), row["state"], Text(row["fine_tuned_model"] or "-"),
                      ", ".join(kept) or "none", "-" if days is None else f"{days} (to {row['shuts_down_on']})",
                      "imported" if row["new"] else "already imported")
    make_console().print(table)
    new = sum(1 for row in rows if row["new"])
    typer.echo(f"{new} job(s) imported, {len(rows) - new} already in the registry.")
