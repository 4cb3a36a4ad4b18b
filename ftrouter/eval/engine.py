"""Getting every model's answer to every example: from the cache first, then from the model,
concurrently (``concurrency`` batches in flight), each call retried through ``ftrouter.http``.

A call that still fails after its retries is that example's error; the run goes on. A credentials or
quota error stops sending to that model (every later request would fail the same way) and, when the
model answered nothing, stops the run with that error (exit 4 / 3). With ``strict``, a model that
answered nothing at all stops the run with a provider error (exit 3); ``evaluate`` instead checks that
across all models. Memory stays flat in the number of examples: at most
``2 x concurrency`` batches are queued at a time and nothing but the small ``Outcome``s is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from ftrouter.errors import AuthError, BackendError, FtrouterError, QuotaError
from ftrouter.eval.answerer import Answer, Answerer, GenerationSettings
from ftrouter.eval.cache import AnswerCache, cache_key
from ftrouter.eval.dataset import EvalExample
from ftrouter.http import RetryPolicy, call_with_retries

Tick = Callable[[int], None]  # called with how many examples just finished (progress)


@dataclass(slots=True)
class Outcome:
    """One model's result on one example: an answer or an error."""

    text: str | None = None
    error: str | None = None
    cached: bool = False
    latency_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.text is not None


def _from_answer(answer: Answer, cached: bool) -> Outcome:
    return Outcome(text=answer.text, cached=cached, latency_ms=answer.latency_ms,
                   input_tokens=answer.input_tokens, output_tokens=answer.output_tokens)


@dataclass
class ModelRun:
    """The engine's settings for one model."""

    answerer: Answerer
    label: str  # the spec as the user typed it, for messages
    concurrency: int
    settings: GenerationSettings
    retry: RetryPolicy


def _batches(pending: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(pending), max(1, size)):
        yield pending[start:start + max(1, size)]


class _Sender:
    """Sends one batch with retries; stores answers in the cache as they come."""

    def __init__(self, run: ModelRun, prompts: list[list[dict[str, str]]], keys: list[str], cache: AnswerCache,
                 outcomes: list[Outcome]) -> None:
        self.run, self.prompts, self.keys, self.cache, self.outcomes = run, prompts, keys, cache, outcomes
        self.errors: list[FtrouterError] = []
        self.fatal: FtrouterError | None = None  # credentials or quota: no point in sending more

    def send(self, batch: list[int], lines: list[int]) -> None:
        run = self.run
        if self.fatal is not None:
            for i in batch:
                self.outcomes[i] = Outcome(error=str(self.fatal))
            return
        what = f"{run.label}: example at line {lines[0]}" if len(batch) == 1 else f"{run.label}: batch of {len(batch)}"
        started = time.perf_counter()
        try:
            answers = call_with_retries(
                lambda: run.answerer.answer([self.prompts[i] for i in batch], run.settings), run.retry, what=what)
        except FtrouterError as exc:
            self.errors.append(exc)
            if isinstance(exc, (AuthError, QuotaError)):
                self.fatal = exc
            for i in batch:
                self.outcomes[i] = Outcome(error=str(exc))
            return
        elapsed_ms = (time.perf_counter() - started) * 1000
        for i, answer in zip(batch, answers, strict=True):
            if answer.latency_ms is None:
                answer.latency_ms = elapsed_ms / len(batch)
            self.cache.put(self.keys[i], answer)
            self.outcomes[i] = _from_answer(answer, cached=False)


def answer_all(examples: list[EvalExample], run: ModelRun, cache: AnswerCache,
               tick: Tick | None = None, *, strict: bool = True) -> list[Outcome]:
    """Every example's outcome for one model, in the examples' order."""
    prompts = [ex.messages() for ex in examples]
    keys = [cache_key(run.answerer.identity, p, run.settings) for p in prompts]
    hits = cache.get_many(keys)
    outcomes = [Outcome() for _ in examples]
    pending: list[int] = []
    for i, key in enumerate(keys):
        if key in hits:
            outcomes[i] = _from_answer(hits[key], cached=True)
        else:
            pending.append(i)
    if tick is not None and len(pending) < len(examples):
        tick(len(examples) - len(pending))
    sender = _Sender(run, prompts, keys, cache, outcomes)
    _send_all(sender, pending, examples, tick)
    if sender.errors and not any(o.ok for o in outcomes):
        if sender.fatal is not None:
            raise sender.fatal
        if strict:
            _raise_all_failed(run.label, sender.errors)
    return outcomes


def _send_all(sender: _Sender, pending: list[int], examples: list[EvalExample], tick: Tick | None) -> None:
    run = sender.run
    workers = max(1, run.concurrency)
    in_flight: dict[Future[None], int] = {}
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ftrouter-eval")
    try:
        for batch in _batches(pending, run.answerer.batch_size):
            while len(in_flight) >= 2 * workers:  # bounded queue: memory flat in the number of examples
                _reap(in_flight, tick)
            in_flight[pool.submit(sender.send, batch, [examples[i].line for i in batch])] = len(batch)
        while in_flight:
            _reap(in_flight, tick)
    except BaseException:
        # Ctrl-C or a bug: drop what is queued; what was answered is already in the cache for the next run
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _reap(in_flight: dict[Future[None], int], tick: Tick | None) -> None:
    done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
    for future in done:
        size = in_flight.pop(future)
        future.result()  # an answerer bug (not an FtrouterError) surfaces here, not silently
        if tick is not None:
            tick(size)


def _raise_all_failed(label: str, errors: list[FtrouterError]) -> None:
    raise BackendError(f"{label}: every request failed; the first error: {errors[0]}", code="all_requests_failed")
