"""A stored eval run as the measured scores ``ftrouter advise TASK.yaml --eval RUN`` reads.

Mapping: the run's headline metric (its first: the default set puts the task's main metric first;
``--metric`` order chooses it) on 0..1; ``prompting`` is the best score among the run's models that are
not fine-tuned (base models, prompted); ``eval_set_size`` is the run's example count. ``rag`` and
``target`` are not measured by a run and stay as the profile says. A run with only tuned models has no
prompting baseline to give and is refused.
"""

from __future__ import annotations

from ftrouter.advise.loader import EvalScores
from ftrouter.errors import UsageError
from ftrouter.eval.store import load_run


def scores_from_run(run: str) -> EvalScores:
    record = load_run(run)
    details, summary = record["details"], record["summary"]
    metrics = details.get("metrics") or []
    if not metrics:
        raise UsageError(f"eval run {record['id']} has no metrics", code="bad_eval_run")
    headline = metrics[0]
    tuned = details.get("tuned", {})
    baseline = [m["metrics"].get(headline) for m in summary["models"] if not tuned.get(m["model"], False)]
    measured = [v for v in baseline if v is not None]
    if not measured:
        raise UsageError(f"eval run {record['id']} has no prompting baseline (every model in it is fine-tuned, "
                         f"or none has a {headline} score): evaluate the base model too", code="bad_eval_run")
    return EvalScores(prompting=max(measured), eval_set_size=int(summary["examples"]))


def looks_like_run(value: str) -> bool:
    from ftrouter.eval.store import RUN_PREFIX

    return value.startswith(RUN_PREFIX)
