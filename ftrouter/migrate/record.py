"""``ftrouter record``: a model's answers to a prompt set, written as an OpenAI chat training/eval file.

Before a fine-tune shuts down, its answers are the one thing nothing can reproduce: recorded, they are
the golden answers for the comparison and distillation data for the replacement
(``ftrouter migrate --from-recorded FILE``). The answers come from the eval engine (``answer_all``: the
answer cache, concurrency, retries through ``ftrouter.http``), so a rerun after a failure asks only for
what is still missing, and a later ``ftrouter eval`` of the same model is served from the cache.

Each written row is the prompt's own messages (as they are in the input, tool calls and all) plus the
model's answer as the final assistant turn, with the row's ``tools`` kept. A row's reference (a final
assistant turn, a completion, a label, a preferred output) is not needed and is replaced. An example the
model failed on (an error after retries, or an empty answer) is not written and is reported with its line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftrouter.data.containers import Source
from ftrouter.errors import BackendError, UsageError
from ftrouter.eval.answerer import ModelSpec
from ftrouter.eval.dataset import EvalExample
from ftrouter.eval.engine import Outcome, Tick

KEPT_KEYS = ("tools", "parallel_tool_calls", "functions")  # what OpenAI's chat format carries besides messages
JOB_PREFIXES = ("ftr-", "ftjob-")  # a registry id or the provider's id of an imported job
SHOWN_FAILURES = 5


@dataclass
class Recording:
    """What ``record --json`` prints (``failed_lines``/``first_error`` say which examples were left out)."""

    model: str
    data: Path
    output: Path
    written: int = 0
    cached: int = 0
    failed_lines: list[int] = field(default_factory=list)
    first_error: str | None = None

    @property
    def failed(self) -> int:
        return len(self.failed_lines)

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "data": str(self.data), "written": self.written, "failed": self.failed,
                "cached": self.cached, "output": str(self.output), "failed_lines": self.failed_lines,
                "first_error": self.first_error}


def spec_for_recording(raw: str) -> ModelSpec:
    """A job (``ftr-...``, ``ftjob-...``) is its tuned model, as in ``ftrouter eval``; else an eval model spec."""
    from ftrouter.eval.specs import parse_spec, resolve_job

    return resolve_job(raw) if raw.startswith(JOB_PREFIXES) else parse_spec(raw)


def default_output(data: Path) -> Path:
    return data.with_name(f"{data.stem}.recorded.jsonl")


def check_paths(data: Path, output: Path) -> None:
    """Refuse to overwrite the prompts with the answers (before any model is asked)."""
    from ftrouter.data.atomic import check_output_path

    check_output_path(output)
    if not data.is_file():
        raise UsageError("no such file", path=data, code="file_not_found")
    if output.resolve() == data.resolve() or (output.exists() and output.samefile(data)):
        raise UsageError("-o is the prompts file itself; write the answers to another file", path=output,
                         code="output_is_input")


def read_prompts(data: Path | Source, limit: int | None = None) -> list[EvalExample]:
    """The prompts to answer (rows with or without a reference); a bad row is a ``DataError`` at FILE:LINE."""
    from ftrouter.eval.dataset import read_examples

    return read_examples(data, limit, require_reference=False)


def record(spec: ModelSpec, data: Path, output: Path, examples: list[EvalExample], *,
           concurrency: int | None = None, tick: Tick | None = None, source: Source | None = None) -> Recording:
    """Ask ``spec`` for its answer to every prompt in ``examples`` (read from ``data``) and write ``output``
    (atomically). Raises when no prompt got an answer (nothing is written then). ``source``: ``data`` as the
    prompts were read from it (``open_source``), so a container is not unpacked again to write the rows."""
    from ftrouter.data.atomic import atomic_writer
    from ftrouter.eval.answerer import GenerationSettings
    from ftrouter.eval.cache import AnswerCache
    from ftrouter.eval.engine import ModelRun, answer_all
    from ftrouter.eval.specs import make_answerer
    from ftrouter.http import RetryPolicy

    check_paths(data, output)
    answerer = make_answerer(spec)  # credentials are checked before any call
    run = ModelRun(answerer, spec.raw, concurrency or answerer.default_concurrency, GenerationSettings(),
                   RetryPolicy())
    cache = AnswerCache()
    try:
        outcomes = answer_all(examples, run, cache, tick, strict=True)
    finally:
        cache.close()
    result = Recording(model=spec.raw, data=data, output=output)
    answers: dict[int, str] = {}
    for example, outcome in zip(examples, outcomes, strict=True):
        if outcome.ok and (outcome.text or "").strip():
            answers[example.line] = outcome.text or ""
            result.cached += outcome.cached
        else:
            result.failed_lines.append(example.line)
            result.first_error = result.first_error or _why(outcome)
    if not answers:  # every request "succeeded" with an empty answer: an empty file would pass for a recording
        raise BackendError(f"{spec.raw}: no prompt got an answer ({result.first_error}); nothing written to "
                           f"{output}", code="all_requests_failed")
    with atomic_writer(output) as f:
        for row in _recorded_rows(source or data, answers):
            f.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
            result.written += 1
    return result


def _why(outcome: Outcome) -> str:
    return outcome.error or "the model gave an empty answer"


def _recorded_rows(data: Path | Source, answers: dict[int, str]) -> Iterator[dict[str, Any]]:
    """The answered rows of ``data`` in file order, each with its answer as the last assistant turn (the
    file was read whole and checked already, so every line here decodes)."""
    from ftrouter.data.containers import open_source
    from ftrouter.data.lines import iter_raw_lines
    from ftrouter.data.reader import decode_json, original_lines

    last = max(answers, default=0)
    source = open_source(data)  # numbered as read_prompts numbered them: a .gz or CSV row by its original line
    for raw in original_lines(source, iter_raw_lines(source.jsonl)):
        if raw.number > last:
            return
        if raw.number not in answers or raw.problem is not None:
            continue
        row, _ = decode_json(raw)
        yield recorded_row(row, answers[raw.number])


def recorded_row(row: dict[str, Any], answer: str) -> dict[str, Any]:
    """An input row (chat, prompt-completion, text-label, preference) as a chat row answered with ``answer``."""
    if "messages" in row:
        messages = list(row["messages"])
        assistants = [i for i, m in enumerate(messages) if m.get("role") == "assistant"]
        prompt = messages[:assistants[-1]] if assistants else messages
    elif "prompt" in row:
        prompt = [{"role": "user", "content": row["prompt"]}] if isinstance(row["prompt"], str) else list(row["prompt"])
    elif "text" in row:
        prompt = [{"role": "user", "content": row["text"]}]
    else:  # a preference (DPO) row: its input's messages, with the tools it was given
        prompt = list(row["input"]["messages"])
        row = row["input"]
    recorded: dict[str, Any] = {"messages": [*prompt, {"role": "assistant", "content": answer}]}
    recorded.update({key: row[key] for key in KEPT_KEYS if key in row})
    return recorded
