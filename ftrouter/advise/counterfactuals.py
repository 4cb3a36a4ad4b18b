"""Counterfactuals: what single change (or pair of changes) to the profile would change the advice.

They are computed, not written: every threshold a rule draws on a profile key gives candidate values
just on either side of it, each candidate profile is decided again, and the changes that move the
recommendation (or the method, or the first backend) are kept — the smallest change for each new
outcome. When no single change reaches an approach, pairs of the changes that moved it closest are
tried (the classic "with 50 examples AND an eval set of 20, fine-tuning would rank first").
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import ValidationError

from ftrouter.advise.engine import Decision, Environment, decide
from ftrouter.advise.facts import FACTS, display
from ftrouter.advise.profile import Failure, TaskProfile
from ftrouter.advise.rules import APPROACHES, RuleSet

# Memory thresholds live in the cost engine, not in the rules, so the GPU and model-size inputs are
# also tried at common sizes: GPU cards (GB), GPU counts, and open-model sizes (billions).
HINTS: dict[str, tuple[float, ...]] = {
    "gpu_memory_gb": (8, 12, 16, 24, 40, 48, 80, 141),
    "gpus": (1, 2, 4, 8),
    "model_size_b": (0.5, 1, 3, 8, 14, 32, 70),
}
STEP: dict[str, float] = {"int": 1, "number": 0.01}
INT_LIKE = frozenset({"gpu_memory_gb", "training_budget_usd", "model_size_b"})
PAIR_FIELDS = 5  # inputs considered for pairs (those whose single change helped the target most)
PAIR_VALUES = 4  # values per input (the closest helpful ones)
PAIR_TRIES = 60  # pairs decided per target approach, closest first
LIMITS = {"recommendation": 6, "method": 3, "backend": 3}


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any

    def phrase(self) -> str:
        if self.field == "failures":
            added = [f for f in self.new if f not in self.old]
            removed = [f for f in self.old if f not in self.new]
            if added:
                return f"{added[0]!r} among the failures"
            return f"{removed[0]!r} not among the failures"
        return f"{self.field} = {display(self.new)} (now {display(self.old)})"

    def as_json(self) -> dict[str, Any]:
        return {"field": self.field, "from": _plain(self.old), "to": _plain(self.new)}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class Counterfactual:
    kind: str  # "recommendation" | "method" | "backend"
    changes: tuple[Change, ...]
    decision: Decision
    text: str
    distance: float

    def as_json(self) -> dict[str, Any]:
        recommendation, method, backend = self.decision.outcome()
        return {
            "kind": self.kind,
            "changes": [c.as_json() for c in self.changes],
            "recommendation": recommendation,
            "method": method,
            "top_backend": backend,
            "text": self.text,
        }


# ----------------------------------------------------------------------------------- candidates


def _get(profile: TaskProfile, field: str) -> Any:
    if field.startswith("scores."):
        return getattr(profile.scores, field.split(".", 1)[1])
    return getattr(profile, field)


def with_value(profile: TaskProfile, field: str, value: Any) -> TaskProfile | None:
    """A valid copy of ``profile`` with one key changed, or None when the value is not allowed."""
    data = profile.model_dump()
    if field.startswith("scores."):
        data["scores"][field.split(".", 1)[1]] = value
    else:
        data[field] = value
    try:
        return TaskProfile.model_validate(data)
    except ValidationError:
        return None


def _numeric_candidates(fact: str, rules: RuleSet) -> set[float]:
    kind = FACTS[fact].kind
    step = 1 if fact in INT_LIKE else STEP.get(kind, 1)
    values: set[float] = set(HINTS.get(fact, ()))
    for rule in rules.rules:
        test = rule.when.get(fact)
        for op, threshold in test.thresholds() if test else ():
            values.add(threshold)
            values.add(threshold - step if op in ("lt", "ge") else threshold + step)
    return values


# Facts derived from two scores: a threshold on them becomes a value of one score, given the other.
DerivedInverse = Callable[[float, TaskProfile], float | None]
_DERIVED: dict[str, tuple[str, DerivedInverse]] = {
    "prompting_gap": ("scores.prompting", lambda t, p: None if p.scores.target is None else p.scores.target - t),
    "rag_gain": ("scores.rag", lambda t, p: None if p.scores.prompting is None else p.scores.prompting + t),
    "prompting_meets_target": ("scores.prompting", lambda t, p: p.scores.target),
    "rag_meets_target": ("scores.rag", lambda t, p: p.scores.target),
}


def _derived_candidates(profile: TaskProfile, rules: RuleSet) -> Iterator[tuple[str, float]]:
    for fact, (field, inverse) in _DERIVED.items():
        for rule in rules.rules:
            test = rule.when.get(fact)
            if test is None:
                continue
            thresholds = [t for _, t in test.thresholds()] or [0.0]
            for t in thresholds:
                for nudge in (-0.01, 0.0, 0.01):
                    value = inverse(t + nudge, profile)
                    if value is not None:
                        yield field, round(value, 4)


def _categorical_candidates(fact: str, current: Any) -> list[Any]:
    annotation = TaskProfile.model_fields[fact].annotation
    if FACTS[fact].kind == "bool":
        return [not current]
    if fact == "failures":
        options = [f for f in get_args(Failure) if f != "none"]
        toggled = [tuple(x for x in current if x != f) if f in current else (*[x for x in current if x != "none"], f)
                   for f in options]
        return [t for t in toggled if t]
    return [v for v in get_args(annotation) if isinstance(v, str) and v != current]


def candidates(profile: TaskProfile, rules: RuleSet) -> Iterator[Change]:
    """Every single change worth trying."""
    for fact, spec in FACTS.items():
        if spec.field is None or spec.field.startswith("scores."):
            continue
        current = profile.effective_model_size_b if fact == "model_size_b" else _get(profile, spec.field)
        if spec.kind in ("int", "number"):
            values: list[Any] = sorted(_numeric_candidates(fact, rules))
            if spec.kind == "int":
                values = [int(v) for v in values]
        else:
            values = _categorical_candidates(fact, current)
        for value in values:
            if value != current:
                yield Change(spec.field, current, value)
    seen: set[tuple[str, float]] = set()
    for field, value in _derived_candidates(profile, rules):
        current = _get(profile, field)
        if (field, value) not in seen and value != current:
            seen.add((field, value))
            yield Change(field, current, value)


# -------------------------------------------------------------------------------------- search


def _distance(change: Change) -> float:
    old, new = change.old, change.new
    if isinstance(new, int | float) and not isinstance(new, bool) and isinstance(old, int | float):
        return abs(new - old) / max(abs(old), abs(new), 1e-9)
    return 1.0


def _kind(base: Decision, other: Decision) -> str | None:
    a, b = base.outcome(), other.outcome()
    if a[0] != b[0]:
        return "recommendation"
    if a[1] != b[1]:
        return "method"
    if a[2] != b[2]:
        return "backend"
    return None


def _text(kind: str, changes: tuple[Change, ...], base: Decision, new: Decision) -> str:
    what = " and ".join(c.phrase() for c in changes)
    if kind == "recommendation":
        return f"With {what}, {new.recommendation} would rank first instead of {base.recommendation}."
    if kind == "method":
        old_method = base.method or "none (no backend fits)"
        return f"With {what}, the method would be {new.method or 'none (no backend fits)'} instead of {old_method}."
    old_top = base.shortlist[0] if base.shortlist else "none"
    new_top = new.shortlist[0] if new.shortlist else "none (no backend fits)"
    return f"With {what}, {new_top} would head the backend shortlist instead of {old_top}."


def _apply(profile: TaskProfile, changes: tuple[Change, ...]) -> TaskProfile | None:
    current: TaskProfile | None = profile
    for change in changes:
        if current is None:
            return None
        current = with_value(current, change.field, change.new)
    return current


def _margin(decision: Decision, approach: str) -> float:
    """How far ``approach`` leads (positive) or trails (negative) the best other approach."""
    scores = {str(a): s for a, s in decision.standing.items()}
    return scores[approach] - max(s for a, s in scores.items() if a != approach)


def _outcome_key(kind: str, decision: Decision) -> Any:
    return {"recommendation": decision.recommendation, "method": decision.method}.get(
        kind, decision.shortlist[:1])


# Inputs that measure what the user has built. Counterfactuals must be actionable: "with
# eval_set_size = 19, prompting would rank first" tells nobody what to do (nobody throws eval items
# away), so a change that gives up assets is never reported, alone or in a pair.
ASSETS = frozenset({"examples", "eval_set_size"})


def _gives_up_assets(change: Change) -> bool:
    return change.field in ASSETS and isinstance(change.new, int) and change.new < change.old


class _Search:
    def __init__(self, profile: TaskProfile, env: Environment, base: Decision) -> None:
        self.profile, self.env, self.base = profile, env, base
        self.best: dict[tuple[str, Any, Any], Counterfactual] = {}
        self.singles: list[tuple[Change, Decision]] = []

    def consider(self, changes: tuple[Change, ...], decision: Decision) -> None:
        kind = _kind(self.base, decision)
        if kind is None or any(_gives_up_assets(c) for c in changes):
            return
        fields = tuple(sorted(c.field for c in changes))
        key = (kind, _outcome_key(kind, decision), fields if len(changes) == 1 else "pair")
        distance = sum(_distance(c) for c in changes) + (len(changes) - 1) * 10
        known = self.best.get(key)
        if known is None or distance < known.distance:
            text = _text(kind, changes, self.base, decision)
            self.best[key] = Counterfactual(kind, changes, decision, text, distance)

    def run_singles(self) -> None:
        for change in candidates(self.profile, self.env.rules):
            changed = _apply(self.profile, (change,))
            if changed is None:
                continue
            decision = decide(changed, self.env)
            self.singles.append((change, decision))
            self.consider((change,), decision)

    def _pool(self, target: str) -> list[Change]:
        """Single changes that moved ``target`` closer to first place: the closest few per input,
        for the inputs that moved it most."""
        start = _margin(self.base, target)
        by_field: dict[str, list[tuple[float, Change]]] = {}
        for change, decision in self.singles:
            if _gives_up_assets(change):
                continue
            gain = _margin(decision, target) - start
            if gain > 0:
                by_field.setdefault(change.field, []).append((gain, change))
        best_fields = sorted(by_field, key=lambda f: -max(g for g, _ in by_field[f]))[:PAIR_FIELDS]
        pool: list[Change] = []
        for name in best_fields:
            pool += sorted((c for _, c in by_field[name]), key=_distance)[:PAIR_VALUES]
        return pool

    def run_pairs(self) -> None:
        """For each approach no single change reaches: the closest pair of changes that makes it first."""
        reached = {cf.decision.recommendation for cf in self.best.values() if cf.kind == "recommendation"}
        for target in APPROACHES:
            if target == self.base.recommendation or target in reached:
                continue
            pairs = sorted(((a, b) for a, b in itertools.combinations(self._pool(target), 2) if a.field != b.field),
                           key=lambda ab: _distance(ab[0]) + _distance(ab[1]))
            for a, b in pairs[:PAIR_TRIES]:  # closest first: the first pair that works is the answer
                changed = _apply(self.profile, (a, b))
                decision = decide(changed, self.env) if changed is not None else None
                if decision is not None and decision.recommendation == target:
                    self.consider((a, b), decision)
                    break

    def results(self) -> list[Counterfactual]:
        ordered = sorted(self.best.values(), key=lambda cf: (list(LIMITS).index(cf.kind), cf.distance, cf.text))
        out: list[Counterfactual] = []
        counts = dict.fromkeys(LIMITS, 0)
        for cf in ordered:
            if counts[cf.kind] < LIMITS[cf.kind]:
                counts[cf.kind] += 1
                out.append(cf)
        return out


def find_counterfactuals(profile: TaskProfile, env: Environment, base: Decision) -> list[Counterfactual]:
    """The smallest changes that would change the advice, recommendation changes first."""
    search = _Search(profile, env, base)
    search.run_singles()
    search.run_pairs()
    return search.results()
