"""Human-readable rendering of jobs with rich: the dry-run plan, one job, the jobs table, events, and
the live view of ``status --watch``. Machine-readable output (``--json``) does not come through here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from ftrouter.jobs.models import JobEvent, JobState, PreparedJob
from ftrouter.jobs.record import JobRecord

STATE_STYLE = {
    JobState.SUBMITTING: "yellow", JobState.PENDING: "cyan", JobState.RUNNING: "blue", JobState.PAUSED: "magenta",
    JobState.SUCCEEDED: "green", JobState.FAILED: "red", JobState.CANCELLED: "dim", JobState.UNKNOWN: "yellow",
}


def state_text(state: JobState, raw: str | None = None) -> Text:
    label = state.value if not raw or raw == state.value else f"{state.value} ({raw})"
    return Text(label, style=STATE_STYLE.get(state, ""))


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _rows(table: Table, values: dict[str, Any], indent: str = "") -> None:
    for key, value in values.items():
        if value is None or value == {} or value == []:
            continue
        label = indent + key.replace("_", " ")
        if isinstance(value, dict) and not indent:
            table.add_row(label, "")
            _rows(table, value, indent + "  ")
        elif "usd" in key and isinstance(value, int | float) and not isinstance(value, bool):
            table.add_row(label, f"${value:,.4f}" if value < 1 else f"${value:,.2f}")
        else:
            table.add_row(label, Text(_value(value)))


def key_values(title: str, values: dict[str, Any]) -> RenderableType:
    table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    _rows(table, values)
    return Group(Text(title, style="bold underline"), table)


def _inline(values: dict[str, Any]) -> str:
    return " · ".join(f"{key} {_value(value)}" for key, value in values.items() if value is not None)


# -- submit --dry-run -----------------------------------------------------------------------------


def distinct_warnings(warnings: list[str]) -> list[str]:
    """Each warning once, in order; a repeated one says how often (a plan may repeat itself)."""
    from collections import Counter

    return [w if n == 1 else f"{w} ({n} times)" for w, n in Counter(warnings).items()]


def plan(prepared: PreparedJob) -> RenderableType:
    spec = prepared.spec
    task = spec.options.get("task")  # a local encoder task (classification, ...) trains no chat method
    what = str(task) if task not in (None, "sft") else spec.method
    parts: list[RenderableType] = [
        Text.assemble(("Dry run", "bold"), f": {spec.backend} · {spec.model} · {what}",
                      " — nothing was sent and no job was recorded."),
    ]
    if prepared.stats:
        parts.append(key_values("Converted data", prepared.stats))
    estimate = prepared.estimate.as_dict()
    if estimate:
        parts.append(key_values("Cost estimate", estimate))
    for warning in distinct_warnings(prepared.warnings):
        parts.append(Text(f"warning: {warning}", style="yellow", overflow="fold"))
    if prepared.requests:
        parts.append(Text("Requests submit would send", style="bold underline"))
    for number, request in enumerate(prepared.requests, start=1):
        inner: list[RenderableType] = [Text(request.note, style="dim")] if request.note else []
        if request.body is not None:
            text = request.body if isinstance(request.body, str) else json.dumps(request.body, indent=2)
            inner.append(Syntax(text, "json", word_wrap=True, background_color="default"))
        parts.append(Panel(Group(*inner), title=f"{number}. {request.method} {request.url}", title_align="left"))
    return Group(*parts)


# -- one job --------------------------------------------------------------------------------------


def _progress_text(record: JobRecord) -> str | None:
    return record.progress.describe() or None


def _eta_text(eta: datetime | None) -> str | None:
    if eta is None:
        return None
    seconds = int((eta - datetime.now(UTC)).total_seconds())
    if seconds <= 0:
        return eta.isoformat(timespec="seconds")
    hours, rest = divmod(seconds, 3600)
    return f"{eta.isoformat(timespec='seconds')} (in {hours}h{rest // 60:02d}m)"


def record_detail(record: JobRecord) -> RenderableType:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("job", f"{record.id} ({record.backend}" + (f" {record.remote_id})" if record.remote_id else ")"))
    table.add_row("state", state_text(record.state, record.raw_state))
    rows: dict[str, Any] = {
        "model": record.spec.model,
        "progress": _progress_text(record),
        "metrics": ", ".join(f"{k} {_value(v)}" for k, v in sorted(record.metrics.items())) or None,
        "eta": _eta_text(record.eta) if not record.terminal else None,
        "result": record.result.model_dump(exclude_none=True) if record.result else None,
        "error": f"{record.error.code or 'error'}: {record.error.message}" if record.error else None,
        "trained tokens": record.trained_tokens,
        "estimate": _short_estimate(record.estimate.as_dict()),
        "actual": _inline(record.actual) or None,
        "updated": record.updated_at.isoformat(timespec="seconds"),
    }
    for key, value in rows.items():
        if value is not None:
            table.add_row(key, Text(_value(value)))
    if record.refresh_error:
        table.add_row("stale", Text(f"last refresh failed: {record.refresh_error}", style="yellow"))
    return table


def _short_estimate(estimate: dict[str, Any]) -> str | None:
    if not estimate:
        return None
    keys = [k for k in estimate if ("usd" in k or "cost" in k or "tokens" in k or k in ("epochs", "hours"))
            and estimate[k] is not None]
    return ", ".join(f"{k} {_value(estimate[k])}" for k in keys[:5]) or None


def watch_view(record: JobRecord, recent_events: list[JobEvent]) -> RenderableType:
    parts: list[RenderableType] = [record_detail(record)]
    fraction = record.progress.fraction
    if fraction is not None:
        bar = Table.grid(padding=(0, 1))  # a grid row ends the line; a bare ProgressBar does not
        bar.add_row(ProgressBar(total=1.0, completed=fraction, width=50), f"{fraction:.0%}")
        parts.append(bar)
    if recent_events:
        parts.append(events_table(recent_events[-8:], title="latest events"))
    return Panel(Group(*parts), title=f"ftrouter status --watch {record.id}", title_align="left")


def watch_line(record: JobRecord) -> str:
    """The plain line printed per change when output is not a terminal."""
    bits = [record.id, record.state.value]
    if record.raw_state and record.raw_state != record.state.value:
        bits.append(f"({record.raw_state})")
    progress = _progress_text(record)
    if progress:
        bits.append(progress)
    if "train_loss" in record.metrics or "loss" in record.metrics:
        loss = record.metrics.get("train_loss", record.metrics.get("loss"))
        bits.append(f"loss {loss:.4g}")
    if record.error:
        bits.append(f"error: {record.error.message}")
    return " ".join(bits)


# -- lists ----------------------------------------------------------------------------------------


def jobs_table(records: list[JobRecord]) -> Table:
    table = Table(title=None)
    table.add_column("job", no_wrap=True)
    table.add_column("backend", no_wrap=True)
    table.add_column("state", no_wrap=True)
    for column in ("model", "progress", "result / error"):
        table.add_column(column, overflow="fold")
    table.add_column("created", no_wrap=True)
    deadline_column = any(_has_deadline(record.backend) for record in records)
    if deadline_column:
        table.add_column("days left", no_wrap=True)  # until the OpenAI fine-tune shuts down
    for record in records:
        outcome = ""
        if record.result and record.result.model_id:
            outcome = record.result.model_id
        elif record.result and record.result.adapter_path:
            outcome = record.result.adapter_path
        elif record.error:
            outcome = record.error.message.splitlines()[0]  # the rest (a log tail) is for `status`
        if record.refresh_error:
            outcome = (outcome + " " if outcome else "") + "(stale: last refresh failed)"
        cells: list[RenderableType] = [
            record.id, record.backend, state_text(record.state, record.raw_state), Text(record.spec.model),
            _progress_text(record) or "", Text(outcome), record.created_at.strftime("%m-%d %H:%M")]
        if deadline_column:
            cells.append(_days_left_text(record))
        table.add_row(*cells)
    return table


def _has_deadline(backend: str) -> bool:
    """Whether ``backend``'s fine-tuned models have a published shutdown (its profile says)."""
    from ftrouter.errors import PluginMissing, UnknownName
    from ftrouter.profiles import profile_for

    try:
        return profile_for(backend).service_deadline
    except (UnknownName, PluginMissing):
        return False


def _days_left_text(record: JobRecord) -> Text:
    from ftrouter.migrate.deadlines import record_deadlines

    deadlines = record_deadlines(record)
    days = deadlines.days_left() if deadlines else None
    if days is None:
        return Text("")
    style = "red" if days <= 14 else "yellow" if days <= 60 else ""
    return Text("shut down" if days < 0 else f"{days}d", style=style)


def events_table(events: list[JobEvent], *, title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left", box=None, pad_edge=False)
    table.add_column("time", style="dim", no_wrap=True)
    table.add_column("level")
    table.add_column("message", overflow="fold")
    styles = {"warning": "yellow", "error": "red"}
    for event in events:
        table.add_row(event.created_at.strftime("%Y-%m-%d %H:%M:%S"), Text(event.level, style=styles.get(event.level,
                      "")), Text(event.message))
    return table


def make_console(*, stderr: bool = False) -> Console:
    """The CLI's safe console (no markup or emoji interpretation), wide when piped."""
    from ftrouter.cli.console import make_console as safe_console

    return safe_console(stderr=stderr)
