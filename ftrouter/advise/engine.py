"""One decision: facts -> approach scores -> (when fine-tuning) method and backend shortlist.

``decide`` is pure and cheap so the counterfactual search can call it hundreds of times; everything
slow or external (the data engine, the cost engine's prices) is computed once into ``Environment``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ftrouter.advise.costing import CostOracle
from ftrouter.advise.facts import FACTS, context_facts, data_facts, extension_seq_len, months_between, profile_facts
from ftrouter.advise.hardware import MemoryOracle, MethodFit
from ftrouter.advise.profile import TaskProfile
from ftrouter.advise.rules import APPROACHES, METHODS, Approach, RuleSet, advise_backends
from ftrouter.advise.scoring import (
    GATE_PENALTY,
    Candidate,
    Fired,
    fire,
    gates,
    order_candidates,
    rank,
    score_approaches,
    score_candidate,
    standing,
)
from ftrouter.advise.signals import DataSignals
from ftrouter.errors import PluginMissing, UnknownName
from ftrouter.profiles import profile_for

# approach facts ``<model family>_training_until`` / ``..._months_left`` (the rules ask about OpenAI's)
WINDOW_FACTS = ("_training_until", "_training_months_left")

FINETUNE_APPROACHES: frozenset[str] = frozenset({"finetune", "rag+finetune"})


@dataclass(frozen=True)
class ProviderWindow:
    """Until when a managed backend accepts new fine-tuning jobs (``None``: no end announced)."""

    backend: str
    training_until: date | None
    shutdown: date | None = None  # the first announced shutdown of the backend's fine-tuned models


@dataclass
class Environment:
    """Everything a decision needs besides the profile."""

    rules: RuleSet
    today: date
    memory: MemoryOracle
    signals: DataSignals | None = None
    windows: dict[str, ProviderWindow] = field(default_factory=dict)
    costs: CostOracle | None = None  # training cost per backend (only with --data)


@dataclass(frozen=True)
class Decision:
    facts: dict[str, Any]
    fired: tuple[Fired, ...]
    scores: dict[Approach, float]
    ranking: tuple[Approach, ...]
    gated: dict[Approach, tuple[str, ...]] = field(default_factory=dict)  # ruled-out approaches -> rule ids
    methods: tuple[Candidate, ...] = ()
    backends: tuple[Candidate, ...] = ()

    @property
    def standing(self) -> dict[Approach, float]:
        return standing(self.scores, self.gated)

    @property
    def recommendation(self) -> Approach:
        return self.ranking[0]

    @property
    def includes_finetune(self) -> bool:
        return self.recommendation in FINETUNE_APPROACHES

    @property
    def shortlist(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.backends if not c.excluded)

    @property
    def local_method(self) -> str | None:
        return next((c.name for c in self.methods if not c.excluded), None)

    @property
    def method(self) -> str | None:
        """``lora|qlora|full`` when the first backend trains locally, ``managed`` for a provider API."""
        if not self.includes_finetune or not self.shortlist:
            return None
        return self.local_method if not profile_for(self.shortlist[0]).managed else "managed"

    def outcome(self) -> tuple[str, str | None, str | None]:
        """What a counterfactual compares: recommendation, method, first backend."""
        top = self.shortlist[0] if self.includes_finetune and self.shortlist else None
        return self.recommendation, self.method, top


def _fits(env: Environment, profile: TaskProfile, seq_len: int | None) -> dict[str, MethodFit]:
    size = profile.effective_model_size_b
    return {m: env.memory.fit(m, size, profile.gpu_memory_gb, profile.gpus, seq_len) for m in METHODS}


def _local_can_train(profile: TaskProfile, fits: dict[str, MethodFit]) -> bool | None:
    if not profile.has_gpu:
        return False
    verdicts = [f.fits for f in fits.values()]
    if any(v is True for v in verdicts):
        return True
    return None if any(v is None for v in verdicts) else False


def _window_facts(env: Environment) -> dict[str, Any]:
    """Until when each model family the rules ask about can be fine-tuned: the window of the managed
    backend that trains it (its profile's ``model_family``), None when no end is announced."""
    facts: dict[str, Any] = {name: None for name, spec in FACTS.items()
                             if spec.scope == "approach" and name.endswith(WINDOW_FACTS)}
    for backend, window in env.windows.items():
        try:
            family = profile_for(backend).model_family  # cached: decide() runs for every counterfactual
        except (UnknownName, PluginMissing):  # catalog rows (an override's) for a backend not installed
            continue
        if f"{family}_training_until" in facts and window.training_until is not None:
            facts[f"{family}_training_until"] = window.training_until.isoformat()
            facts[f"{family}_training_months_left"] = months_between(env.today, window.training_until)
    return facts


def base_facts(profile: TaskProfile, env: Environment) -> tuple[dict[str, Any], dict[str, MethodFit]]:
    facts = profile_facts(profile)
    facts.update(data_facts(env.signals))
    facts.update(_window_facts(env))
    facts.update(context_facts(facts))
    fits = _fits(env, profile, extension_seq_len(facts))  # a context extension trains at the whole input
    facts["local_can_train"] = _local_can_train(profile, fits)
    return facts, fits


def _method_candidates(env: Environment, facts: dict[str, Any], fits: dict[str, MethodFit]) -> list[Candidate]:
    rules = env.rules.of_kind("method")
    candidates = []
    for method in METHODS:
        fit = fits[method]
        view = {**facts, "method": method, "method_fits": fit.fits, "method_memory_gb": fit.memory_gb}
        candidates.append(score_candidate(method, rules, view))
    return order_candidates(candidates, METHODS)


def _backend_view(env: Environment, facts: dict[str, Any], backend: str, local_method: str | None) -> dict[str, Any]:
    window = env.windows.get(backend)
    until = window.training_until if window else None
    shutdown = window.shutdown if window else None
    training_left = months_between(env.today, until) if until else None
    serving_left = months_between(env.today, shutdown) if shutdown else None
    service = facts["service_months"]
    managed = profile_for(backend).managed
    method = "managed" if managed else local_method
    cost = env.costs.cost(backend, method, facts["model_size_b"]) if env.costs else None
    cost_usd = cost.cost_usd if cost else None
    budget = facts.get("training_budget_usd")
    if not managed:  # trains on the user's GPUs: fits when some method does
        fits = local_method is not None
    else:  # a managed estimate says whether the provider would take this dataset and model
        fits = cost.fits if cost else True
    return {
        **facts,
        "backend": backend,
        "backend_managed": managed,
        "backend_family": profile_for(backend).model_family,
        "backend_training_months_left": training_left,
        "backend_shutdown_months_left": serving_left,
        "service_outlives_training": None if training_left is None else service > training_left,
        "service_outlives_backend": None if serving_left is None else service > serving_left,
        "backend_fits": fits,
        "backend_method": method,
        "backend_cost_usd": None if cost_usd is None else round(cost_usd, 2),
        "backend_over_budget": None if cost_usd is None or budget is None else cost_usd > budget,
    }


def _backend_candidates(env: Environment, facts: dict[str, Any], local_method: str | None) -> list[Candidate]:
    rules = env.rules.of_kind("backend")
    backends = advise_backends()
    candidates = [score_candidate(b, rules, _backend_view(env, facts, b, local_method)) for b in backends]
    return order_candidates(candidates, backends)


def prompting_floor(ranking: tuple[Approach, ...], standings: dict[Approach, float]) -> tuple[Approach, ...]:
    """Prompting is the floor: when no approach has net evidence for it (the best is at or below zero,
    e.g. retrieval only "least negative"), the advice is to keep prompting, not the least bad change."""
    top = ranking[0]
    if top == "prompting" or standings[top] > 0 or standings["prompting"] <= -GATE_PENALTY / 2:  # gated
        return ranking
    return ("prompting", *(a for a in ranking if a != "prompting"))


def floored(decision: Decision) -> bool:
    """Whether prompting leads only because of :func:`prompting_floor`."""
    return decision.recommendation == "prompting" and decision.standing["prompting"] < max(
        s for a, s in decision.standing.items() if a != "prompting")


def decide(profile: TaskProfile, env: Environment, *, plan: bool = False) -> Decision:
    """Score the approaches; when fine-tuning wins (or ``plan``), choose the local method and rank backends."""
    facts, fits = base_facts(profile, env)
    fired = fire(env.rules.of_kind("approach"), facts)
    scores = score_approaches(fired)
    gated = gates(fired)
    ranking = prompting_floor(tuple(rank(standing(scores, gated), APPROACHES)), standing(scores, gated))
    if ranking[0] not in FINETUNE_APPROACHES and not plan:
        return Decision(facts, tuple(fired), scores, ranking, gated)
    methods = _method_candidates(env, facts, fits)
    local_method = next((c.name for c in methods if not c.excluded), None)
    backends = _backend_candidates(env, facts, local_method)
    return Decision(facts, tuple(fired), scores, ranking, gated, tuple(methods), tuple(backends))


def outcome_facts(decision: Decision) -> dict[str, Any]:
    """Facts about the decision itself, for step and warning rules."""
    top = decision.outcome()[2]
    return {
        **decision.facts,
        "recommendation": decision.recommendation,
        "includes_finetune": decision.includes_finetune,
        "chosen_method": decision.method,
        "top_backend": top,
        "top_backend_managed": None if top is None else profile_for(top).managed,
        "shortlist": decision.shortlist if decision.includes_finetune else (),
        "prompting_floor": floored(decision),
    }
