"""Data-derived signals for the advisor, read from the data engine's report of ``--data FILE``.

The advisor only needs a handful of numbers from the dataset: how many distinct examples there
are, how long they are, how many are duplicates, and whether the file has errors. Keeping them in
one small dataclass means the scoring never depends on the data engine's types.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftrouter.errors import DataError


@dataclass(frozen=True)
class DataSignals:
    """What the advisor reads from a dataset."""

    path: str
    format: str
    examples: int  # examples read (duplicates included)
    duplicates: int
    errors: int  # problems of severity "error"
    warnings: int
    total_tokens: int
    mean_tokens: float
    p95_tokens: int
    max_tokens: int
    example_tokens: list[int] = field(default_factory=list, repr=False, compare=False)

    @property
    def distinct_examples(self) -> int:
        return max(self.examples - self.duplicates, 0)

    @property
    def duplicate_share(self) -> float:
        return self.duplicates / self.examples if self.examples else 0.0

    def summary(self) -> dict[str, Any]:
        """The JSON-able summary shown in the advice."""
        return {
            "path": self.path,
            "format": self.format,
            "examples": self.examples,
            "distinct_examples": self.distinct_examples,
            "duplicates": self.duplicates,
            "errors": self.errors,
            "warnings": self.warnings,
            "tokens": {"total": self.total_tokens, "mean": round(self.mean_tokens, 1), "p95": self.p95_tokens,
                       "max": self.max_tokens},
        }


def _severity(problem: Any) -> str:
    return str(getattr(problem, "severity", "error"))


def signals_from_report(report: Any, path: str) -> DataSignals:
    """Build signals from a ``DatasetReport`` (``ftrouter.data.inspect_file``)."""
    tokens = report.tokens
    problems = list(getattr(report, "problems", []) or [])
    # the report may list only the first problems; its severity counts cover all of them
    errors = getattr(report, "errors", None)
    warnings = getattr(report, "warnings", None)
    return DataSignals(
        path=path,
        format=str(getattr(report, "format", "unknown")),
        examples=int(report.examples),
        duplicates=int(getattr(report, "duplicates", 0) or 0),
        errors=errors if isinstance(errors, int) else sum(1 for p in problems if _severity(p) == "error"),
        warnings=warnings if isinstance(warnings, int) else sum(1 for p in problems if _severity(p) == "warning"),
        total_tokens=int(tokens.total or 0),
        mean_tokens=float(tokens.mean or 0.0),
        p95_tokens=int(tokens.p95 or 0),
        max_tokens=int(tokens.max or 0),
        example_tokens=[int(t) for t in (getattr(report, "example_tokens", None) or [])],
    )


def read_signals(path: str | Path, *, fmt: str = "auto", model: str | None = None,
                 progress: Callable[[int, int], None] | None = None) -> DataSignals:
    """Inspect a dataset with the data engine and keep what the advisor needs (``progress``: as
    ``ftrouter.data.inspect_file``'s)."""
    from ftrouter.data import inspect_file  # the data engine is only imported when --data is given

    report = inspect_file(Path(path), fmt=fmt, model=model, progress=progress)
    if not report.examples:  # nothing usable: advice on an empty dataset would be misleading
        first = next(iter(report.problems or []), None)
        if first is not None:
            raise DataError(f"no usable examples: {first.message}", path=path, line=first.line, code=first.code)
        raise DataError("no usable examples in the dataset", path=path, code="no_examples")
    return signals_from_report(report, str(path))
