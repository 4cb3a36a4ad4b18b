"""``inspect_file``: one streaming pass that counts, measures and lists the problems of a data file."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftrouter.data.canonical import Example, Problem
from ftrouter.data.identity import session_key
from ftrouter.data.problems import ONCE_PER_FILE, ProblemSink, make_problem
from ftrouter.data.progress import Progress
from ftrouter.data.reader import FileScan, Record
from ftrouter.data.tokens import TokenCounter, counter_for_model

LISTED_CONTEXT_LINES = 10  # lines of examples past the model's context named in the report
MAX_LISTED_PROBLEMS = 5000  # a million broken lines must not take a million objects; counts stay complete

ExampleCheck = Callable[[Example, ProblemSink], None]


@dataclass(slots=True)
class TokenStats:
    total: int = 0
    min: int = 0
    max: int = 0
    mean: float = 0.0
    p50: int = 0
    p95: int = 0

    @classmethod
    def of(cls, values: list[int]) -> TokenStats:
        if not values:
            return cls()
        ordered = sorted(values)
        n = len(ordered)

        def rank(p: float) -> int:  # nearest-rank percentile
            return ordered[max(0, math.ceil(p * n) - 1)]

        total = sum(ordered)
        return cls(total, ordered[0], ordered[-1], round(total / n, 1), rank(0.50), rank(0.95))

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "min": self.min, "max": self.max, "mean": self.mean, "p50": self.p50,
                "p95": self.p95}


@dataclass
class DatasetReport:
    """What ``data inspect`` reports. ``example_tokens`` are per-example totals in file order."""

    path: str
    format: str
    examples: int
    tokens: TokenStats
    assistant_tokens: int
    over_limit: int
    token_limit: int | None
    duplicates: int
    has_system_share: float
    messages: dict[str, float]
    problems: list[Problem]
    problem_counts: dict[str, int]
    example_tokens: list[int] = field(repr=False)
    tokenizer: dict[str, Any] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)
    severity_counts: dict[str, int] = field(default_factory=dict)  # over all problems, listed or not
    container: str = "JSON Lines"  # what the file was read as (ftrouter.data.containers)
    context: int | None = None  # the model's context window (TokenCounter.context)
    context_source: str | None = None
    over_context: int = 0  # examples longer than ``context``
    over_context_lines: list[int] = field(default_factory=list)  # the first LISTED_CONTEXT_LINES of them

    def context_json(self) -> dict[str, Any] | None:
        if self.context is None:
            return None
        return {"context_length": self.context, "source": self.context_source, "examples": self.over_context,
                "first_lines": self.over_context_lines}

    @property
    def errors(self) -> int:
        return self.severity_counts.get("error", 0)

    @property
    def warnings(self) -> int:
        return self.severity_counts.get("warning", 0)

    @property
    def problems_not_listed(self) -> int:
        return sum(self.problem_counts.values()) - len(self.problems)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "container": self.container, "format": self.format, "examples": self.examples,
            "kinds": self.kinds,
            "messages_per_example": self.messages, "tokens": self.tokens.to_json(),
            "assistant_tokens": self.assistant_tokens, "over_limit": self.over_limit, "token_limit": self.token_limit,
            "duplicates": self.duplicates, "has_system_share": self.has_system_share, "tokenizer": self.tokenizer,
            "over_context": self.context_json(),
            "errors": self.errors, "warnings": self.warnings,
            "problem_counts": self.problem_counts, "problems_not_listed": self.problems_not_listed,
            "problems": [{"line": p.line, "code": p.code, "severity": p.severity, "message": p.message}
                         for p in self.problems],
        }


class Inspector:
    """Accumulates a report record by record (memory: a few ints per example, flat otherwise).

    Its data (everything but the counter and the check) is plain and picklable, so the chunks of a big
    file can be inspected in worker processes and merged in file order (``state`` / ``absorb``).
    """

    DATA = ("problems", "problem_counts", "severity_counts", "example_tokens", "assistant_tokens", "over_limit",
            "with_system", "message_counts", "first_line_of", "duplicates", "kinds", "over_context",
            "over_context_lines")

    def __init__(self, counter: TokenCounter, check: ExampleCheck | None = None) -> None:
        self.counter = counter
        self.check = check
        self.problems: list[Problem] = []
        self.problem_counts: Counter[str] = Counter()
        self.severity_counts: Counter[str] = Counter()
        self.example_tokens: list[int] = []
        self.assistant_tokens = 0
        self.over_limit = 0
        self.with_system = 0
        self.message_counts: list[int] = [0, 0, 0]  # min, max, sum
        self.first_line_of: dict[int, int] = {}  # example key -> first line
        self.duplicates = 0
        self.kinds: Counter[str] = Counter()
        self.over_context = 0
        self.over_context_lines: list[int] = []

    def state(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.DATA}

    def absorb(self, state: dict[str, Any]) -> None:
        """Merge the state of the NEXT chunk of the file (chunks must be absorbed in file order)."""
        once = {p.message for p in self.problems if p.code == "unknown_key" and ONCE_PER_FILE in p.message}
        problem_counts, severity_counts = Counter(state["problem_counts"]), Counter(state["severity_counts"])
        for problem in state["problems"]:
            if problem.code == "unknown_key" and problem.message in once:  # already reported by an earlier chunk
                problem_counts[problem.code] -= 1
                severity_counts[problem.severity] -= 1
            elif len(self.problems) < MAX_LISTED_PROBLEMS:
                self.problems.append(problem)
        self.problem_counts.update(problem_counts)
        self.severity_counts.update(severity_counts)
        self._merge_numbers(state)
        for key, line in state["first_line_of"].items():
            first = self.first_line_of.setdefault(key, line)
            if first != line:  # the chunk's first copy duplicates an example of an earlier chunk
                self.duplicates += 1
                self.note(make_problem("duplicate", line, f"exact duplicate of the example at line {first}"))

    def _merge_numbers(self, state: dict[str, Any]) -> None:
        tokens = state["example_tokens"]
        if tokens:
            lo, hi, total = state["message_counts"]
            counts = self.message_counts
            counts[0] = lo if not self.example_tokens else min(counts[0], lo)
            counts[1] = max(counts[1], hi)
            counts[2] += total
        self.example_tokens.extend(tokens)
        self.assistant_tokens += state["assistant_tokens"]
        self.over_limit += state["over_limit"]
        self.with_system += state["with_system"]
        self.duplicates += state["duplicates"]
        self.kinds.update(state["kinds"])
        self.over_context += state["over_context"]
        self._past_context(state["over_context_lines"])

    def _past_context(self, lines: list[int]) -> None:
        self.over_context_lines.extend(lines[:LISTED_CONTEXT_LINES - len(self.over_context_lines)])

    def note(self, problem: Problem) -> None:
        self.problem_counts[problem.code] += 1
        self.severity_counts[problem.severity] += 1
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append(problem)

    def add(self, record: Record) -> None:
        for problem in record.problems:
            self.note(problem)
        example = record.example
        if example is None:
            return
        if self.check is not None:
            sink = ProblemSink(record.line)
            self.check(example, sink)
            for problem in sink.problems:
                self.note(problem)
        self._measure(example, record.line)
        self._dedupe(example, record.line)

    def _measure(self, example: Example, line: int) -> None:
        total, trained = self.counter.count(example)
        self.example_tokens.append(total)
        self.assistant_tokens += trained
        limit = self.counter.limit
        if limit is not None and total > limit:
            self.over_limit += 1
            self.note(make_problem("too_long", line, f"{total} tokens, over {self.counter.limit_label} of {limit}"))
        context = self.counter.context
        if context is not None and total > context:
            self.over_context += 1
            self._past_context([line])
        n = len(example.messages)
        counts = self.message_counts
        counts[0] = n if len(self.example_tokens) == 1 else min(counts[0], n)
        counts[1] = max(counts[1], n)
        counts[2] += n
        if example.messages and example.messages[0].role == "system":
            self.with_system += 1
        self.kinds[example.kind] += 1

    def _dedupe(self, example: Example, line: int) -> None:
        key = session_key(example)  # the workers are forks of this process: their keys compare equal
        first = self.first_line_of.setdefault(key, line)
        if first != line:
            self.duplicates += 1
            self.note(make_problem("duplicate", line, f"exact duplicate of the example at line {first}"))

    def report(self, path: Path, fmt: str | None, container: str = "JSON Lines") -> DatasetReport:
        n = len(self.example_tokens)
        lo, hi, total = self.message_counts
        problems = sorted(self.problems, key=lambda p: (p.line or 0))
        return DatasetReport(
            path=str(path), format=fmt or "unknown", examples=n, tokens=TokenStats.of(self.example_tokens),
            assistant_tokens=self.assistant_tokens, over_limit=self.over_limit, token_limit=self.counter.limit,
            duplicates=self.duplicates, has_system_share=round(self.with_system / n, 4) if n else 0.0,
            messages={"min": lo, "max": hi, "mean": round(total / n, 2) if n else 0.0}, problems=problems,
            problem_counts=dict(self.problem_counts), example_tokens=self.example_tokens,
            tokenizer=self.counter.describe(), kinds=dict(self.kinds), severity_counts=dict(self.severity_counts),
            container=container, context=self.counter.context, context_source=self.counter.context_source,
            over_context=self.over_context, over_context_lines=list(self.over_context_lines))


def run_inspection(scan: FileScan, counter: TokenCounter, check: ExampleCheck | None = None, *,
                   progress: Progress | None = None) -> Inspector:
    from ftrouter.data.parallel import can_parallelize, inspect_in_parallel

    inspector = Inspector(counter, check)
    if can_parallelize(scan.jsonl, counter):
        inspect_in_parallel(scan, inspector, progress=progress)
    else:
        for record in scan.records(progress):
            inspector.add(record)
    nothing_found = not inspector.example_tokens and not inspector.problem_counts.get("empty_file")
    if nothing_found and not any(p.severity == "error" for p in inspector.problems):
        inspector.note(make_problem("empty_file", None, "the file holds no example"))
    return inspector


def _limit_to_training_length(counter: TokenCounter, max_length: int | None) -> None:
    """A local model is trained at a training length (``--max-length``, else the local trainer's
    default, lowered to the model's context window as the trainer lowers it), usually far below what its
    tokenizer accepts: the examples over THAT are the ones the trainer cuts or drops, so that is the
    limit reported."""
    from ftrouter.training import DEFAULT_MAX_LENGTH

    length = max_length or min(DEFAULT_MAX_LENGTH, counter.context or DEFAULT_MAX_LENGTH)
    counter.limit = min(counter.limit, length) if counter.limit else length
    counter.limit_label = "the training length" if counter.limit == length else counter.limit_label


def inspect_file(path: str | Path | FileScan, *, fmt: str = "auto", model: str | None = None,
                 counter: TokenCounter | None = None, progress: Progress | None = None,
                 max_length: int | None = None) -> DatasetReport:
    """Inspect a data file: format, counts, token distribution for ``model``, duplicates and problems.

    ``model``: an OpenAI model name (exact tiktoken counts), a local model folder (its tokenizer and chat
    template), a Gemini model name (an estimate), or None (o200k_base, no per-example limit).
    ``progress`` gets (bytes read, file size) as the file is read (``ftrouter.data.progress``).
    """
    scan = path if isinstance(path, FileScan) else FileScan(path, fmt)
    counter = counter or counter_for_model(model)
    if model is not None and Path(model).is_dir():
        _limit_to_training_length(counter, max_length)
    return run_inspection(scan, counter, progress=progress).report(scan.path, scan.format, scan.container)
