"""The engine against a loopback OpenAI-compatible server: concurrency, 429 + Retry-After, 500s,
per-example failures, every request failing, and resuming from the answer cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from loopback_openai import LoopbackOpenAI

from ftrouter.errors import AuthError, BackendError
from ftrouter.eval.answerer import Answer, GenerationSettings
from ftrouter.eval.cache import AnswerCache
from ftrouter.eval.dataset import read_examples
from ftrouter.eval.engine import ModelRun, Outcome, answer_all
from ftrouter.eval.specs import make_answerer, parse_spec
from ftrouter.http import RetryPolicy


def write_eval(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "eval.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"item {i}", "completion": f"item {i}"}) + "\n" for i in range(n)))
    return path


def run_for(server: LoopbackOpenAI, *, concurrency: int = 4, sleeps: list[float] | None = None,
            attempts: int = 5) -> ModelRun:
    answerer = make_answerer(parse_spec(f"openai:m@{server.base_url}"))
    policy = RetryPolicy(attempts=attempts, sleep=(sleeps if sleeps is not None else []).append)
    return ModelRun(answerer, "openai:m", concurrency, GenerationSettings(), policy)


def answer(tmp_path: Path, server: LoopbackOpenAI, n: int, **kw: Any) -> list[Outcome]:
    cache = AnswerCache(tmp_path / "cache.db")
    try:
        return answer_all(read_examples(write_eval(tmp_path, n)), run_for(server, **kw), cache)
    finally:
        cache.close()


def test_requests_run_concurrently_up_to_the_limit(tmp_path: Path) -> None:
    with LoopbackOpenAI(delay_s=0.1) as server:
        outcomes = answer(tmp_path, server, 24, concurrency=6)
    assert [o.text for o in outcomes] == [f"item {i}" for i in range(24)]  # in the examples' order
    assert server.state.max_in_flight == 6


def test_429_waits_for_retry_after_then_succeeds(tmp_path: Path) -> None:
    sleeps: list[float] = []
    with LoopbackOpenAI(faults=[(429, {"Retry-After": "7"}), (500, {})]) as server:
        outcomes = answer(tmp_path, server, 1, concurrency=1, sleeps=sleeps)
    assert outcomes[0].text == "item 0" and server.state.requests == 3
    assert sleeps[0] == 7.0 and len(sleeps) == 2  # the server's pause, then a backoff for the 500


def test_a_failing_example_is_an_error_and_the_run_goes_on(tmp_path: Path) -> None:
    def fail_item_2(messages: list[dict[str, Any]]) -> int | None:
        return 500 if messages[-1]["content"] == "item 2" else None

    with LoopbackOpenAI(fail_when=fail_item_2) as server:
        outcomes = answer(tmp_path, server, 5, attempts=3)
    assert [o.ok for o in outcomes] == [True, True, False, True, True]
    assert "500" in (outcomes[2].error or "") and server.state.requests == 4 + 3


def test_every_request_failing_is_a_provider_error(tmp_path: Path) -> None:
    with LoopbackOpenAI(fail_when=lambda m: 500) as server, pytest.raises(BackendError) as caught:
        answer(tmp_path, server, 3, attempts=2)
    assert caught.value.exit_code == 3 and "every request failed" in str(caught.value)


def test_a_rejected_key_everywhere_is_an_auth_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "not-a-key.refused-by-loopback")  # fake, not key-shaped
    with LoopbackOpenAI(require_key="right") as server, pytest.raises(AuthError) as caught:
        answer(tmp_path, server, 5, concurrency=1)
    assert caught.value.exit_code == 4 and "refused-by-loopback" not in str(caught.value)
    assert server.state.requests == 1  # a rejected key stops the sending: the other four would fail the same


def test_a_rerun_sends_nothing(tmp_path: Path) -> None:
    with LoopbackOpenAI() as server:
        first = answer(tmp_path, server, 5)
        again = answer(tmp_path, server, 5)
    assert server.state.requests == 5
    assert [o.text for o in again] == [o.text for o in first] and all(o.cached for o in again)


def test_the_cache_keys_on_settings_and_model(tmp_path: Path) -> None:
    with LoopbackOpenAI() as server:
        answer(tmp_path, server, 2)
        run = run_for(server)
        run.settings = GenerationSettings(max_tokens=10)
        cache = AnswerCache(tmp_path / "cache.db")
        answer_all(read_examples(write_eval(tmp_path, 2)), run, cache)
    assert server.state.requests == 4


class Interrupting:
    """An answerer that is interrupted (Ctrl-C) after ``after`` answers."""

    identity, default_concurrency, batch_size, price_model = "fake", 1, 1, None

    def __init__(self, after: int) -> None:
        self.after, self.calls = after, 0

    def answer(self, prompts: list[list[dict[str, str]]], settings: GenerationSettings) -> list[Answer]:
        self.calls += 1
        if self.calls > self.after:
            raise KeyboardInterrupt
        return [Answer(text=p[-1]["content"].upper()) for p in prompts]


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path: Path) -> None:
    examples = read_examples(write_eval(tmp_path, 6))
    cache = AnswerCache(tmp_path / "cache.db")
    first = Interrupting(after=4)
    with pytest.raises(KeyboardInterrupt):
        answer_all(examples, ModelRun(first, "fake", 1, GenerationSettings(), RetryPolicy()), cache)
    second = Interrupting(after=100)
    outcomes = answer_all(examples, ModelRun(second, "fake", 1, GenerationSettings(), RetryPolicy()), cache)
    assert second.calls == 2 and sum(o.cached for o in outcomes) == 4
    assert [o.text for o in outcomes] == [f"ITEM {i}" for i in range(6)]


def test_requests_to_a_compatible_server_use_max_tokens(tmp_path: Path) -> None:
    with LoopbackOpenAI() as server:
        answer(tmp_path, server, 1)
    assert server.state.bodies == [{"model": "m", "messages": [{"role": "user", "content": "item 0"}],
                                    "temperature": 0.0, "max_tokens": 1024}]


class AlwaysFirst:
    """A judge with pure position bias: it always prefers the answer shown first."""

    identity, default_concurrency, batch_size, price_model = "biased-judge", 1, 1, None

    def answer(self, prompts: list[list[dict[str, str]]], settings: GenerationSettings) -> list[Answer]:
        return [Answer(text="1") for _ in prompts]


def test_a_position_biased_judge_prefers_neither_model(tmp_path: Path) -> None:
    from ftrouter.eval.judge import JUDGE_SETTINGS, make_preference

    examples = read_examples(write_eval(tmp_path, 8))
    a = [Outcome(text=f"a{i}") for i in range(8)]
    b = [Outcome(text=f"b{i}") for i in range(8)]
    prefer = make_preference(ModelRun(AlwaysFirst(), "judge", 1, JUDGE_SETTINGS, RetryPolicy()),
                             AnswerCache(tmp_path / "cache.db"))
    comparison = prefer(examples, "a", a, "b", b)
    assert comparison.delta == 0.0 and comparison.p_value == 1.0 and comparison.examples == 8
