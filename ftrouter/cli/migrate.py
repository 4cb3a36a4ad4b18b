"""Moving off a closing provider: ``import`` (bring its jobs into the registry with their data) and
``migrate`` (rebuild an imported job on another backend). The work happens in ``ftrouter.jobs.imports``
and ``ftrouter.migrate``; provider code stays in its plugin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ftrouter.errors import FtrouterError, UsageError

if TYPE_CHECKING:
    from ftrouter.jobs.imports import RemoteJob
    from ftrouter.migrate.compare import MigrationEval
    from ftrouter.migrate.plan import MigrationPlan

JSON_HELP = "Print machine-readable JSON instead of a table."


def register(app: typer.Typer) -> None:
    from ftrouter.cli.record import record_command

    app.command("import")(import_jobs)
    app.command("record")(record_command)
    app.command("migrate")(migrate)


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
    from ftrouter.jobs.imports import importer_names
    from ftrouter.migrate.inventory import summary

    names = importer_names()
    if provider not in names:
        raise UsageError(f"ftrouter import {provider}: only {' or '.join(map(repr, names))} can be imported",
                         code="bad_argument")

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


def migrate(
    job: str = typer.Argument(..., help="The OpenAI job to move: ftr-... or ftjob-... (imported first)."),
    to: str = typer.Option(..., "--to", help="local, vertex, or a plugin backend's name."),
    model: str | None = typer.Option(None, "--model", "-m", help="Base model (default: suggested from the catalog)."),
    from_recorded: Path | None = typer.Option(None, "--from-recorded",
                                              help="Train on this file (recorded answers) instead of the job's data."),
    gpu: str | None = typer.Option(None, "--gpu", help="GPU kind the model must fit (local; catalog name)."),
    gpus: int = typer.Option(1, "--gpus", min=1, help="GPUs to train on (local)."),
    option: list[str] = typer.Option([], "--option", help="Backend-specific KEY=VALUE (repeatable)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan and the estimate; submit nothing."),
    wait: bool = typer.Option(False, "--wait", help="Watch the new job until training ends, then run the eval "
                              "comparing the old fine-tune with it on the held-out file."),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Rebuild an OpenAI fine-tune on another backend: data, method, mapped hyperparameters, a base
    model, the cost and the deadlines; then submit it and print the eval command that compares them
    (``--wait`` trains it and runs that eval)."""
    from ftrouter.cli.jobs import _finish, _service, _watch, parse_options
    from ftrouter.migrate.plan import MigrationRequest, build_plan, run_plan
    from ftrouter.profiles import plans_gpus

    options = parse_options(option)
    if plans_gpus(to) and gpus > 1:  # a backend that trains on your own GPUs takes a count
        options.setdefault("gpus", gpus)
    service = _service()
    record = service.registry.get(job)
    plan = build_plan(record, MigrationRequest(job=job, to=to, model=model, from_recorded=from_recorded, gpu=gpu,
                                               gpus=gpus, options=options))
    plan = run_plan(service, plan, dry_run=dry_run)  # prepare's warnings are in plan.notes
    if not json_out:
        _print_plan(plan, dry_run=dry_run)
    new_record = None
    if wait and plan.job:
        new_record = _watch(service, plan.job, json_out=json_out, interval=None)
    trained = new_record is not None and new_record.state.value == "succeeded"
    comparison, failure = _compare(plan) if trained else (None, None)
    if json_out:
        doc = plan.to_json()
        if trained:
            doc["eval"] = comparison.to_json() if comparison else ({"error": str(failure)} if failure else None)
        _print_json(doc)
    elif plan.eval_command and (new_record is None or trained):
        when = "Now" if trained else "Once it has trained"
        typer.echo(f"{when}, compare the old fine-tune with the new job on the held-out file:\n  {plan.eval_command}")
    if comparison is not None and not json_out:
        _print_comparison(comparison)
    if new_record is not None:
        _finish(new_record)
    if failure is not None:
        raise failure  # the job is trained and the plan printed; the exit code says the comparison failed


def _compare(plan: MigrationPlan) -> tuple[MigrationEval | None, FtrouterError | None]:
    """``--wait``: run the eval that ``plan.eval_command`` shows (nothing when there is no held-out file)."""
    from ftrouter.migrate.compare import compare_after_migration, old_model_spec

    if not plan.data.get("held_out") or not plan.job:
        _warn("no held-out file, so no comparison was run (see the plan's notes)")
        return None, None
    try:
        comparison = compare_after_migration(Path(plan.data["held_out"]), old_model_spec(plan.source), plan.job)
    except FtrouterError as exc:
        _warn(f"the new job {plan.job} has trained, but the comparison failed: {exc}")
        return None, exc
    for note in comparison.notes:
        _warn(note)
    return comparison, None


def _print_comparison(comparison: MigrationEval) -> None:
    from ftrouter.cli.eval import _emit

    _emit(comparison.record, iter(()), "table", None)  # the table `ftrouter eval` prints
    top = comparison.headline
    if top and top["delta"] is not None:
        typer.echo(f"{top['metric']}: new job {top['new']} vs old fine-tune {top['old']}, delta {top['delta']:+} "
                   f"(95% CI {top['ci95'][0]}..{top['ci95'][1]}, p={top['p_value']}); "
                   f"`ftrouter evals show {comparison.run}` for every example")


def _print_plan(plan: MigrationPlan, *, dry_run: bool) -> None:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from ftrouter.jobs.view import key_values, make_console

    table = Table(title="Mapping", title_justify="left")
    for column in ("param", "OpenAI", "new job", "why"):
        table.add_column(column, overflow="fold")
    for row in plan.mapping:
        table.add_row(row["param"], Text(json.dumps(row["from"])), Text(json.dumps(row["to"])), Text(row["why"]))
    parts: list[Any] = [key_values("Source", plan.source), key_values("Target", plan.target), table,
                        key_values("Data", plan.data), key_values("Deadlines", plan.deadlines)]
    if plan.estimate:
        parts.append(key_values("Cost estimate", plan.estimate))
    parts += [Text(f"note: {note}", style="yellow", overflow="fold") for note in plan.notes]
    if dry_run:
        parts.append(Text("Dry run: nothing was submitted.", style="bold"))
    else:
        parts.append(Text(f"submitted {plan.job} to {plan.target['backend']}", style="bold"))
    make_console().print(Group(*parts))
