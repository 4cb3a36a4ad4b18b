"""``advise``: profile (+ data signals) -> the full advice, ready for ``--json`` or the terminal.

Ties the pieces together: the decision (engine), the counterfactual search, next steps and warnings
(step/warning rules on the decision), and, with data, the cost per backend (cost engine).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ftrouter.advise.costing import CostOracle
from ftrouter.advise.counterfactuals import find_counterfactuals
from ftrouter.advise.engine import Decision, Environment, ProviderWindow, decide, outcome_facts
from ftrouter.advise.facts import context_facts, data_facts, extension_seq_len, profile_facts
from ftrouter.advise.hardware import DEFAULT_SEQ_LEN, MemoryOracle
from ftrouter.advise.profile import TaskProfile
from ftrouter.advise.rules import RuleKind, RuleSet, advise_backends, default_rules, load_rules
from ftrouter.advise.scoring import Candidate, Fired, confidence, confidence_label, fire
from ftrouter.advise.signals import DataSignals
from ftrouter.catalog import load_catalog
from ftrouter.profiles import plans_gpus


class Advice(BaseModel):
    """The advice; its ``model_dump`` is the ``--json`` output."""

    recommendation: str
    ranking: list[dict[str, Any]]
    confidence: float
    confidence_label: str
    factors: list[dict[str, Any]]
    counterfactuals: list[dict[str, Any]]
    next_steps: list[dict[str, str]]
    warnings: list[dict[str, str]]
    alternatives: list[dict[str, Any]]
    method: str | None
    backends: list[str] | None
    methods: list[dict[str, Any]] | None
    backend_details: list[dict[str, Any]] | None
    costs: list[dict[str, Any]] | None
    data: dict[str, Any] | None
    profile: dict[str, Any]
    assumptions: list[str]
    rules_as_of: str
    today: str


def provider_windows(catalog_files: tuple[Path, ...] = ()) -> dict[str, ProviderWindow]:
    """Per managed backend, the last day new fine-tuning jobs are accepted (from the model catalog):
    the latest date among its models, or None when any of its models has no announced end."""
    from ftrouter.catalog import ModelEntry

    models = load_catalog("models.yaml", ModelEntry, catalog_files)
    windows = {}
    for backend in sorted({m.backend for m in models.values()}):  # every backend with catalog rows
        rows = [m for m in models.values() if m.backend == backend]
        dates = [m.training_available_until for m in rows]
        until = None if not dates or any(d is None for d in dates) else max(d for d in dates if d is not None)
        shutdowns = [m.shutdown_date for m in rows if m.shutdown_date is not None]
        windows[backend] = ProviderWindow(backend, until, min(shutdowns, default=None))
    return windows


def effective_profile(profile: TaskProfile, signals: DataSignals | None) -> TaskProfile:
    """With ``--data``, the example count is the dataset's distinct examples, not the profile's claim."""
    if signals is None:
        return profile
    return profile.model_copy(update={"examples": signals.distinct_examples})


def _seq_len(signals: DataSignals | None) -> int:
    """Memory at the length the trainer will really use: the longest example capped at the training
    length (``ftrouter.training.memory_seq_len``, shared with the cost engine), not a lone outlier."""
    if signals is None or signals.max_tokens <= 0:
        return DEFAULT_SEQ_LEN
    from ftrouter.training import memory_seq_len

    return memory_seq_len(signals.example_tokens or [signals.max_tokens]).seq_len


def build_environment(profile: TaskProfile, signals: DataSignals | None, today: date,
                      rules: RuleSet | None = None, catalog_files: tuple[Path, ...] = ()) -> Environment:
    costs = None
    if signals is not None and signals.example_tokens:
        costs = CostOracle(signals.example_tokens, today=today, max_gpus=profile.gpus, catalog_files=catalog_files)
    if rules is None:
        rules = load_rules(catalog_files) if catalog_files else default_rules()
    return Environment(rules=rules, today=today, memory=MemoryOracle(_seq_len(signals)), signals=signals,
                       windows=provider_windows(catalog_files), costs=costs)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _factor(item: Fired) -> dict[str, Any]:
    return {"name": item.rule.factor, "rule": item.rule.name, "value": _jsonable(item.value),
            "effects": item.effects, "rules_out": list(item.rule.excludes), "reason": item.reason,
            "source": item.rule.source}


def _candidate(c: Candidate, **extra: Any) -> dict[str, Any]:
    excluded = c.excluded_by
    return {
        **extra,
        "score": c.score,
        "excluded": excluded is not None,
        "excluded_by": {"rule": excluded.rule.name, "reason": excluded.reason} if excluded else None,
        "reasons": [{"rule": f.rule.name, "effect": f.rule.effect, "reason": f.reason} for f in c.fired],
    }


def _methods(decision: Decision) -> list[dict[str, Any]]:
    return [_candidate(c, method=c.name, memory_gb=c.facts.get("method_memory_gb"), fits=c.facts.get("method_fits"))
            for c in decision.methods]


def _backends(decision: Decision) -> list[dict[str, Any]]:
    return [_candidate(c, backend=c.name, method=c.facts.get("backend_method"),
                       cost_usd=c.facts.get("backend_cost_usd")) for c in decision.backends]


def _costs(env: Environment, decision: Decision) -> list[dict[str, Any]] | None:
    if env.costs is None:
        return None
    size = decision.facts["model_size_b"]
    out = []
    for backend in advise_backends():
        method = (decision.local_method or "lora") if plans_gpus(backend) else "managed"
        cost = env.costs.cost(backend, method, size)
        if cost is not None:
            out.append(cost.as_json())
    return out


def _notes(kind: RuleKind, env: Environment, decision: Decision) -> list[dict[str, str]]:
    facts = outcome_facts(decision)
    return [{"text": f.reason, "rule": f.rule.name} for f in fire(env.rules.of_kind(kind), facts)]


def _encoder_cost(profile: TaskProfile, env: Environment) -> dict[str, Any]:
    from ftrouter.cost.encoder import ASSUMED_INPUT_TOKENS, encoder_classifier_cost

    tokens = env.signals.example_tokens if env.signals and env.signals.example_tokens else []
    cost = encoder_classifier_cost(tokens or [ASSUMED_INPUT_TOKENS] * max(profile.examples, 1),
                                   monthly_requests=profile.monthly_requests, today=env.today,
                                   catalog=env.costs.catalog() if env.costs else None)
    cost["tokens"] = "from --data" if tokens else f"{ASSUMED_INPUT_TOKENS} tokens per example assumed (no --data)"
    return cost


# Alternatives the cost engine can price, by rule id.
ALTERNATIVE_COSTS = {"alternative.encoder_classifier": _encoder_cost}


def _alternatives(profile: TaskProfile, env: Environment, decision: Decision) -> list[dict[str, Any]]:
    out = []
    for note in _notes("alternative", env, decision):
        priced = ALTERNATIVE_COSTS.get(note["rule"])
        out.append({**note, "cost": priced(profile, env) if priced else None})
    return out


def _assumptions(profile: TaskProfile, env: Environment) -> list[str]:
    out = [f"decision rules as of {env.rules.as_of}; provider availability judged on {env.today.isoformat()}"]
    if profile.model_size_b is None:
        out.append(f"open-weights model size not given: {profile.effective_model_size_b:g}B assumed")
    if env.memory.available:
        facts = {**profile_facts(profile), **data_facts(env.signals)}
        long_seq = extension_seq_len({**facts, **context_facts(facts)})
        seq = f"{long_seq} (the whole input: a context-extension run)" if long_seq else env.memory.seq_len
        out.append(f"training memory from the cost engine at seq_len {seq}, micro-batch 1, "
                   "activation checkpointing; full fine-tuning sharded across the stated GPUs")
    else:
        out.append("the cost engine is not available: GPU memory was not checked")
    if env.signals is not None:
        out.append(f"examples = {env.signals.distinct_examples} distinct examples of {env.signals.path}")
    return out


def advise(
    profile: TaskProfile,
    *,
    signals: DataSignals | None = None,
    today: date | None = None,
    rules: RuleSet | None = None,
    counterfactuals: bool = True,
    catalog_files: tuple[Path, ...] | list[Path] = (),
) -> Advice:
    """The whole advice for a task profile (and optionally the signals of its dataset).

    ``catalog_files``: override files (``--catalog``) for the decision rules, the model catalog and prices.
    """
    today = today or date.today()
    profile = effective_profile(profile, signals)
    env = build_environment(profile, signals, today, rules, tuple(catalog_files))
    decision = decide(profile, env, plan=True)
    found = find_counterfactuals(profile, env, decision) if counterfactuals else []
    finetune = decision.includes_finetune
    conf = confidence(decision.scores, decision.gated)
    return Advice(
        recommendation=decision.recommendation,
        ranking=[{"approach": a, "score": decision.scores[a], "ruled_out_by": list(decision.gated.get(a, ()))}
                 for a in decision.ranking],
        confidence=conf,
        confidence_label=confidence_label(conf),
        factors=[_factor(f) for f in decision.fired],
        counterfactuals=[cf.as_json() for cf in found],
        next_steps=_notes("step", env, decision),
        warnings=_notes("warning", env, decision),
        alternatives=_alternatives(profile, env, decision),
        method=decision.method if finetune else None,
        backends=list(decision.shortlist) if finetune else None,
        methods=_methods(decision) if finetune else None,
        backend_details=_backends(decision) if finetune else None,
        costs=_costs(env, decision),
        data=signals.summary() if signals else None,
        profile=_jsonable(profile.model_dump()),
        assumptions=_assumptions(profile, env),
        rules_as_of=env.rules.as_of,
        today=today.isoformat(),
    )
