"""``eval --model together:MODEL``: the OpenAI-compatible chat endpoint at Together's base URL, with
Together's key (missing: exit 4 naming TOGETHER_API_KEY)."""

from __future__ import annotations

import json

import httpx2
import pytest
from together_shared import TEST_KEY

from ftrouter.errors import AuthError
from ftrouter.eval.answerer import GenerationSettings
from ftrouter.eval.specs import make_answerer, parse_spec


def completion() -> dict[str, object]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1763629200, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "Two working days.", "refusal": None}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}}


def test_together_spec_calls_the_chat_endpoint_at_together(monkeypatch: pytest.MonkeyPatch) -> None:
    from ftrouter_together.answer import make_answerer as make_together

    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=completion())

    spec = parse_spec("together:acme/gpt-oss-20b-support-ftr-tgsft1")
    answerer = make_together(spec, key=TEST_KEY, http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))
    [answer] = answerer.answer([[{"role": "user", "content": "How long does a tune-up take?"}]], GenerationSettings())
    assert answer.text == "Two working days." and answer.output_tokens == 4
    assert str(seen[0].url) == "https://api.together.ai/v1/chat/completions"
    assert seen[0].headers["authorization"] == f"Bearer {TEST_KEY}"
    assert json.loads(seen[0].content)["model"] == "acme/gpt-oss-20b-support-ftr-tgsft1"
    assert answerer.identity.startswith("together:") and answerer.price_model is None


def test_missing_key_names_together_s_variable() -> None:
    with pytest.raises(AuthError, match="TOGETHER_API_KEY"):
        make_answerer(parse_spec("together:acme/model"))
