"""``validate_file``: a data file (and optionally its validation file) against one backend's rules.

Every backend gets the reader's checks (JSON, format, roles, content, tool calls, weights...). On top:

- every backend: the training method (given, or implied by the data) must be one the backend and model
  train with, and the data must be of the kind it trains on (``ftrouter.methods``, shared with submit).
- ``openai``: at least the model's minimum examples (10), the model's per-example training limit
  (longer examples are truncated by OpenAI: a warning).
- ``vertex``: Gemini's user/model alternation starting with the user, the last turn from the model,
  the model's training limit (an error), its minimum examples, and a validation-set size cap;
  per-turn weights and names cannot be carried (warnings).
- ``local``: loose rules: any chat or prompt-completion data; a warning when no local tokenizer folder
  is given (token counts are then o200k_base estimates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ftrouter.data.canonical import Example, Problem
from ftrouter.data.inspect import DatasetReport, ExampleCheck, run_inspection
from ftrouter.data.leakage import LeakCheck
from ftrouter.data.problems import ProblemSink, group_repeated_warnings, make_problem, render_collapsed, repeat_note
from ftrouter.data.progress import Progress, file_size, shifted
from ftrouter.data.reader import FileScan
from ftrouter.data.tokens import TiktokenCounter, TokenCounter, counter_for_model
from ftrouter.errors import UnknownName, UsageError, ValidationFailed
from ftrouter.methods import METHOD_DATA, data_refusal, method_for_data, method_refusal
from ftrouter.profiles import profile_for

MAX_PLAN_WARNINGS = 10  # distinct warnings a job plan lists (``data validate`` lists them all)


@dataclass
class ValidationReport:
    """Problems of the train file (and the validation file), with the backend's severities."""

    backend: str
    model: str | None
    report: DatasetReport
    entries: list[tuple[str, Problem]] = field(default_factory=list)  # (file, problem)
    val_report: DatasetReport | None = None
    method: str = "sft"  # the training method judged (given, or implied by the data)

    @property
    def problems(self) -> list[Problem]:
        return [p for _, p in self.entries]

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for p in self.problems if p.severity == "warning")

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def rendered(self) -> list[str]:
        """One line per error, identical warnings collapsed (``problems.render_collapsed``)."""
        return render_collapsed(self.entries)

    def warning_lines(self, limit: int = MAX_PLAN_WARNINGS) -> list[str]:
        """The warnings a job plan shows: collapsed as in ``rendered``, at most ``limit`` lines, then one line
        saying how many more distinct warnings ``data validate`` lists."""
        groups = [g for g in group_repeated_warnings(self.entries) if g[0][1].severity == "warning"]
        lines = []
        for group in groups[:limit]:
            path, first = group[0]
            where = f"{path}:{first.line}" if first.line is not None else path
            lines.append(f"{where}: {first.code}: {first.message}{repeat_note(group)}")
        if len(groups) > limit:
            path = self.report.path
            lines.append(f"... and {len(groups) - limit} more distinct warning(s): `ftrouter data validate {path} "
                         f"--backend {self.backend}` lists them")
        return lines

    def raise_for_errors(self) -> None:
        """Raise ``ValidationFailed`` naming the first error's file, line and code (and how many more
        there are) — what a backend does before it converts or uploads anything."""
        errors = [(path, p) for path, p in self.entries if p.severity == "error"]
        if not errors:
            return
        path, first = errors[0]
        more = len(errors) - 1
        tail = f" (and {more} more; see `ftrouter data validate {path} --backend {self.backend}`)" if more else ""
        raise ValidationFailed(first.message + tail, path=path, line=first.line, code=first.code)

    def to_json(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": self.model, "method": self.method, "ok": self.ok,
                "errors": self.errors, "warnings": self.warnings, "examples": self.report.examples,
                "format": self.report.format,
                "val_examples": self.val_report.examples if self.val_report else None,
                "problems": [{"file": path, "line": p.line, "code": p.code, "severity": p.severity,
                              "message": p.message} for path, p in self.entries]}


def _gemini_turn_roles(example: Example) -> list[str]:
    """Roles as Gemini sees them: system goes to systemInstruction, consecutive tool results form one
    user turn, assistant turns are ``model``."""
    roles: list[str] = []
    previous: str | None = None
    for m in example.messages:
        if m.role == "system" or (m.role == "tool" and previous == "tool"):
            previous = m.role
            continue
        roles.append("model" if m.role == "assistant" else "user")
        previous = m.role
    return roles


def check_gemini(example: Example, sink: ProblemSink) -> None:
    roles = _gemini_turn_roles(example)
    if roles and roles[0] != "user":
        sink.add("role_order", "Gemini conversations must start with a user turn")
    for i in range(1, len(roles)):
        if roles[i] == roles[i - 1]:
            sink.add("role_order", f"turns {i} and {i + 1} are both {roles[i]}: Gemini needs user/model alternation")
            break
    systems = [i for i, m in enumerate(example.messages) if m.role == "system"]
    if systems and (systems[0] != 0 or len(systems) > 1):
        sink.add("unsupported_feature", "system turns after the first are merged into one systemInstruction")
    if any(m.weight is not None for m in example.messages):
        sink.add("unsupported_feature", "per-turn weights are not supported by Gemini tuning (dropped)")


@dataclass
class _Rules:
    counter: TokenCounter
    check: Callable[[Example, ProblemSink], None] | None
    min_examples: int
    max_val_examples: int | None
    notes: list[Problem] = field(default_factory=list)
    model: str | None = None  # the catalog model, for managed backends
    model_methods: tuple[str, ...] | None = None  # the methods its catalog row lists


def _default_model(backend: str) -> str | None:
    from ftrouter.catalog import models

    return next((m.name for m in models().values() if m.backend == backend and m.default_for_backend), None)


def _managed_rules(backend: str, model: str | None) -> _Rules:
    from ftrouter.catalog import get_model

    entry = get_model(model or _default_model(backend) or "")
    if entry.backend != backend:
        raise UsageError(f"model {entry.name!r} is a {entry.backend} model, not {backend}", code="wrong_backend")
    counter = counter_for_model(entry.name)
    counter.limit = entry.training_token_limit
    check = check_gemini if profile_for(backend).data_check == "gemini" else None
    return _Rules(counter, check, entry.min_examples, entry.max_validation_examples, model=entry.name,
                  model_methods=tuple(entry.methods))


def _local_rules(model: str | None) -> _Rules:
    if model is not None and Path(model).is_dir():
        return _Rules(counter_for_model(model), None, 1, None)
    note = make_problem("no_tokenizer", None, "no local tokenizer folder given (--model DIR): counts use o200k_base")
    return _Rules(TiktokenCounter(), None, 1, None, notes=[note])


def rules_for(backend: str, model: str | None) -> _Rules:
    return _managed_rules(backend, model) if profile_for(backend).managed else _local_rules(model)


def _with_severity(problems: list[Problem], backend: str) -> list[Problem]:
    table = profile_for(backend).severities  # severities the backend raises above the reader's defaults
    return [replace(p, severity=table[p.code]) if p.code in table else p for p in problems]


def _method_problems(backend: str, method: str, rules: _Rules, kinds: dict[str, int]) -> list[Problem]:
    """Whether the backend (and model) trains with ``method``, and the data is what the method trains on:
    the same judgement ``submit`` makes (``ftrouter.methods``)."""
    refusal = method_refusal(backend, method, model=rules.model, model_methods=rules.model_methods)
    if refusal is not None:
        return [make_problem("unsupported_method", None, refusal)]
    mismatch = data_refusal(method, kinds)
    return [make_problem("wrong_method", None, mismatch)] if mismatch else []


def validate_file(path: str | Path | FileScan, *, backend: str, model: str | None = None,
                  val_path: str | Path | None = None, fmt: str = "auto", method: str | None = None,
                  progress: Progress | None = None) -> ValidationReport:
    """Validate ``path`` (and ``val_path``) for ``backend`` (and ``model``; the backend's default when None)
    and training ``method`` (None: the one the data implies, dpo for preference data, else sft).

    ``progress`` gets (bytes read, bytes of both files), the validation file counted after the training file.
    """
    if method is not None and method not in METHOD_DATA:
        raise UnknownName("method", method, tuple(METHOD_DATA))
    rules = rules_for(backend, model)
    scan = path if isinstance(path, FileScan) else FileScan(path, fmt)
    val_size = file_size(val_path) if progress is not None else 0
    leak_check = LeakCheck(val_path, fmt) if val_path is not None else None  # leaks are found in the train pass
    check = _both(rules.check, leak_check)
    inspector = run_inspection(scan, rules.counter, check, progress=shifted(progress, 0, val_size))
    report = inspector.report(scan.path, scan.format, scan.container)
    leaks = None
    if leak_check is not None:
        report, leaks = leak_check.take(report)
    entries = [(str(scan.path), p) for p in _with_severity(rules.notes + report.problems, backend)]
    if 0 < report.examples < rules.min_examples:
        msg = f"{report.examples} examples; {backend} needs at least {rules.min_examples}"
        entries.append((str(scan.path), make_problem("too_few_examples", None, msg)))
    method = method or method_for_data(report.kinds)
    entries += [(str(scan.path), p) for p in _method_problems(backend, method, rules, report.kinds)]
    result = ValidationReport(backend=backend, model=getattr(rules.counter, "model", model), report=report,
                              entries=entries, method=method)
    if val_path is not None:
        train_size = file_size(scan.jsonl) if progress is not None else 0
        _validate_val(result, rules, Path(val_path), fmt, shifted(progress, train_size, 0))
    if leak_check is not None and leaks is not None:  # exact copies: an error; near-duplicates: a warning
        val = str(leak_check.path)
        result.entries += [(val, p) for p in leaks.problems(str(scan.path), val)]
    return result


def _both(first: ExampleCheck | None, second: ExampleCheck | None) -> ExampleCheck | None:
    if first is None or second is None:
        return first or second

    def check(example: Example, sink: ProblemSink) -> None:
        first(example, sink)
        second(example, sink)
    return check


def _validate_val(result: ValidationReport, rules: _Rules, val_path: Path, fmt: str,
                  progress: Progress | None) -> None:
    scan = FileScan(val_path, fmt)
    val = run_inspection(scan, rules.counter, rules.check, progress=progress).report(scan.path, scan.format,
                                                                                   scan.container)
    result.val_report = val
    result.entries += [(str(scan.path), p) for p in _with_severity(val.problems, result.backend)]
    mismatch = data_refusal(result.method, val.kinds)
    if mismatch:
        result.entries.append((str(scan.path), make_problem("wrong_method", None, mismatch)))
    if rules.max_val_examples is not None and val.examples > rules.max_val_examples:
        msg = f"{val.examples} validation examples; {result.backend} accepts at most {rules.max_val_examples}"
        result.entries.append((str(scan.path), make_problem("too_many_val_examples", None, msg)))
