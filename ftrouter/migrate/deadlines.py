"""When an OpenAI fine-tune stops being usable: the last day new jobs can be created, the day the
fine-tuned model shuts down, and the days left until then.

Dates come from the model catalog (``training_available_until``, ``shutdown_date``; fine-tuned models
follow their base snapshot's shutdown), and a ``shutdown_date`` that ``GET /v1/models/{id}`` returned
for the fine-tuned model itself wins over the catalog when it is known (OpenAI documents the field as
the programmatic check).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ftrouter.catalog import find_model
from ftrouter.profiles import has_service_deadline


@dataclass(frozen=True)
class Deadlines:
    new_jobs_until: date | None  # no new fine-tuning jobs on this base model after this day
    shuts_down_on: date | None  # the fine-tuned model stops serving
    source: str  # where shuts_down_on came from: "models API", "catalog" or "unknown"

    def days_left(self, today: date | None = None) -> int | None:
        """Days until the shutdown (negative once past it); None when no date is known."""
        if self.shuts_down_on is None:
            return None
        return (self.shuts_down_on - (today or utc_today())).days

    def as_dict(self, today: date | None = None) -> dict[str, Any]:
        return {"new_jobs_until": _iso(self.new_jobs_until), "shuts_down_on": _iso(self.shuts_down_on),
                "days_left": self.days_left(today), "shutdown_source": self.source}


def utc_today() -> date:
    return datetime.now(UTC).date()


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _parse(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def deadlines_for(model: str, reported_shutdown: Any = None) -> Deadlines:
    """Deadlines of a base or fine-tuned OpenAI model (``ft:gpt-4.1-mini-...:org:suffix:id`` works)."""
    entry = find_model(model)
    catalog_shutdown = entry.shutdown_date if entry else None
    reported = _parse(reported_shutdown)
    if reported is not None:
        shutdown, source = reported, "models API"
    elif catalog_shutdown is not None:
        shutdown, source = catalog_shutdown, "catalog"
    else:
        shutdown, source = None, "unknown"
    return Deadlines(new_jobs_until=entry.training_available_until if entry else None, shuts_down_on=shutdown,
                     source=source)


def record_deadlines(record: Any) -> Deadlines | None:
    """Deadlines of a registry job when its backend's models have a published shutdown (its profile's
    ``service_deadline``: OpenAI's, imported or submitted); else None."""
    if not has_service_deadline(str(getattr(record, "backend", ""))):
        return None
    return deadlines_for(record.spec.model, record.ref_extra.get("shutdown_date"))
