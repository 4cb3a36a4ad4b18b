"""``migrate --wait``: once the new job has trained, compare it with the old fine-tune on the held-out file.

The comparison is ``ftrouter eval --data HELD_OUT --model openai:OLD --model NEW_JOB`` run through the
eval engine (``ftrouter.eval.session.run_and_store``: the answer cache, concurrency, retries, a stored run).
The old fine-tune may be out of reach by then: no OpenAI key here, a revoked key, or a model already
shut down. That is said in a note, and the new job is still evaluated (alone, or next to an old model
that answered nothing), so the run records what the replacement does on the held-out file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftrouter.errors import AuthError, FtrouterError, PluginMissing, QuotaError


@dataclass
class MigrationEval:
    """What ``migrate --wait --json`` prints under ``eval``; ``record`` is the stored run (for the table)."""

    run: str
    models: list[str]
    headline: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run, "models": self.models, "headline": self.headline, "notes": self.notes}


def old_model_spec(source: dict[str, Any]) -> str:
    """The old fine-tune as an eval spec (its base model when the source job produced none)."""
    return f"openai:{source.get('fine_tuned_model') or source['base_model']}"


def _unreachable(old: str, exc: FtrouterError) -> str:
    return f"the old fine-tune {old} cannot be reached ({exc}); the new job is evaluated alone"


def _reachable(old: str) -> str | None:
    """None when ``old`` can be asked, else why not (credentials and the plugin are checked, nothing sent)."""
    from ftrouter.eval.specs import make_answerer, spec_for

    try:
        make_answerer(spec_for(old))
    except (AuthError, PluginMissing) as exc:
        return _unreachable(old, exc)
    return None


def compare_after_migration(held_out: Path, old: str, new_job: str) -> MigrationEval:
    """Evaluate ``old`` and ``new_job`` on ``held_out`` (``new_job`` alone when ``old`` is out of reach)."""
    from ftrouter.eval.session import run_and_store

    notes: list[str] = []
    why = _reachable(old)
    models = [new_job] if why else [old, new_job]
    if why:
        notes.append(why)
    try:
        record = run_and_store(held_out, models)
    except (AuthError, QuotaError) as exc:  # the old key is refused: every request to it would fail the same way
        if len(models) == 1:
            raise
        notes.append(_unreachable(old, exc))
        models = [new_job]
        record = run_and_store(held_out, models)  # the new job's answers come from the cache
    notes += _silent_models(record["summary"], old, new_job)
    return MigrationEval(run=record["id"], models=models, headline=headline(record, old, new_job), notes=notes,
                         record=record)


def _silent_models(summary: dict[str, Any], old: str, new_job: str) -> list[str]:
    """A note for each model that answered none of the examples (its errors are in the stored run)."""
    notes = []
    for model in summary["models"]:
        if model["errors"] < summary["examples"]:
            continue
        if model["model"] == old:
            notes.append(f"the old fine-tune {old} answered none of the {summary['examples']} held-out examples "
                         "(shut down?); the new job's scores stand alone")
        else:
            notes.append(f"the new job {new_job} answered none of the {summary['examples']} held-out examples; "
                         "see the errors in the stored run")
    return notes


def headline(record: dict[str, Any], old: str, new_job: str) -> dict[str, Any] | None:
    """The first metric for both models and their paired comparison (``delta`` = new minus old)."""
    metrics = record["details"]["metrics"]
    if not metrics:
        return None
    metric = metrics[0]
    scores = {m["model"]: m["metrics"].get(metric) for m in record["summary"]["models"]}
    row: dict[str, Any] = {"metric": metric, "old": scores.get(old), "new": scores.get(new_job), "delta": None,
                           "ci95": None, "p_value": None, "test": None}
    for c in record["summary"]["comparisons"]:
        if c["metric"] == metric and (c["a"], c["b"]) == (old, new_job):
            row.update({k: c[k] for k in ("delta", "ci95", "p_value", "test")})
    return row
