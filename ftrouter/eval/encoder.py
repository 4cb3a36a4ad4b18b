"""``ftrouter eval`` on encoder models: classifiers, taggers and embedders trained by ``submit --task``.

These models predict labels, tags or rankings, not text, so they are not answerers: a plugin's scorer
loads the saved model with its label map, predicts on the labelled test file and returns per-example
statistics (``Scored``) under the metric names training reports in ``status --json`` ``metrics``. The
rest is the generative eval's: bootstrap intervals, paired comparisons (McNemar's exact test on 0/1
metrics, the paired bootstrap otherwise), the stored run and every report format.

A run is an encoder run when a ``--model`` is an encoder (a job trained with ``--task``, or a local
folder with a classification head or a sentence-transformers config) or the data is labelled data that
only encoders read (multi-label, pairs, token classification, embedding pairs). The data's format
fixes the task; every model is then scored on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ftrouter.data.containers import Source, open_source
from ftrouter.data.labelled import TASK_FORMATS, LabelledExample
from ftrouter.errors import DataError, UsageError
from ftrouter.eval.answerer import ModelSpec
from ftrouter.eval.dataset import EvalExample

if TYPE_CHECKING:  # numpy (the eval extra) is imported only when a run starts
    from ftrouter.eval.metrics import Scored

FORMAT_TASKS = {fmt: task for task, fmt in TASK_FORMATS.items()}  # data format -> the task scored on it
ENCODER_TASKS = tuple(TASK_FORMATS)
# formats the generative eval cannot read: such a file is an encoder run whatever the models are
ENCODER_ONLY_FORMATS = frozenset(TASK_FORMATS.values()) - {"classification"}
SCORER_TARGET = "ftrouter_local.encoder_eval:make_scorer"  # the local plugin loads and runs the models
SCORER_HINT = "pip install -e providers/local"
_HEADS = ("ForSequenceClassification", "ForTokenClassification")


@dataclass
class EncoderScores:
    """One model on the test file: every metric's per-example statistics, and per example what it
    predicted (text for the reports)."""

    scored: dict[str, Scored]
    answers: list[str]
    latency_ms: float | None = None  # per example, the model's prediction time averaged


class EncoderScorer(Protocol):
    identity: str
    metrics: tuple[str, ...]  # the task's metrics, headline first (training's names)

    def score(self, examples: list[LabelledExample]) -> EncoderScores:
        ...


@dataclass
class EncoderPlan:
    task: str
    labelled: list[LabelledExample]
    models: list[tuple[ModelSpec, EncoderScorer]]


def folder_task(path: str) -> str | None:
    """What an encoder folder was trained for: ftrouter's ``summary.json`` task; else ``classification``
    / ``token-classification`` for a transformers head, ``embedding`` for a sentence-transformers folder;
    None for anything else (a causal LM, a bare encoder)."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        return None
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        if isinstance(summary, dict) and summary.get("task") in ENCODER_TASKS:
            return str(summary["task"])
    except (OSError, ValueError):
        pass
    if (folder / "modules.json").is_file():
        return "embedding"
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    heads = [a for a in config.get("architectures") or [] if isinstance(a, str) and a.endswith(_HEADS)]
    if not heads:
        return None
    return "token-classification" if heads[0].endswith("ForTokenClassification") else "classification"


def model_task(spec: ModelSpec) -> str | None:
    """The encoder task behind a resolved ``--model`` (a job's ``--task``, or its folder's), or None."""
    task = spec.options.get("task")
    if isinstance(task, str):
        return task
    return folder_task(spec.model) if spec.provider == "hf" and spec.adapter is None else None


def encoder_task(data: Source, specs: list[ModelSpec]) -> str | None:
    """The task of an encoder run on ``data`` (the eval file, opened) with these models, or None for a
    generative run."""
    from ftrouter.data.labelled import labelled_format

    tasks = {s.raw: t for s in specs if (t := model_task(s)) is not None}
    fmt = labelled_format(data)  # a pipe was copied once when it was opened: sniffing reads the copy
    if not tasks and fmt not in ENCODER_ONLY_FORMATS:
        return None
    if fmt is None:
        wanted = ", ".join(sorted({TASK_FORMATS[t] for t in tasks.values()}))
        raise UsageError(f"--data holds no labelled data: {', '.join(tasks)} is scored on a labelled test file "
                         f"({wanted}; see docs/classification.md)", path=str(data.path), code="wrong_format")
    task = FORMAT_TASKS[fmt]
    for raw, trained in tasks.items():
        if not _compatible(trained, task):
            raise UsageError(f"--model {raw} was trained for {trained}, but --data is {fmt} data",
                             path=str(data.path), code="wrong_format")
    for spec in specs:
        if spec.raw not in tasks and spec.provider != "hf":
            raise UsageError(f"--model {spec.raw}: {fmt} data is scored by encoder models (a job trained with "
                             f"--task {task}, or hf:FOLDER); evaluate other models on it in a separate run",
                             code="bad_model_spec")
    return task


def _compatible(trained: str, task: str) -> bool:
    """A folder read as ``classification`` from its head alone may hold a pair or multi-label classifier."""
    if trained == task:
        return True
    return trained == "classification" and task in ("pair-classification", "multi-label")


def read_labelled(path: Path | Source, task: str, limit: int | None) -> list[LabelledExample]:
    """The test file's examples; the first error stops the run naming FILE:LINE (exit 1)."""
    from ftrouter.data.labelled import scan_labelled

    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be at least 1, got {limit}", code="bad_option")
    source = open_source(path)
    path = source.path
    examples: list[LabelledExample] = []
    for record in scan_labelled(source, TASK_FORMATS[task]):
        errors = [p for p in record.problems if p.severity == "error"]
        if errors:
            raise DataError(errors[0].message, path=str(path), line=record.line, code=errors[0].code)
        if record.example is not None:
            examples.append(record.example)
            if limit is not None and len(examples) >= limit:
                break
    if not examples:
        raise DataError("the eval file holds no examples", path=str(path), code="empty_file")
    return examples


def make_scorer(spec: ModelSpec, task: str) -> EncoderScorer:
    from ftrouter.plugins import import_for

    module_name, _, attr = SCORER_TARGET.partition(":")
    scorer: EncoderScorer = getattr(import_for(module_name, f"--model {spec.raw}:", SCORER_HINT), attr)(spec, task)
    return scorer


def choose(task_metrics: tuple[str, ...], asked: list[str]) -> list[str]:
    """``--metric`` picks (and orders: the first is the headline) among the task's metrics."""
    for name in asked:
        if name not in task_metrics:
            raise UsageError(f"--metric: {name!r} is not a metric of this encoder task (known: "
                             f"{', '.join(task_metrics)})", code="bad_metric")
    return list(dict.fromkeys(asked)) or list(task_metrics)


def plan(data: Path | Source, specs: list[ModelSpec], task: str, *, asked: list[str], limit: int | None,
         judge: str | None, engine: str) -> tuple[EncoderPlan, list[str], list[EvalExample]]:
    """Check the options, read the test file and load the scorers: (plan, metrics, report rows)."""
    if judge is not None or "judge" in asked:
        raise UsageError("--judge grades generated text; encoder models predict labels", code="bad_option")
    if engine != "auto":
        raise UsageError(f"--engine {engine} applies to generating models, not to encoders", code="bad_option")
    if len({s.raw for s in specs}) != len(specs):
        raise UsageError("--model: the same model is given twice", code="bad_option")
    labelled = read_labelled(data, task, limit)
    specs = [replace(s, options={**s.options, "task": task}) for s in specs]
    models = [(spec, make_scorer(spec, task)) for spec in specs]
    metrics = choose(models[0][1].metrics, asked)
    return EncoderPlan(task, labelled, models), metrics, [as_eval_example(ex, task) for ex in labelled]


def as_eval_example(example: LabelledExample, task: str) -> EvalExample:
    """A labelled example as a report row: its input(s) as the prompt, its label(s) as the reference."""
    texts, labels = example.texts, example.labels
    if task == "embedding":
        return EvalExample(example.line, (("user", texts[0]),), texts[1])
    if task == "token-classification":
        return EvalExample(example.line, (("user", " ".join(texts)),), " ".join(labels))
    prompt = (("user", "\n\n".join(texts)),)  # a pair's two texts in one turn, as reports show one prompt
    return EvalExample(example.line, prompt, ", ".join(labels), is_label=task != "multi-label")


def run(prepared_plan: EncoderPlan, data: Path, examples: list[EvalExample], metrics: list[str],
        tick: Callable[[int], None] | None = None) -> Any:
    """Score every model, then the intervals and the paired comparisons: an ``EvalResult``."""
    from ftrouter.eval.answerer import GenerationSettings
    from ftrouter.eval.engine import Outcome
    from ftrouter.eval.run import EvalResult, ModelResult, pairwise
    from ftrouter.eval.stats import ci95

    results = []
    for spec, scorer in prepared_plan.models:
        scores = scorer.score(prepared_plan.labelled)
        outcomes = [Outcome(text=answer, latency_ms=scores.latency_ms) for answer in scores.answers]
        result = ModelResult(spec, None, outcomes)
        for name in metrics:
            result.scored[name] = scores.scored[name]
            result.intervals[name] = ci95(scores.scored[name])
        results.append(result)
        if tick is not None:
            tick(len(examples))
    return EvalResult(data, examples, metrics, results, pairwise(results, metrics, examples, None),
                      GenerationSettings())
