"""What the dashboard shows about a job beyond its record: cost estimate against the actual cost,
days left at OpenAI (from the model catalog), checkpoints. Plain functions of a ``JobRecord``."""

from __future__ import annotations

from datetime import date
from typing import Any

from ftrouter.jobs.models import JobEvent
from ftrouter.jobs.record import JobRecord
from ftrouter.profiles import has_service_deadline

_USD_KEYS = ("cost_usd", "usd", "training_usd")


def _usd(values: dict[str, Any]) -> float | None:
    for key in _USD_KEYS:
        value = values.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def estimate_usd(record: JobRecord) -> float | None:
    return _usd(record.estimate.as_dict())  # also the keys a third-party backend may have used


def actual_usd(record: JobRecord) -> float | None:
    return _usd(record.actual)


def money(value: float | None) -> str:
    if value is None:
        return "—"
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def _number(values: dict[str, Any], key: str) -> float | None:
    value = values.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def estimate_text(record: JobRecord) -> str:
    """The submit-time estimate: cost, and time where the cost engine predicts one (local training)."""
    hours = record.estimate.hours
    parts = [money(estimate_usd(record))] + ([_duration(hours * 3600)] if hours is not None else [])
    return " · ".join(parts)


def actual_text(record: JobRecord) -> str:
    """What the ended job measured: cost where the provider bills by token, and the wall time."""
    seconds = _number(record.actual, "wall_time_s") or _number(record.actual, "elapsed_s")
    parts = [money(actual_usd(record))] + ([_duration(seconds)] if seconds is not None else [])
    return " · ".join(parts)


def days_left(record: JobRecord, today: date | None = None) -> str:
    """For jobs on a backend with a published shutdown (its profile's ``service_deadline``: OpenAI): days until
    the base model stops taking new fine-tuning jobs (while the job has not ended) or until it stops serving
    (after), from the catalog's dated rows; "" when unknown or for other backends."""
    if not has_service_deadline(record.backend):
        return ""
    from ftrouter.catalog import find_model

    entry = find_model(record.spec.model)
    if entry is None:
        return ""
    today = today or date.today()
    if not record.terminal and entry.training_available_until is not None:
        days = (entry.training_available_until - today).days
        return f"{days} days left to train (until {entry.training_available_until})" if days >= 0 else \
            f"training closed on {entry.training_available_until}"
    if entry.shutdown_date is not None:
        days = (entry.shutdown_date - today).days
        return f"serves {days} more days (until {entry.shutdown_date})" if days >= 0 else \
            f"shut down on {entry.shutdown_date}"
    return ""


def progress_text(record: JobRecord) -> str:
    return record.progress.describe()


def checkpoints(record: JobRecord, events: list[JobEvent]) -> list[str]:
    """Checkpoints named by the job's events, and the newest one in its result."""
    found = [str(event.data.get("path") or event.message) for event in events if event.type == "checkpoint"]
    if record.result and record.result.checkpoint and record.result.checkpoint not in found:
        found.append(record.result.checkpoint)
    return found
