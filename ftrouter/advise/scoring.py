"""The scoring engine: evaluate rules on facts and add up their evidence.

Approach rules add points per approach; method and backend rules are evaluated once per candidate
and add points to it or exclude it. Nothing here knows what a rule means: that lives in the
catalog file, so the weights can be tuned (or overridden by a user) without touching code.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ftrouter.advise.conditions import holds
from ftrouter.advise.facts import display
from ftrouter.advise.rules import APPROACHES, Approach, DecisionRule

# Softmax temperature for turning score gaps into a confidence: with 1.5, a lead of 1.5 points over
# the runner-up (roughly one strong rule) gives about 0.73 when the other two approaches trail far.
CONFIDENCE_TEMPERATURE = 1.5


class _Display(dict[str, str]):
    """Facts as text for reason templates."""

    def __init__(self, facts: Mapping[str, Any]) -> None:
        super().__init__()
        self._facts = facts

    def __missing__(self, key: str) -> str:
        return display(self._facts.get(key))


def render(template: str, facts: Mapping[str, Any]) -> str:
    return template.format_map(_Display(facts))


@dataclass(frozen=True)
class Fired:
    """A rule whose condition held, with the facts it was evaluated on."""

    rule: DecisionRule
    facts: Mapping[str, Any]

    @property
    def value(self) -> Any:
        """The value(s) of the facts its condition read."""
        return _value(self.rule, _matched(self.rule, self.facts))

    @property
    def reason(self) -> str:
        # rendered on demand: the counterfactual search fires thousands of rules and reads no reasons
        return render(self.rule.reason, _matched(self.rule, self.facts))

    @property
    def effects(self) -> dict[str, float]:
        return {str(approach): points for approach, points in self.rule.effects.items()}


def _matched(rule: DecisionRule, facts: Mapping[str, Any]) -> Mapping[str, Any]:
    """Facts as the rule saw them: a list fact tested with ``any_of`` shows only the members that matched
    (a knowledge rule names the knowledge failures, not the format failure listed beside them)."""
    narrowed = {name: [v for v in facts[name] if v in test.any_of]
                for name, test in rule.when.items()
                if test.any_of is not None and isinstance(facts.get(name), list | tuple)}
    return {**facts, **narrowed} if narrowed else facts


def _value(rule: DecisionRule, facts: Mapping[str, Any]) -> Any:
    names = list(rule.when)
    if not names:
        return None
    if len(names) == 1:
        return facts.get(names[0])
    return {name: facts.get(name) for name in names}


def fire(rules: Iterable[DecisionRule], facts: Mapping[str, Any]) -> list[Fired]:
    """The rules whose conditions hold on ``facts``, in file order."""
    return [Fired(rule, facts) for rule in rules if holds(rule.when, facts)]


def score_approaches(fired: Sequence[Fired]) -> dict[Approach, float]:
    scores: dict[Approach, float] = dict.fromkeys(APPROACHES, 0.0)
    for item in fired:
        for approach, points in item.rule.effects.items():
            scores[approach] += points
    return {k: round(v, 3) for k, v in scores.items()}


Name = TypeVar("Name", bound=str)


# An approach that a gate rule rules out ranks below every open approach, whatever its points; each
# further gate counts again, so lifting one of two gates shows as progress to the counterfactual search.
GATE_PENALTY = 1000.0


def gates(fired: Sequence[Fired]) -> dict[Approach, tuple[str, ...]]:
    """Each ruled-out approach and the ids of the rules that rule it out."""
    out: dict[Approach, tuple[str, ...]] = {}
    for item in fired:
        for approach in item.rule.excludes:
            out[approach] = (*out.get(approach, ()), item.rule.name)
    return out


def standing(scores: Mapping[Approach, float], gated: Mapping[Approach, tuple[str, ...]]) -> dict[Approach, float]:
    """Scores with the gate penalties applied: what the ranking and the counterfactual search compare."""
    return {a: s - GATE_PENALTY * len(gated.get(a, ())) for a, s in scores.items()}


def rank(scores: Mapping[Name, float], order: Sequence[Name]) -> list[Name]:
    """Names by score, highest first; ties keep ``order`` (the simpler / preferred option first)."""
    return sorted(scores, key=lambda name: (-scores[name], order.index(name)))


def confidence(scores: Mapping[Any, float], gated: Mapping[Any, Any] | None = None) -> float:
    """Softmax probability of the top approach among the open ones: how clearly the evidence separates it."""
    open_scores = [s for a, s in scores.items() if a not in (gated or {})] or list(scores.values())
    top = max(open_scores)
    weights = [math.exp((s - top) / CONFIDENCE_TEMPERATURE) for s in open_scores]
    return round(1 / sum(weights), 2)


def confidence_label(value: float) -> str:
    return "high" if value >= 0.7 else "medium" if value >= 0.45 else "low"


@dataclass(frozen=True)
class Candidate:
    """A method or backend candidate after its rules: its score, or the rule that excluded it."""

    name: str
    score: float
    excluded_by: Fired | None
    fired: tuple[Fired, ...]
    facts: Mapping[str, Any]

    @property
    def excluded(self) -> bool:
        return self.excluded_by is not None


def score_candidate(name: str, rules: Iterable[DecisionRule], facts: Mapping[str, Any]) -> Candidate:
    fired = fire(rules, facts)
    excluded = next((f for f in fired if f.rule.effect == "exclude"), None)
    points = sum(f.rule.effect for f in fired if isinstance(f.rule.effect, int | float))
    return Candidate(name, round(points, 3), excluded, tuple(fired), facts)


def order_candidates(candidates: Sequence[Candidate], order: Sequence[str]) -> list[Candidate]:
    """Usable candidates by score (ties keep ``order``), then the excluded ones."""
    return sorted(candidates, key=lambda c: (c.excluded, -c.score, order.index(c.name)))
