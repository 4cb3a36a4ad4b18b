"""Decision rules: data in ``catalog/decision_rules.yaml``, each with its source and date.

Kinds of rule:

- ``approach``: adds ``effects`` (points for or against each approach) when its condition holds, and
  may rule approaches out (``excludes``: a gate, such as too few examples to fine-tune on);
- ``method`` / ``backend``: evaluated once per candidate (``method``: full, lora, qlora;
  ``backend``: each installed backend) and add ``effect`` points to that candidate, or ``exclude`` it;
- ``step`` / ``warning``: read the decision and contribute a next step or a warning;
- ``alternative``: an option outside the four approaches to put beside them (an encoder classifier),
  priced by the cost engine when ftrouter knows how (see ``advisor.ALTERNATIVE_COSTS``).

Every reason, step and warning the advisor prints comes from a rule here and carries its id.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ftrouter.advise.conditions import FactTest
from ftrouter.advise.facts import FACTS, Scope
from ftrouter.catalog import CatalogRow, load_catalog
from ftrouter.errors import CatalogError

Approach = Literal["prompting", "rag", "finetune", "rag+finetune"]
APPROACHES: tuple[Approach, ...] = ("prompting", "rag", "finetune", "rag+finetune")
LocalMethod = Literal["full", "lora", "qlora"]
METHODS: tuple[LocalMethod, ...] = ("lora", "qlora", "full")  # tie order: the usual choice first
BackendName = str  # a backend with a profile (ftrouter.profiles)


def advise_backends() -> tuple[BackendName, ...]:
    """The backends advice ranks, in tie order: every installed plugin's, by its profile's ``tie_rank``
    (the built-in ones: owned weights first), then in ``profile_names`` order."""
    from ftrouter.profiles import installed_profiles

    return tuple(p.name for p in sorted(installed_profiles(), key=lambda p: p.tie_rank))


RuleKind = Literal["approach", "method", "backend", "step", "warning", "alternative"]

RULES_FILE = "decision_rules.yaml"

# Which facts each kind of rule may read: a method rule cannot see backend facts and vice versa.
_READABLE: dict[str, frozenset[Scope]] = {
    "approach": frozenset({"approach"}),
    "method": frozenset({"approach", "method"}),
    "backend": frozenset({"approach", "backend"}),
    "step": frozenset({"approach", "outcome"}),
    "warning": frozenset({"approach", "outcome"}),
    "alternative": frozenset({"approach", "outcome"}),
}


class DecisionRule(CatalogRow):
    """One rule. ``name`` is its id (``examples.too_few``); ``factor`` groups rules in the factor table."""

    kind: RuleKind
    factor: str = Field(min_length=1)
    when: dict[str, FactTest] = Field(default_factory=dict)
    effects: dict[Approach, float] = Field(default_factory=dict)
    excludes: tuple[Approach, ...] = ()  # approach rules: a gate that rules these approaches out
    effect: float | Literal["exclude"] | None = None
    reason: str = Field(min_length=1)

    @model_validator(mode="after")
    def _effects_fit_kind(self) -> DecisionRule:
        if self.kind == "approach" and not (self.effects or self.excludes):
            raise ValueError("an approach rule needs 'effects' (points per approach) or 'excludes'")
        if self.kind != "approach" and self.excludes:
            raise ValueError(f"'excludes' is for approach rules; a {self.kind} rule uses 'effect: exclude'")
        if self.kind in ("method", "backend") and self.effect is None:
            raise ValueError(f"a {self.kind} rule needs 'effect' (points, or 'exclude')")
        if self.kind not in ("approach",) and self.effects:
            raise ValueError(f"'effects' is for approach rules; a {self.kind} rule uses 'effect'")
        return self


def _placeholders(text: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


def check_rule(rule: DecisionRule) -> None:
    """Every fact a rule reads (in ``when`` and in its reason text) must exist and be in its scope."""
    readable = _READABLE[rule.kind]
    for name in (*rule.when, *_placeholders(rule.reason)):
        spec = FACTS.get(name)
        if spec is None:
            raise CatalogError(f"rule {rule.name!r}: unknown fact {name!r} (known: {', '.join(FACTS)})",
                               path=RULES_FILE)
        if spec.scope not in readable:
            raise CatalogError(f"rule {rule.name!r}: a {rule.kind} rule cannot read the {spec.scope} fact {name!r}",
                               path=RULES_FILE)


@dataclass(frozen=True)
class RuleSet:
    """The loaded rules, grouped by kind in file order."""

    rules: tuple[DecisionRule, ...]
    _by_kind: dict[str, tuple[DecisionRule, ...]] = field(default_factory=dict, repr=False, compare=False)

    def of_kind(self, kind: RuleKind) -> tuple[DecisionRule, ...]:
        if kind not in self._by_kind:
            self._by_kind[kind] = tuple(r for r in self.rules if r.kind == kind)
        return self._by_kind[kind]

    @property
    def as_of(self) -> str:
        return max(r.as_of for r in self.rules).isoformat() if self.rules else ""

    def get(self, name: str) -> DecisionRule:
        return next(r for r in self.rules if r.name == name)


def load_rules(extra_files: tuple[Path, ...] = ()) -> RuleSet:
    """The shipped rules with ``FTROUTER_CATALOG`` / ``extra_files`` overrides applied (same name replaces)."""
    rows = load_catalog(RULES_FILE, DecisionRule, extra_files)
    for rule in rows.values():
        check_rule(rule)
    return RuleSet(tuple(rows.values()))


@cache
def default_rules() -> RuleSet:
    return load_rules()
