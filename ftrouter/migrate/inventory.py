"""What ``ftrouter import --json`` prints for one imported job: where it came from, what it ran with,
which files were kept, and how long the fine-tuned model has left."""

from __future__ import annotations

from datetime import date
from typing import Any

from ftrouter.jobs.record import JobRecord
from ftrouter.migrate.deadlines import record_deadlines

_METHOD_NAMES = {"sft": "supervised", "dpo": "dpo"}


def summary(record: JobRecord, *, new: bool | None = None, today: date | None = None) -> dict[str, Any]:
    extra = record.ref_extra
    deadlines = record_deadlines(record)
    dates = deadlines.as_dict(today) if deadlines else {"new_jobs_until": None, "shuts_down_on": None,
                                                        "days_left": None, "shutdown_source": "unknown"}
    out: dict[str, Any] = {
        "id": record.id,
        "remote_id": record.remote_id,
        "state": record.state.value,
        "base_model": record.spec.model,
        "fine_tuned_model": extra.get("fine_tuned_model") or (record.result.model_id if record.result else None),
        "method": extra.get("openai_method") or _METHOD_NAMES.get(record.spec.method, record.spec.method),
        "hyperparameters": extra.get("hyperparameters") or record.spec.hyperparameters.model_dump(exclude_none=True),
        "trained_tokens": record.trained_tokens,
        "files": {"training": record.files.get("train"), "validation": record.files.get("val"),
                  "metrics": record.files.get("metrics")},
        **dates,
        "missing": list(extra.get("missing") or []),
    }
    if new is not None:
        out["new"] = new
    return out
