"""The small condition language of decision rules: ``when: {examples: {lt: 20}, failures: {any_of: [format]}}``.

Every key of ``when`` names a fact; all tests must hold (AND). A test on an unknown fact value
(``None``: the user did not say, or no data was given) never holds, except ``missing: true`` — so a
rule never fires on a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

Number = int | float
Scalar = str | int | float | bool


class FactTest(BaseModel):
    """One fact's test. Several operators in one test all must hold (``{ge: 50, lt: 500}`` is a range)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    lt: Number | None = None
    le: Number | None = None
    gt: Number | None = None
    ge: Number | None = None
    eq: Scalar | None = None
    ne: Scalar | None = None
    in_: tuple[Scalar, ...] | None = Field(default=None, alias="in")
    not_in: tuple[Scalar, ...] | None = None
    any_of: tuple[str, ...] | None = None  # list facts: at least one of these is present
    none_of: tuple[str, ...] | None = None  # list facts: none of these is present
    missing: bool | None = None  # true: the fact is unknown; false: it is known

    @model_validator(mode="after")
    def _has_an_operator(self) -> FactTest:
        if not self.model_dump(exclude_none=True):
            raise ValueError("a test needs at least one operator (lt, le, gt, ge, eq, ne, in, not_in, any_of, "
                             "none_of, missing)")
        return self

    def holds(self, value: Any) -> bool:
        if self.missing is not None:
            if (value is None) != self.missing:
                return False
            if value is None:
                return True
        if value is None:
            return False
        return _numeric_ok(self, value) and _membership_ok(self, value)

    def thresholds(self) -> list[tuple[str, Number]]:
        """The numeric boundaries this test draws, for counterfactual search."""
        return [(op, getattr(self, op)) for op in ("lt", "le", "gt", "ge") if getattr(self, op) is not None]

    def mentioned_values(self) -> list[Scalar]:
        """The categorical values this test names, for counterfactual search."""
        out: list[Scalar] = []
        for op in ("eq", "ne"):
            if getattr(self, op) is not None:
                out.append(getattr(self, op))
        for op in ("in_", "not_in", "any_of", "none_of"):
            out.extend(getattr(self, op) or ())
        return out


def _numeric_ok(test: FactTest, value: Any) -> bool:
    if test.lt is not None and not value < test.lt:
        return False
    if test.le is not None and not value <= test.le:
        return False
    if test.gt is not None and not value > test.gt:
        return False
    return test.ge is None or value >= test.ge


def _membership_ok(test: FactTest, value: Any) -> bool:
    if test.eq is not None and value != test.eq:
        return False
    if test.ne is not None and value == test.ne:
        return False
    if test.in_ is not None and value not in test.in_:
        return False
    if test.not_in is not None and value in test.not_in:
        return False
    present = set(value) if isinstance(value, Iterable) and not isinstance(value, str) else {value}
    if test.any_of is not None and not present & set(test.any_of):
        return False
    return test.none_of is None or not present & set(test.none_of)


Condition = Mapping[str, FactTest]


def holds(condition: Condition, facts: Mapping[str, Any]) -> bool:
    """Whether every test of ``condition`` holds on ``facts``."""
    return all(test.holds(facts.get(name)) for name, test in condition.items())
