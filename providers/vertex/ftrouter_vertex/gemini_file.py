"""Checks and statistics of a converted Gemini tuning file, applying Vertex's own rules.

The data engine validates the user's file (with line numbers of THAT file) and writes the Gemini
form; this module reads the written form once more, as Vertex will, so that what is uploaded is
known to satisfy Vertex: ``contents`` alternate user/model starting with the user and ending with the
model, the file is at most 1 GB, the validation set holds at most the model's limit of examples.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftrouter.errors import DataError

MAX_FILE_BYTES = 1024**3  # Vertex: a tuning dataset file may be at most 1 GB


@dataclass(frozen=True)
class GeminiFileStats:
    path: str
    examples: int
    bytes: int
    with_system_instruction: int
    with_tools: int
    turns_min: int
    turns_max: int
    turns_mean: float

    def summary(self) -> dict[str, Any]:
        """Flat, readable facts for ``submit --dry-run`` (and ``--json``)."""
        return {
            "examples": self.examples,
            "bytes": self.bytes,
            "with_system_instruction": self.with_system_instruction,
            "with_tools": self.with_tools,
            "turns_per_example": f"min {self.turns_min} · mean {self.turns_mean:.1f} · max {self.turns_max}",
        }


def _roles(obj: Any, path: Path, line: int) -> list[str]:
    contents = obj.get("contents") if isinstance(obj, dict) else None
    if not isinstance(contents, list) or not contents:
        raise DataError("converted example has no contents", path=path, line=line, code="missing_messages")
    return [str(c.get("role", "user")) if isinstance(c, dict) else "?" for c in contents]


def check_alternation(roles: list[str], path: Path, line: int) -> None:
    """Vertex: turns alternate user/model, the first from the user and the last from the model."""
    if roles[0] != "user":
        raise DataError(f"the first turn is from {roles[0]!r}; Vertex needs the user to speak first",
                        path=path, line=line, code="roles_out_of_order")
    for index in range(1, len(roles)):
        if roles[index] == roles[index - 1]:
            raise DataError(f"turns {index} and {index + 1} are both from {roles[index]!r}; Vertex needs user and "
                            "model turns to alternate", path=path, line=line, code="roles_out_of_order")
    if roles[-1] != "model":
        raise DataError("the last turn is not from the model; Vertex trains on a final model turn",
                        path=path, line=line, code="last_turn_not_assistant")


def read_gemini_file(path: Path, *, max_examples: int | None = None, role: str = "train") -> GeminiFileStats:
    """Check a converted Gemini JSONL file against Vertex's rules and summarise it."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise DataError(f"the converted {role} file is {size / 1024**3:.2f} GB; Vertex accepts at most 1 GB per file",
                        path=path, code="file_too_large")
    turns: list[int] = []
    system = tools = 0
    with path.open(encoding="utf-8") as handle:
        for line_no, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            obj = json.loads(text)
            roles = _roles(obj, path, line_no)
            check_alternation(roles, path, line_no)
            turns.append(len(roles))
            system += 1 if obj.get("systemInstruction") else 0
            tools += 1 if obj.get("tools") else 0
    if not turns:
        raise DataError(f"the converted {role} file holds no examples", path=path, code="empty_file")
    if max_examples is not None and len(turns) > max_examples:
        raise DataError(f"the {role} set has {len(turns)} examples; Vertex accepts at most {max_examples} "
                        "for this model", path=path, code="too_many_validation_examples")
    return GeminiFileStats(
        path=str(path), examples=len(turns), bytes=size, with_system_instruction=system, with_tools=tools,
        turns_min=min(turns), turns_max=max(turns), turns_mean=statistics.fmean(turns),
    )


def token_percentiles(example_tokens: list[int]) -> str:
    """``p50 / p95 / max`` of per-example token estimates."""
    if not example_tokens:
        return "-"
    ordered = sorted(example_tokens)

    def pct(q: float) -> int:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return f"p50 {pct(0.5):,} · p95 {pct(0.95):,} · max {ordered[-1]:,}"
