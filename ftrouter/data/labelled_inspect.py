"""``inspect_labelled``: what ``data inspect`` reports for labelled data (``ftrouter.data.labelled``).

Label counts (for token classification: tags per token), the imbalance ratio (largest class over the
smallest), the labels the validation file shows that training never does, duplicates (same inputs; a
different label is said so), and the token length of each example as the chosen model sees it: a local
model folder's own tokenizer (special tokens included, a text pair encoded together, as the classifier
reads it), else an OpenAI/tiktoken encoding (o200k_base by default) as an estimate. An embedding
example's length is its longest text.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftrouter.data.canonical import Problem
from ftrouter.data.containers import Source, open_source
from ftrouter.data.inspect import MAX_LISTED_PROBLEMS
from ftrouter.data.labelled import LabelledExample, labelled_format, scan_labelled
from ftrouter.data.problems import make_problem
from ftrouter.data.progress import Progress
from ftrouter.data.reader import FileScan
from ftrouter.errors import UsageError

_SANE_MAX_LENGTH = 10_000_000  # tokenizers without a real limit report a huge sentinel


def percentile(ordered: list[int], p: float) -> int:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)] if ordered else 0


@dataclass
class LabelledTokenizer:
    """Lengths of an example's inputs in tokens."""

    describe: dict[str, Any]
    length: Callable[[LabelledExample, str], int]
    limit: int | None = None


def _hf_tokenizer(folder: Path) -> LabelledTokenizer:
    try:
        from transformers import AutoTokenizer
    except ImportError as exc:
        raise UsageError("counting with a local tokenizer needs transformers: pip install -e providers/local") \
            from exc
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except Exception as exc:  # transformers raises OSError/ValueError/... for a folder without a tokenizer
        raise UsageError(f"cannot load a tokenizer from this folder: {exc}", path=folder) from exc

    def length(example: LabelledExample, fmt: str) -> int:
        if fmt == "token-classification":
            return len(tokenizer(list(example.texts), is_split_into_words=True)["input_ids"])
        if fmt == "pairs":
            return len(tokenizer(example.texts[0], example.texts[1])["input_ids"])
        return max(len(tokenizer(text)["input_ids"]) for text in example.texts)

    max_length = getattr(tokenizer, "model_max_length", None)
    limit = max_length if isinstance(max_length, int) and max_length < _SANE_MAX_LENGTH else None
    return LabelledTokenizer({"method": "tokenizer", "path": str(folder), "exact": True}, length, limit)


def tokenizer_for(model: str | None) -> LabelledTokenizer:
    """The model folder's tokenizer, or a tiktoken encoding (the model's, else o200k_base) as an estimate."""
    if model is not None and Path(model).is_dir():
        return _hf_tokenizer(Path(model))
    from ftrouter.data.encodings import DEFAULT_ENCODING, encoding_name_for_model, get_encoding

    name = (encoding_name_for_model(model) if model else None) or DEFAULT_ENCODING
    encode = get_encoding(name).encode_ordinary

    def length(example: LabelledExample, fmt: str) -> int:
        if fmt in ("pairs", "token-classification"):
            return len(encode(" ".join(example.texts)))
        return max(len(encode(text)) for text in example.texts)

    return LabelledTokenizer({"method": "tiktoken", "encoding": name, "exact": False}, length)


@dataclass
class LabelledReport:
    path: str
    format: str
    examples: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    lengths: list[int] = field(default_factory=list)
    duplicates: int = 0
    over_limit: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_counts: Counter[str] = field(default_factory=Counter)
    severity_counts: Counter[str] = field(default_factory=Counter)
    tokenizer: dict[str, Any] = field(default_factory=dict)
    token_limit: int | None = None

    @property
    def errors(self) -> int:
        return self.severity_counts.get("error", 0)

    @property
    def warnings(self) -> int:
        return self.severity_counts.get("warning", 0)

    @property
    def imbalance_ratio(self) -> float | None:
        """Examples of the most common label over those of the rarest (None with fewer than 2 labels)."""
        if len(self.labels) < 2:
            return None
        counts = self.labels.values()
        return round(max(counts) / min(counts), 2)

    def note(self, problem: Problem) -> None:
        self.problem_counts[problem.code] += 1
        self.severity_counts[problem.severity] += 1
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append(problem)

    def token_json(self) -> dict[str, Any]:
        ordered = sorted(self.lengths)
        return {"min": ordered[0] if ordered else 0, "mean": round(sum(ordered) / len(ordered), 1) if ordered else 0.0,
                "p50": percentile(ordered, 0.5), "p90": percentile(ordered, 0.9), "p95": percentile(ordered, 0.95),
                "p99": percentile(ordered, 0.99), "max": ordered[-1] if ordered else 0}

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "examples": self.examples,
                "labels": dict(self.labels.most_common()), "label_count": len(self.labels),
                "imbalance_ratio": self.imbalance_ratio, "tokens": self.token_json(), "tokenizer": self.tokenizer,
                "over_limit": self.over_limit, "token_limit": self.token_limit, "duplicates": self.duplicates,
                "errors": self.errors, "warnings": self.warnings, "problem_counts": dict(self.problem_counts),
                "problems": [{"line": p.line, "code": p.code, "severity": p.severity, "message": p.message}
                             for p in sorted(self.problems, key=lambda p: p.line or 0)]}


def _read(source: Source, fmt: str, tokenizer: LabelledTokenizer, progress: Progress | None) -> LabelledReport:
    report = LabelledReport(str(source.path), fmt, tokenizer=tokenizer.describe, token_limit=tokenizer.limit)
    first: dict[int, tuple[int, tuple[str, ...]]] = {}
    for record in scan_labelled(source, fmt, progress):
        for problem in record.problems:
            report.note(problem)
        example = record.example
        if example is None:
            continue
        report.examples += 1
        report.labels.update(example.labels)  # token classification: tags counted per token
        n = tokenizer.length(example, fmt)
        report.lengths.append(n)
        if tokenizer.limit is not None and n > tokenizer.limit:
            report.over_limit += 1
            report.note(make_problem("too_long", example.line, f"{n} tokens, over the model's limit of "
                                     f"{tokenizer.limit} (truncated in training)"))
        seen = first.setdefault(example.key(), (example.line, example.labels))
        if seen[0] != example.line:
            report.duplicates += 1
            other = "" if seen[1] == example.labels else " (with a different label)"
            report.note(make_problem("duplicate", example.line, f"same input as the example at line {seen[0]}{other}"))
    if report.examples == 0 and not report.errors:
        report.note(make_problem("empty_file", None, "the file holds no example"))
    return report


def _entity_types(labels: Counter[str]) -> set[str]:
    return {tag[2:] for tag in labels if tag != "O"}


@dataclass
class LabelledInspection:
    train: LabelledReport
    val: LabelledReport | None = None

    @property
    def only_in_val(self) -> list[str]:
        if self.val is None:
            return []
        if self.train.format == "token-classification":  # entity types, whatever their B-/I- prefix
            return sorted(_entity_types(self.val.labels) - _entity_types(self.train.labels))
        return sorted(set(self.val.labels) - set(self.train.labels))

    @property
    def errors(self) -> int:
        return self.train.errors + (self.val.errors if self.val else 0)

    def to_json(self) -> dict[str, Any]:
        out = self.train.to_json()
        out["labels_only_in_val"] = self.only_in_val
        out["val"] = self.val.to_json() if self.val else None
        return out


def inspect_labelled(path: str | Path | Source | FileScan, *, fmt: str = "auto", model: str | None = None,
                     val: str | Path | None = None, progress: Progress | None = None) -> LabelledInspection:
    """Inspect a labelled file (and its validation file); ``fmt`` auto-detects. ``path`` may be open already
    (a ``Source`` or ``FileScan``): a container is then not unpacked again. UsageError when it holds no
    labelled data."""
    source = path.source if isinstance(path, FileScan) else open_source(path)
    found = labelled_format(path if isinstance(path, FileScan) else source, fmt)
    if found is None:
        raise UsageError("not labelled data (text/label, text/labels, text1/text2/label, tokens/tags or "
                         "anchor/positive)", path=source.path, code="unknown_format")
    tokenizer = tokenizer_for(model)
    result = LabelledInspection(_read(source, found, tokenizer, progress))
    if val is not None:
        result.val = _read(open_source(val), found, tokenizer, None)
        for label in result.only_in_val:
            result.val.note(make_problem("label_only_in_val", None, f"label {label!r} is in the validation "
                                         "file but never in the training file"))
    return result
