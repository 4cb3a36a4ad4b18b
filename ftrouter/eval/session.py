"""One eval run from its options to a stored run — what ``ftrouter eval`` and ``POST /v1/evals`` both
call, so the CLI and the service cannot drift apart.

Split in two: ``prepare`` does every check that needs no model call (options, the eval file, model specs,
credentials) so that bad input fails at once — before a service answers 202 —, and ``run_prepared``
answers, scores, compares and stores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftrouter.errors import PluginMissing, UsageError
from ftrouter.eval.answerer import ENGINES, Answerer, ModelSpec
from ftrouter.eval.dataset import EvalExample

if TYPE_CHECKING:
    from ftrouter.eval.encoder import EncoderPlan


@dataclass
class PreparedEval:
    data: Path
    examples: list[EvalExample]
    models: list[tuple[ModelSpec, Answerer]]
    metrics: list[str]
    concurrency: int | None
    judge: str | None
    judge_answerer: Answerer | None
    encoder: EncoderPlan | None = None  # an encoder run: scorers instead of answerers (``models`` is empty)

    @property
    def model_specs(self) -> list[ModelSpec]:
        if self.encoder is not None:
            return [spec for spec, _ in self.encoder.models]
        return [spec for spec, _ in self.models]

    @property
    def work(self) -> int:
        """Predictions to make: examples x models (what the progress bar counts)."""
        return len(self.examples) * len(self.model_specs)


def need_extra() -> None:
    """The metric libraries of the ``eval`` extra, or the install hint (exit 2)."""
    import importlib.util

    for module in ("numpy", "scipy", "sklearn"):
        if importlib.util.find_spec(module) is None:
            raise PluginMissing(f"ftrouter eval needs {module!r}, which is not installed: pip install 'ftrouter[eval]'")


def prepare(data: Path, models: list[str], metrics: list[str] | None = None, *, limit: int | None = None,
            concurrency: int | None = None, judge: str | None = None, engine: str = "auto") -> PreparedEval:
    """Validate the options, read the eval file and make the answerers (credentials are checked here).

    ``engine`` picks how local (``hf:``) models generate; it means nothing to remote ones. Encoder models
    (and data only encoders read) make an encoder run (``ftrouter.eval.encoder``)."""
    from ftrouter.data.containers import open_source
    from ftrouter.eval import encoder
    from ftrouter.eval.dataset import read_examples
    from ftrouter.eval.metrics import JUDGE, check_names
    from ftrouter.eval.run import choose_metrics
    from ftrouter.eval.specs import LOCAL_PREFIX, make_answerer, spec_for

    if engine not in ENGINES:
        raise UsageError(f"--engine: {engine!r} is not one of {', '.join(ENGINES)}", code="bad_option")
    if concurrency is not None and concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1, got {concurrency}", code="bad_option")
    asked = list(metrics or [])
    resolved = [spec_for(raw) for raw in models]
    source = open_source(data)  # a container or pipe is unpacked once, for the sniff and the reading
    task = encoder.encoder_task(source, resolved)
    if task is not None:
        plan, chosen, rows = encoder.plan(source, resolved, task, asked=asked, limit=limit, judge=judge,
                                          engine=engine)
        return PreparedEval(data, rows, [], chosen, concurrency, None, None, plan)
    check_names(asked)
    if JUDGE in asked and judge is None:
        raise UsageError("--metric judge needs --judge SPEC (the model that grades)", code="bad_option")
    examples = read_examples(source, limit)
    chosen = choose_metrics(examples, asked)
    if judge is not None and JUDGE not in chosen:
        chosen.append(JUDGE)
    specs = [_with_engine(spec, engine) for spec in resolved]
    if engine != "auto" and not any(s.provider == LOCAL_PREFIX for s in specs):
        raise UsageError(f"--engine {engine} applies to local models (hf:PATH or a local job), and none is given",
                         code="bad_option")
    if len({s.raw for s in specs}) != len(specs):
        raise UsageError("--model: the same model is given twice", code="bad_option")
    answerers = [(spec, make_answerer(spec)) for spec in specs]
    judge_answerer = make_answerer(spec_for(judge)) if judge is not None else None
    return PreparedEval(data, examples, answerers, chosen, concurrency, judge, judge_answerer)


def _with_engine(spec: ModelSpec, engine: str) -> ModelSpec:
    """The spec with ``--engine`` in its options when it is a local model (the plugin reads it)."""
    from ftrouter.eval.specs import LOCAL_PREFIX

    if spec.provider != LOCAL_PREFIX:
        return spec
    return replace(spec, options={**spec.options, "engine": engine})


def run_prepared(prepared: PreparedEval, tick: Callable[[int], None] | None = None,
                 run_id: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Answer, score, compare and store; returns the stored record and its example rows."""
    from ftrouter.eval.answerer import GenerationSettings
    from ftrouter.eval.cache import AnswerCache
    from ftrouter.eval.engine import ModelRun
    from ftrouter.eval.judge import JUDGE_SETTINGS, make_judge, make_preference
    from ftrouter.eval.run import evaluate
    from ftrouter.http import RetryPolicy

    if prepared.encoder is not None:
        from ftrouter.eval.encoder import run

        result = run(prepared.encoder, prepared.data, prepared.examples, prepared.metrics, tick)
        return _store(result, run_id)
    cache = AnswerCache()
    judge_fn = preference = None
    if prepared.judge_answerer is not None:
        judge_run = ModelRun(prepared.judge_answerer, f"judge {prepared.judge}",
                             prepared.concurrency or prepared.judge_answerer.default_concurrency, JUDGE_SETTINGS,
                             RetryPolicy())
        judge_fn = make_judge(judge_run, cache)
        preference = make_preference(judge_run, cache) if len(prepared.models) > 1 else None
    try:
        result = evaluate(prepared.data, prepared.examples, prepared.models, metrics=prepared.metrics,
                          concurrency=prepared.concurrency, settings=GenerationSettings(), cache=cache,
                          judge=judge_fn, preference=preference, tick=tick)
    finally:
        cache.close()
    return _store(result, run_id)


def _store(result: Any, run_id: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from ftrouter.eval import store
    from ftrouter.eval.summary import details, example_rows, summary

    rows = list(example_rows(result))
    saved = store.save_run(summary(result), details(result), rows, run_id=run_id)
    return store.load_run(saved), rows


def run_and_store(data: Path, models: list[str], tick: Callable[[int], None] | None = None) -> dict[str, Any]:
    """``ftrouter eval --data DATA --model M ...`` with the default metrics, for another command (``migrate
    --wait``): the stored run's record (its ``id``, ``summary`` and ``details``)."""
    need_extra()
    record, _ = run_prepared(prepare(data, models), tick)
    return record
