"""``ftrouter eval --model openai:MODEL`` against an authored cassette of chat completions (bodies valid
against the published CreateChatCompletionRequest/Response schemas: test_cassette_schema.py checks it),
and the answerer's credential rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openai_shared import TEST_KEY

from ftrouter.errors import AuthError
from ftrouter.eval.answerer import GenerationSettings
from ftrouter.eval.cache import AnswerCache
from ftrouter.eval.dataset import read_examples
from ftrouter.eval.engine import ModelRun, answer_all
from ftrouter.eval.specs import parse_spec
from ftrouter.http import RetryPolicy

MODEL = "gpt-4.1-mini-2025-04-14"
SYSTEM = "Classify the support ticket as billing, shipping or repair. Answer with the label only."
TICKETS = [("I was charged twice for my order.", "billing"), ("My parcel has not arrived after ten days.", "shipping"),
           ("The rear brake squeals when I stop.", "repair")]


def eval_file(tmp_path: Path) -> Path:
    path = tmp_path / "tickets.jsonl"
    path.write_text("".join(json.dumps({"messages": [{"role": "system", "content": SYSTEM},
                                                     {"role": "user", "content": text},
                                                     {"role": "assistant", "content": label}]}) + "\n"
                            for text, label in TICKETS))
    return path


@pytest.mark.vcr("test_eval_chat_completions.yaml")
def test_chat_completions_answer_with_usage(tmp_path: Path) -> None:
    from ftrouter_openai.answer import OpenAIAnswerer

    answerer = OpenAIAnswerer(MODEL, key=TEST_KEY)
    run = ModelRun(answerer, f"openai:{MODEL}", 1, GenerationSettings(), RetryPolicy(sleep=lambda s: None))
    outcomes = answer_all(read_examples(eval_file(tmp_path)), run, AnswerCache(tmp_path / "cache.db"))
    assert [o.text for o in outcomes] == ["billing", "shipping", "Repair."]
    assert [(o.input_tokens, o.output_tokens) for o in outcomes] == [(31, 1), (33, 1), (32, 2)]
    assert answerer.identity == f"openai:{MODEL}@https://api.openai.com/v1" and answerer.price_model == MODEL


def test_missing_key_names_the_variable() -> None:
    from ftrouter_openai.answer import make_answerer

    with pytest.raises(AuthError, match="OPENAI_API_KEY"):
        make_answerer(parse_spec(f"openai:{MODEL}"))


def test_own_server_needs_no_key_and_openai_base_url_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    from ftrouter_openai.answer import make_answerer

    assert make_answerer(parse_spec("openai:llama3@http://127.0.0.1:8000/v1")).price_model is None
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1/")
    answerer = make_answerer(parse_spec("openai:qwen3"))
    assert answerer.identity == "openai:qwen3@http://127.0.0.1:11434/v1"
