"""The small condition language of decision rules: ``when: {examples: {lt: 20}, failures: {any_of: [format]}}``.

Every key of ``when`` names a fact; all tests must hold (AND). A test on an unknown fact value
(``None``: the user did not say, or no data was given) never holds, except ``missing: true`` — so a
rule never fires on a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

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
    _checks: tuple[Callable[[Any], bool], ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _has_an_operator(self) -> FactTest:
        if not self.model_dump(exclude_none=True):
            raise ValueError("a test needs at least one operator (lt, le, gt, ge, eq, ne, in, not_in, any_of, "
                             "none_of, missing)")
        return self

    def model_post_init(self, context: Any, /) -> None:
        # compiled once: tests run thousands of times during the counterfactual search
        self._checks = _compile(self)

    def holds(self, value: Any) -> bool:
        if self.missing is not None:
            if (value is None) != self.missing:
                return False
            if value is None:
                return True
        if value is None:
            return False
        return all(check(value) for check in self._checks)

    def thresholds(self) -> list[tuple[str, Number]]:
        """The numeric boundaries this test draws, for counterfactual search."""
        return [(op, getattr(self, op)) for op in ("lt", "le", "gt", "ge") if getattr(self, op) is not None]


def _as_set(value: Any) -> set[Any]:
    return set(value) if isinstance(value, Iterable) and not isinstance(value, str) else {value}


def _compile(test: FactTest) -> tuple[Callable[[Any], bool], ...]:
    checks: list[Callable[[Any], bool]] = []
    if (lt := test.lt) is not None:
        checks.append(lambda v: v < lt)
    if (le := test.le) is not None:
        checks.append(lambda v: v <= le)
    if (gt := test.gt) is not None:
        checks.append(lambda v: v > gt)
    if (ge := test.ge) is not None:
        checks.append(lambda v: v >= ge)
    if (eq := test.eq) is not None:
        checks.append(lambda v: v == eq)
    if (ne := test.ne) is not None:
        checks.append(lambda v: v != ne)
    if (in_ := test.in_) is not None:
        checks.append(lambda v: v in in_)
    if (not_in := test.not_in) is not None:
        checks.append(lambda v: v not in not_in)
    if (any_of := test.any_of) is not None:
        wanted = set(any_of)
        checks.append(lambda v: bool(_as_set(v) & wanted))
    if (none_of := test.none_of) is not None:
        unwanted = set(none_of)
        checks.append(lambda v: not _as_set(v) & unwanted)
    return tuple(checks)


Condition = Mapping[str, FactTest]


def holds(condition: Condition, facts: Mapping[str, Any]) -> bool:
    """Whether every test of ``condition`` holds on ``facts``."""
    for name, test in condition.items():  # noqa: SIM110 - a plain loop: the innermost loop of the search
        if not test.holds(facts.get(name)):
            return False
    return True
