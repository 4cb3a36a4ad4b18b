"""Reading an eval file: each row gives a prompt (chat messages) and the reference answer.

Accepted rows (one JSON object per line):

- OpenAI chat ``{"messages": [...]}``: the last assistant message is the reference, the messages before
  it are the prompt;
- prompt-completion ``{"prompt": ..., "completion": ...}`` (strings, or conversational message lists);
- classification ``{"text": ..., "label": ...}``: the text is the user turn, the label the reference;
- OpenAI preference (DPO) ``{"input": {"messages": [...]}, "preferred_output": [...]}``: the input's
  messages are the prompt, the preferred answer the reference (a DPO job's held-out file).

A row with no reference is an error naming FILE:LINE (exit 1): silently scoring it would be wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftrouter.data.containers import Source, open_source
from ftrouter.data.lines import iter_raw_lines
from ftrouter.data.reader import decode_json, original_lines
from ftrouter.errors import DataError, UsageError

Message = dict[str, str]
_SKIPPED_PROBLEMS = {"blank_line", "bom"}  # harmless: the rest of the file is still read


@dataclass(frozen=True, slots=True)
class EvalExample:
    """One row: ``line`` in the file, the prompt as chat messages, the reference text."""

    line: int
    prompt: tuple[tuple[str, str], ...]  # (role, content) pairs: hashable, cheap to hold
    reference: str
    is_label: bool = False  # a {"text","label"} row: the reference is a class label

    def messages(self) -> list[Message]:
        return [{"role": role, "content": content} for role, content in self.prompt]

    def prompt_text(self) -> str:
        """The prompt for a report: the last user turn (or the last turn of any role)."""
        for role, content in reversed(self.prompt):
            if role == "user":
                return content
        return self.prompt[-1][1] if self.prompt else ""


def _text(content: Any) -> str | None:
    """A message's text: a string, or OpenAI content parts ``[{"type": "text", "text": ...}]`` joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [str(p["text"]) for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return "".join(parts) if parts else None
    return None


def _turns(messages: Any, where: str) -> list[tuple[str, str]]:
    if not isinstance(messages, list) or not messages:
        raise ValueError(f"{where} must be a non-empty list of messages")
    turns = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise ValueError(f"{where}[{i}] is not a message with a role")
        text = _text(m.get("content"))
        turns.append((m["role"], text if text is not None else ""))
    return turns


def _from_chat(row: dict[str, Any]) -> tuple[list[tuple[str, str]], str | None]:
    turns = _turns(row["messages"], "messages")
    last_assistant = max((i for i, (role, _) in enumerate(turns) if role == "assistant"), default=None)
    if last_assistant is None:
        return turns, None
    return turns[:last_assistant], turns[last_assistant][1]


def _from_prompt_completion(row: dict[str, Any]) -> tuple[list[tuple[str, str]], str | None]:
    prompt, completion = row["prompt"], row.get("completion")
    turns = [("user", prompt)] if isinstance(prompt, str) else _turns(prompt, "prompt")
    if isinstance(completion, list):
        said = [text for role, text in _turns(completion, "completion") if role == "assistant"]
        return turns, said[-1] if said else None
    return turns, completion if isinstance(completion, str) else None


def _from_preference(row: dict[str, Any]) -> tuple[list[tuple[str, str]], str | None]:
    source = row["input"]
    if not isinstance(source, dict):
        raise ValueError('"input" must be an object with "messages"')
    turns = _turns(source.get("messages"), "input.messages")
    preferred = row.get("preferred_output")
    said = [text for role, text in _turns(preferred, "preferred_output") if role == "assistant"] if preferred else []
    return turns, said[-1] if said else None


def _from_label(row: dict[str, Any]) -> tuple[list[tuple[str, str]], str | None]:
    if not isinstance(row["text"], str):
        raise ValueError('"text" must be a string')
    label = row.get("label")
    if isinstance(label, bool) or not isinstance(label, (str, int)):
        return [("user", row["text"])], None
    return [("user", row["text"])], str(label)


def parse_row(row: Any, path: Path, line: int, *, require_reference: bool = True) -> EvalExample:
    """One decoded JSON row as an example, or a ``DataError`` naming FILE:LINE. Without
    ``require_reference`` (``ftrouter record``: the prompts to answer) a row may have no reference; its
    ``reference`` is then empty."""
    try:
        if not isinstance(row, dict):
            raise ValueError("a row must be a JSON object")
        if "messages" in row:
            prompt, reference = _from_chat(row)
        elif "prompt" in row:
            prompt, reference = _from_prompt_completion(row)
        elif "text" in row:
            prompt, reference = _from_label(row)
        elif "input" in row:
            prompt, reference = _from_preference(row)
        else:
            raise ValueError('unknown row: expected "messages", "prompt"/"completion", "text"/"label" or '
                             '"input"/"preferred_output"')
    except ValueError as exc:
        raise DataError(str(exc), path=path, line=line, code="invalid_eval_row") from None
    if require_reference and (reference is None or not reference.strip()):
        raise DataError("no reference answer (a chat row needs a final assistant message, prompt-completion a "
                        "completion, text a label, input a preferred_output)", path=path, line=line,
                        code="no_reference")
    if not prompt:
        raise DataError("no prompt before the reference", path=path, line=line, code="no_prompt")
    return EvalExample(line=line, prompt=tuple(prompt), reference=reference or "", is_label="text" in row)


def iter_examples(path: str | Path | Source, *, require_reference: bool = True) -> Iterator[EvalExample]:
    """The file's examples in order; stops with a ``DataError`` at the first bad row. The file is read as
    the data commands read it (``.gz``, a JSON array, CSV/TSV, Parquet, a pipe...: ``open_source``), and
    rows are numbered as in the original file; ``path`` may be an open ``Source``."""
    source = open_source(path)
    path = source.path
    for raw in original_lines(source, iter_raw_lines(source.jsonl)):
        if raw.problem is not None:
            if raw.problem.code in _SKIPPED_PROBLEMS:
                continue
            raise DataError(raw.problem.message, path=path, line=raw.problem.line, code=raw.problem.code)
        row, problem = decode_json(raw)
        if problem is not None:
            raise DataError(problem.message, path=path, line=problem.line, code=problem.code)
        yield parse_row(row, path, raw.number, require_reference=require_reference)


def read_examples(path: str | Path | Source, limit: int | None = None, *,
                  require_reference: bool = True) -> list[EvalExample]:
    """The first ``limit`` examples (all when None); the rest of the file is not read."""
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be at least 1, got {limit}", code="bad_option")
    source = open_source(path)
    path = source.path
    examples: list[EvalExample] = []
    for example in iter_examples(source, require_reference=require_reference):
        examples.append(example)
        if limit is not None and len(examples) >= limit:
            break
    if not examples:
        raise DataError("the eval file holds no examples", path=path, code="empty_file")
    return examples
