"""Leakage between a training file and its validation file.

- An **exact copy** (the same conversation, ``identity.example_key``; metadata ignored) in both files is
  an error: the validation loss would measure memorisation, not generalisation.
- A **near-duplicate** is a warning. Two examples are near-duplicates when their text is equal once it is
  Unicode-normalised (NFKC), case-folded and stripped of everything that is not a letter or a digit
  (whitespace, punctuation, symbols): roles, contents, tool-call names and arguments and preference
  replies, in order. One hash per example, so it is cheap on big files; it catches re-cased, re-spaced
  and re-punctuated copies, not paraphrases.

``data split`` groups examples by the same near-duplicate key, so its splits never leak either way.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field, replace
from hashlib import blake2b
from pathlib import Path

from ftrouter.data.canonical import Example, Message, Problem
from ftrouter.data.identity import example_key
from ftrouter.data.inspect import DatasetReport
from ftrouter.data.problems import ProblemSink, make_problem
from ftrouter.data.reader import FileScan

LISTED_PAIRS = 5  # FILE:LINE pairs named in the one-line summary
_NOT_ALNUM = re.compile(r"[\W_]+")


def _turn_text(m: Message) -> str:
    calls = " ".join(f"{c.name} {c.arguments}" for c in m.tool_calls) if m.tool_calls else ""
    return f"{m.role} {m.content or ''} {calls}"


_ASCII_DROP = str.maketrans("", "", "".join(chr(c) for c in range(128) if not chr(c).isalnum()))


def near_key(example: Example) -> int:
    """A 64-bit key equal for examples whose text is equal up to case, whitespace and punctuation."""
    turns = [*example.messages, *(example.chosen or ()), *(example.rejected or ())]
    text = " ".join([_turn_text(m) for m in turns])
    if text.isascii():  # the common case, all in C: lower-case and delete what is not a letter or digit
        body = text.lower().translate(_ASCII_DROP)
    else:
        body = _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", text).casefold())
    return int.from_bytes(blake2b(body.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


@dataclass
class Leaks:
    """Validation lines that copy a training example: ``{val line: first train line}``."""

    exact: dict[int, int] = field(default_factory=dict)
    near: dict[int, int] = field(default_factory=dict)
    incomplete: bool = False  # the training file had so many problems that some marks were not listed

    def problems(self, train: str, val: str) -> list[Problem]:
        """One summary problem per kind (count and the first FILE:LINE pairs), at the first validation line."""
        out = []
        for code, pairs, what in (
            ("train_val_overlap", self.exact, "are exact copies of training examples (leakage: the validation "
                                              "score would be inflated)"),
            ("train_val_near_duplicate", self.near, "equal a training example once case, whitespace and "
                                                    "punctuation are ignored"),
        ):
            if not pairs:
                continue
            lines = sorted(pairs)
            listed = ", ".join(f"{val}:{v} = {train}:{pairs[v]}" for v in lines[:LISTED_PAIRS])
            more = f", ... ({len(lines) - LISTED_PAIRS} more)" if len(lines) > LISTED_PAIRS else ""
            count = f"at least {len(lines)}" if self.incomplete else str(len(lines))
            out.append(make_problem(code, lines[0], f"{count} validation example(s) {what}: {listed}{more}"))
        return out


class LeakCheck:
    """Finds leaks while the training file is inspected (one pass, parallel-safe).

    Built from the (small) validation file: an index of its examples' near-duplicate keys. Run as an example
    check on every training example, it marks each hit on the training line as a problem whose message is
    the validation line (problems are what the inspection carries back from its forked workers);
    ``take`` then removes the marks from the training report and returns them as ``Leaks``."""

    CODES = ("train_val_overlap", "train_val_near_duplicate")

    def __init__(self, val_path: str | Path, fmt: str = "auto") -> None:
        self.index: dict[int, list[tuple[int, int]]] = {}  # near key -> [(val line, exact key)]
        scan = FileScan(val_path, fmt)
        self.path = scan.path
        for record in scan.records():
            if record.example is not None:  # lines with errors are reported by the validation file's own check
                key = near_key(record.example)
                self.index.setdefault(key, []).append((record.line, example_key(record.example)))

    def __call__(self, example: Example, sink: ProblemSink) -> None:
        hits = self.index.get(near_key(example)) if self.index else None
        if hits:
            exact = example_key(example)
            for val_line, val_exact in hits:
                sink.add(self.CODES[0] if val_exact == exact else self.CODES[1], str(val_line))

    def take(self, report: DatasetReport) -> tuple[DatasetReport, Leaks]:
        """The training report without the marks, and the leaks they record (exact copies win over near ones)."""
        leaks = Leaks()
        kept: list[Problem] = []
        counted = sum(report.problem_counts.get(code, 0) for code in self.CODES)
        leaks.incomplete = counted > sum(p.code in self.CODES for p in report.problems)  # past the listing cap
        for p in report.problems:
            if p.code not in self.CODES:
                kept.append(p)
            elif p.code == self.CODES[0]:
                leaks.exact.setdefault(int(p.message), p.line or 0)
            else:
                leaks.near.setdefault(int(p.message), p.line or 0)
        for val_line in leaks.exact:
            leaks.near.pop(val_line, None)
        counts = Counter(report.problem_counts)
        severities = Counter(report.severity_counts)
        for code in self.CODES:
            severities[make_problem(code, None, "").severity] -= counts.pop(code, 0)
        return replace(report, problems=kept, problem_counts=dict(counts), severity_counts=dict(severities)), leaks
