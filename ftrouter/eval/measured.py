"""A stored eval run as measured facts for other commands: the scores ``ftrouter advise TASK.yaml --eval RUN``
reads, and the quality lines ``ftrouter compare --eval RUN`` shows next to cost.

Mapping: the run's headline metric (its first: the default set puts the task's main metric first;
``--metric`` order chooses it) on 0..1; ``prompting`` is the best score among the run's models that are
not fine-tuned (base models, prompted); ``eval_set_size`` is the run's example count. ``rag`` and
``target`` are not measured by a run and stay as the profile says. A run with only tuned models has no
prompting baseline to give and is refused. An embedding run (an encoder eval on (query, passage) pairs)
gives ``retrieval_recall`` instead: the best recall@10 among its untuned embedders (today's retriever).
"""

from __future__ import annotations

from typing import Any

from ftrouter.advise.loader import EvalScores
from ftrouter.errors import UsageError
from ftrouter.eval.store import load_run

RETRIEVAL_METRIC = "recall@10"  # what a RAG prompt holds: the top 10 passages


def _untuned_best(record: dict[str, Any], metric: str, what: str) -> float:
    tuned = record["details"].get("tuned", {})
    baseline = [m["metrics"].get(metric) for m in record["summary"]["models"] if not tuned.get(m["model"], False)]
    measured = [v for v in baseline if v is not None]
    if not measured:
        raise UsageError(f"eval run {record['id']} has no {what} (every model in it is fine-tuned, or none has a "
                         f"{metric} score): evaluate the base model too", code="bad_eval_run")
    return float(max(measured))


def scores_from_run(run: str) -> EvalScores:
    record = load_run(run)
    details, summary = record["details"], record["summary"]
    metrics = details.get("metrics") or []
    if not metrics:
        raise UsageError(f"eval run {record['id']} has no metrics", code="bad_eval_run")
    if RETRIEVAL_METRIC in metrics:  # an embedder scored on (query, passage) pairs: today's retriever
        return EvalScores(retrieval_recall=_untuned_best(record, RETRIEVAL_METRIC, "untuned embedder"))
    return EvalScores(prompting=_untuned_best(record, metrics[0], "prompting baseline"),
                      eval_set_size=int(summary["examples"]))


def looks_like_run(value: str) -> bool:
    from ftrouter.eval.store import RUN_PREFIX

    return value.startswith(RUN_PREFIX)


def _fmt(value: Any, pattern: str) -> str:
    return "–" if value is None else pattern.format(value)


def quality_lines(run: str) -> tuple[str, list[str]]:
    """A section title and one line per model (headline metric with its interval, errors, latency, the
    eval's cost) plus one per paired comparison on the headline metric."""
    record = load_run(run)
    summary, metrics = record["summary"], record["details"].get("metrics") or []
    headline = metrics[0] if metrics else None
    lines = []
    for m in summary["models"]:
        lo, hi = (m["ci95"].get(headline) or [None, None]) if headline else (None, None)
        lines.append(f"{m['model']}: {headline} {_fmt(m['metrics'].get(headline), '{:.3f}')} "
                     f"[{_fmt(lo, '{:.3f}')}, {_fmt(hi, '{:.3f}')}], {m['errors']} errors, "
                     f"p50 {_fmt(m['latency_ms']['p50'], '{:.0f}')} ms, eval cost {_fmt(m['cost_usd'], '${:.4f}')}")
    for c in summary["comparisons"]:
        if c["metric"] == headline:
            significant = c["p_value"] is not None and c["p_value"] < 0.05
            lines.append(f"{c['b']} vs {c['a']}: {_fmt(c['delta'], '{:+.3f}')} (p {_fmt(c['p_value'], '{:.3g}')}, "
                         f"{c['test']}){'' if significant else ', not significant'}")
    return f"Measured quality (eval {record['id']}, {summary['examples']} examples)", lines


def quality_rows(run: str) -> list[dict[str, Any]]:
    """The same facts as ``quality_lines`` as values, for machine-readable reports (``compare --format csv``):
    one row per model (``kind`` "model") and per paired comparison on the headline metric ("comparison")."""
    record = load_run(run)
    summary, metrics = record["summary"], record["details"].get("metrics") or []
    headline = metrics[0] if metrics else None
    rows: list[dict[str, Any]] = []
    for m in summary["models"]:
        lo, hi = (m["ci95"].get(headline) or [None, None]) if headline else (None, None)
        rows.append({"kind": "model", "eval_run": record["id"], "examples": summary["examples"], "model": m["model"],
                     "metric": headline, "score": m["metrics"].get(headline) if headline else None,
                     "ci95_low": lo, "ci95_high": hi, "errors": m["errors"],
                     "latency_p50_ms": m["latency_ms"]["p50"], "eval_cost_usd": m["cost_usd"]})
    for c in summary["comparisons"]:
        if c["metric"] == headline:
            lo, hi = c.get("ci95") or [None, None]
            rows.append({"kind": "comparison", "eval_run": record["id"], "examples": summary["examples"],
                         "model": c["b"], "baseline": c["a"], "metric": headline, "delta": c["delta"],
                         "ci95_low": lo, "ci95_high": hi, "p_value": c["p_value"], "test": c["test"]})
    return rows
