"""Job commands: ``submit``, ``status``, ``jobs`` (and ``jobs rm``), ``events``, ``cancel``, ``pause``, ``resume``.

Backend-neutral: flags become a ``JobSpec`` (backend-specific settings go through ``--option
KEY=VALUE`` into ``JobSpec.options``); the work happens in ``ftrouter.jobs.service`` and the
rendering in ``ftrouter.jobs.view``. Errors are raised as ``ftrouter.errors`` types and turned into
exit codes by ``ftrouter.cli.app``.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ftrouter.errors import BackendError, FtrouterError, JobFailed, UsageError

if TYPE_CHECKING:
    from ftrouter.jobs.models import JobEvent, JobSpec, PreparedJob
    from ftrouter.jobs.record import JobRecord
    from ftrouter.jobs.service import JobService

JSON_HELP = "Print machine-readable JSON instead of a table."


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.command("submit")(submit)
    app.command("status")(status)
    jobs_app = typer.Typer(help="List jobs (unfinished ones are refreshed from their backends, concurrently).",
                           rich_markup_mode="rich")
    jobs_app.callback(invoke_without_command=True)(jobs)
    jobs_app.command("rm")(rm)
    app.add_typer(jobs_app, name="jobs")
    app.command("events")(events)
    app.command("cancel")(cancel)
    app.command("pause")(pause)
    app.command("resume")(resume)


# -- helpers --------------------------------------------------------------------------------------


def _service(*, read_only: bool = False) -> JobService:
    """``read_only``: a command that only shows what is stored (``--offline``) opens the registry without
    write access, so it works on a read-only or full disk."""
    from ftrouter.jobs.registry import Registry
    from ftrouter.jobs.service import JobService

    _setup_logging()
    return JobService(Registry(read_only=read_only))


def _setup_logging() -> None:
    from ftrouter.redact import RedactingFilter

    logger = logging.getLogger("ftrouter")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("ftrouter: %(message)s"))
        handler.addFilter(RedactingFilter())  # a provider's words in a log line can echo a key
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
        logger.propagate = False


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _print(renderable: Any) -> None:
    from ftrouter.jobs.view import make_console

    make_console().print(renderable)


def _warn(message: str) -> None:
    from ftrouter.redact import redact

    typer.echo(f"ftrouter: warning: {redact(message)}", err=True)


def _warn_about(prepared: PreparedJob) -> None:
    from ftrouter.jobs.view import distinct_warnings

    for message in distinct_warnings(prepared.warnings):
        _warn(message)


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``--option KEY=VALUE`` pairs; VALUE is read as JSON when it parses (numbers, true, lists)."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--option {pair!r}: expected KEY=VALUE", code="bad_option")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        options[key.strip()] = value
    return options


# JobSpec fields whose flag is not simply the field name with dashes.
_FLAG_FOR = {"learning_rate_multiplier": "--lr-multiplier"}


def build_spec(fields: dict[str, Any], hyperparameters: dict[str, Any]) -> JobSpec:
    """A ``JobSpec`` from flag values; a bad value is a usage error naming the flag."""
    from pydantic import ValidationError

    from ftrouter.jobs.models import JobSpec

    raw = {k: v for k, v in fields.items() if v is not None}
    raw["hyperparameters"] = {k: v for k, v in hyperparameters.items() if v is not None}
    try:
        return JobSpec.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"] if part != "hyperparameters")
        flag = _FLAG_FOR.get(where, "--" + where.replace("_", "-"))
        raise UsageError(f"{flag}: {first['msg']}", code="bad_flag") from exc


def _finish(record: JobRecord) -> None:
    """Exit status of a watched job: 0 when it succeeded, a ``JobFailed`` error otherwise."""
    from ftrouter.jobs.models import JobState

    if record.state is JobState.SUCCEEDED:
        return
    reason = f": {record.error.message}" if record.error else ""
    code = "job_cancelled" if record.state is JobState.CANCELLED else "job_failed"
    raise JobFailed(f"job {record.id} {record.state.value}{reason}", code=code)


def _watch(service: JobService, job: str, *, json_out: bool, interval: float | None) -> JobRecord:
    from ftrouter.jobs.polling import PollSchedule
    from ftrouter.jobs.view import make_console, watch_line, watch_view

    schedule = PollSchedule(initial_s=interval) if interval else PollSchedule()
    console = make_console(stderr=json_out)
    seen: list[JobEvent] = service.registry.events(service.registry.get(job).id)
    if console.is_terminal:
        from rich.live import Live

        with Live(console=console, refresh_per_second=4, transient=False) as live:
            def show(record: JobRecord, new_events: list[JobEvent]) -> None:
                seen.extend(new_events)
                live.update(watch_view(record, seen))

            return service.watch(job, show, schedule)

    last_line = ""

    def print_line(record: JobRecord, new_events: list[JobEvent]) -> None:
        nonlocal last_line
        for event in new_events:
            console.print(f"{event.created_at:%H:%M:%S} {event.level}: {event.message}", soft_wrap=True)
        line = watch_line(record)
        if line != last_line:
            console.print(line, soft_wrap=True)
            last_line = line

    return service.watch(job, print_line, schedule)


# -- commands -------------------------------------------------------------------------------------


def _options(pairs: list[str], **shortcuts: object) -> dict[str, object]:
    """``--option KEY=VALUE`` pairs plus the shortcut flags that stand for common options."""
    options: dict[str, object] = dict(parse_options(pairs))
    options.update({key: value for key, value in shortcuts.items() if value is not None})
    return options


# formats whose examples are preference pairs: `submit` without --method trains them with dpo, as
# `data validate` judges them (one rule, so the two cannot disagree)
PREFERENCE_FORMATS = frozenset({"dpo", "trl-preference"})


def _method_of(data: Path) -> str:
    from ftrouter.data.reader import sniff_format

    return "dpo" if sniff_format(data) in PREFERENCE_FORMATS else "sft"


def submit(
    backend: str = typer.Option(..., "--backend", "-b", help="openai, vertex, local, together, or a plugin's name."),
    data: Path = typer.Option(..., "--data", help="Training data (JSONL in any format ftrouter reads)."),
    model: str = typer.Option(..., "--model", "-m", help="Base model to fine-tune."),
    val: Path | None = typer.Option(None, "--val", help="Validation data (JSONL)."),
    method: str | None = typer.Option(None, "--method", help="sft (supervised) or dpo (preference pairs); "
                                      "default: what the data holds (dpo for preference pairs, else sft)."),
    adapter: str | None = typer.Option(None, "--adapter", help="lora, qlora or full (self-managed backends)."),
    epochs: int | None = typer.Option(None, "--epochs", help="Passes over the data (default: the backend's)."),
    lr_multiplier: float | None = typer.Option(None, "--lr-multiplier", help="Learning-rate multiplier (OpenAI)."),
    learning_rate: float | None = typer.Option(None, "--learning-rate", help="Absolute learning rate (local)."),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Examples per batch."),
    beta: float | None = typer.Option(None, "--beta", help="DPO beta."),
    lora_r: int | None = typer.Option(None, "--lora-r", help="LoRA rank."),
    lora_alpha: int | None = typer.Option(None, "--lora-alpha", help="LoRA alpha."),
    max_length: int | None = typer.Option(None, "--max-length", help="Max tokens per example (local)."),
    max_steps: int | None = typer.Option(None, "--max-steps", help="Stop after this many steps (local)."),
    suffix: str | None = typer.Option(None, "--suffix", help="Added to the fine-tuned model's name."),
    seed: int | None = typer.Option(None, "--seed", help="Training seed."),
    gpus: int | None = typer.Option(None, "--gpus", min=1, help="GPUs to train on (local; same as --option gpus=N)."),
    recipe: str | None = typer.Option(None, "--recipe", help="Training recipe name or file (local; --option recipe=)."),
    on_long: str | None = typer.Option(
        None, "--on-long", help="Local: examples longer than --max-length: truncate (default; refuses when over 5% "
        "would be dropped), drop, or error (--option on_long=)."),
    trust_remote_code: bool = typer.Option(
        False, "--trust-remote-code", help="Local: run the model's own Python code (only from this flag; a recipe "
        "cannot turn it on)."),
    task: str | None = typer.Option(None, "--task", help="Local: sft (default), classification, multi-label, "
                                    "pair-classification, token-classification or embedding (--option task=)."),
    option: list[str] = typer.Option([], "--option", help="Backend-specific KEY=VALUE (repeatable)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate, convert, estimate, show requests; send nothing."),
    wait: bool = typer.Option(False, "--wait", help="Watch the job until it ends (exit code reflects the result)."),
    interval: float | None = typer.Option(None, "--interval", help="First polling interval in seconds with --wait."),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Prepare a fine-tuning job and submit it to a backend (or show the plan with --dry-run)."""
    if not data.is_file():
        raise UsageError("no such file", path=data, code="file_not_found")
    if val is not None and not val.is_file():
        raise UsageError("no such file", path=val, code="file_not_found")
    spec = build_spec(
        {"backend": backend, "model": model, "data": str(data), "val": str(val) if val else None,
         "method": method or _method_of(data), "adapter": adapter, "suffix": suffix, "seed": seed,
         "options": _options(option, gpus=gpus, recipe=recipe, on_long=on_long,
                             trust_remote_code=trust_remote_code or None, task=task)},
        {"epochs": epochs, "learning_rate_multiplier": lr_multiplier, "learning_rate": learning_rate,
         "batch_size": batch_size, "beta": beta, "lora_r": lora_r, "lora_alpha": lora_alpha,
         "max_length": max_length, "max_steps": max_steps})
    service = _service()
    if dry_run:
        prepared = service.plan(spec)
        if json_out:
            _print_json({**prepared.model_dump(mode="json"), **_data_checks([prepared])})
        else:
            from ftrouter.jobs.view import plan

            _print(plan(prepared))
        return
    seen: list[PreparedJob] = []

    def on_prepared(prepared: PreparedJob) -> None:
        seen.append(prepared)
        _warn_about(prepared)

    record = service.submit(spec, on_prepared=on_prepared)
    if not json_out:
        typer.echo(f"submitted {record.id} to {record.backend} as {record.remote_id}")
    if wait:
        record = _watch(service, record.id, json_out=json_out, interval=interval)
    if json_out:
        _print_json({**record.to_json(), **_data_checks(seen)})
    if wait:
        _finish(record)


def _data_checks(prepared: list[PreparedJob]) -> dict[str, Any]:
    """What prepare found in the data that the record does not keep (the long-example count)."""
    found = prepared[0].stats.get("over_max_length") if prepared else None
    return {"over_max_length": found} if found is not None else {}


def status(
    job: str = typer.Argument(..., help="Local job id (ftr-...) or the backend's job id."),
    watch: bool = typer.Option(False, "--watch", "-w", help="Follow the job live until it ends."),
    offline: bool = typer.Option(False, "--offline", help="Show the last known state; ask no backend."),
    interval: float | None = typer.Option(None, "--interval", help="First polling interval in seconds (--watch)."),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Show a job's state, progress, metrics and result (refreshed from its backend)."""
    service = _service(read_only=offline and not watch)
    if watch:
        record = _watch(service, job, json_out=json_out, interval=interval)
        if json_out:
            _print_json(record.to_json())
        _finish(record)
        return
    record = service.registry.get(job)
    failure: FtrouterError | None = None
    if not offline:
        try:
            record = service.refresh(record)[0]
        except BackendError as exc:
            failure = exc
            record = service.note_refresh_error(record.id, exc)
    if json_out:
        _print_json(record.to_json())
    else:
        from ftrouter.jobs.view import record_detail

        _print(record_detail(record))
    if failure is not None:
        raise failure


def jobs(
    ctx: typer.Context,
    include_all: bool = typer.Option(False, "--all", "-a", help="Every job, not only unfinished and recent ones."),
    offline: bool = typer.Option(False, "--offline", help="Show the last known states; ask no backend."),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List jobs (unfinished ones are refreshed from their backends, concurrently); `jobs rm` forgets some."""
    if ctx.invoked_subcommand is not None:
        return
    service = _service(read_only=offline)
    records = service.registry.list_jobs(include_all=include_all)
    if not offline:
        records = service.refresh_many(records)
    if json_out:
        _print_json([record.to_json() for record in records])
        return
    if not records:
        typer.echo("No jobs yet. Start one with: ftrouter submit --backend B --data FILE --model M")
        return
    from ftrouter.jobs.view import jobs_table

    _print(jobs_table(records))
    for record in records:
        if record.refresh_error:
            _warn(f"{record.id}: could not refresh: {record.refresh_error}")


def _interactive() -> bool:
    return sys.stdin.isatty()


def rm(
    job_ids: list[str] = typer.Argument(..., metavar="JOB...", help="Local job ids (ftr-...) or backend job ids."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (needed without a terminal)."),
    force: bool = typer.Option(False, "--force", help="Also forget jobs that have not ended (nothing is cancelled)."),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Forget ended jobs: registry rows and job folders (a local job's adapter too); asks first."""
    service = _service()
    records = {record.id: record for record in (service.removable(job, force=force) for job in job_ids)}
    if not yes:
        if not _interactive():
            raise UsageError("jobs rm deletes registry rows and job files: pass --yes to confirm (no terminal to "
                             "ask on)", code="confirmation_needed")
        for record in records.values():
            typer.echo(f"  {record.id}  {record.backend}  {record.state.value}  "
                       f"{service.job_folder(record.id)}", err=True)
        if not typer.confirm(f"Remove {len(records)} job(s) and their files?", err=True):
            raise UsageError("nothing was removed", code="not_confirmed")
    for record in records.values():
        service.remove(record)
    if json_out:
        _print_json({"removed": list(records)})
    else:
        for local_id in records:
            typer.echo(f"removed {local_id}")


def events(
    job: str = typer.Argument(..., help="Local job id (ftr-...) or the backend's job id."),
    offline: bool = typer.Option(False, "--offline", help="Show the stored events; ask no backend."),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Show a job's events (training messages, metrics, state changes), oldest first."""
    service = _service(read_only=offline)
    record = service.registry.get(job)
    failure: FtrouterError | None = None
    if not offline:
        try:
            record = service.pull_events(record.id)[0]
        except BackendError as exc:
            failure = exc
            if not json_out:  # under --json the error itself follows, as JSON
                _warn(f"could not fetch new events, showing the stored ones: {exc}")
    stored = service.registry.events(record.id)
    if json_out:
        _print_json([event.model_dump(mode="json") for event in stored])
    elif stored:
        from ftrouter.jobs.view import events_table

        _print(events_table(stored))
    else:
        typer.echo(f"No events for {record.id} yet.")
    if failure is not None:
        raise failure


def _act(action: str, job: str, json_out: bool) -> None:
    service = _service()
    record = getattr(service, action)(job)
    if json_out:
        _print_json(record.to_json())
        return
    from ftrouter.jobs.view import record_detail

    _print(record_detail(record))


def cancel(
    job: str = typer.Argument(..., help="Local job id (ftr-...) or the backend's job id."),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Cancel a job at its backend."""
    _act("cancel", job, json_out)


def pause(
    job: str = typer.Argument(..., help="Local job id (ftr-...) or the backend's job id."),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Pause a running job (backends that support it, e.g. OpenAI)."""
    _act("pause", job, json_out)


def resume(
    job: str = typer.Argument(..., help="Local job id (ftr-...) or the backend's job id."),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Resume a paused or interrupted job (backends that implement ``resume``)."""
    _act("resume", job, json_out)
