"""``ftrouter eval --model vertex:MODEL``: Gemini generateContent through google-genai, replayed from an
authored cassette (cassettes/vertex/eval/) whose bodies are validated here against the published
Vertex AI v1 schemas; message -> contents mapping; missing credentials stop the run (exit 4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from ftrouter_vertex.answer import VertexAnswerer, contents_of

from ftrouter.errors import AuthError
from ftrouter.eval.answerer import GenerationSettings
from ftrouter.eval.cache import AnswerCache
from ftrouter.eval.dataset import read_examples
from ftrouter.eval.engine import ModelRun, answer_all
from ftrouter.http import RetryPolicy

from .conftest import CASSETTES
from .test_vertex_cassettes import PREFIX, schemas, validate

__all__ = ["schemas"]  # the discovery-document fixture, shared with the tuning cassettes' test
CASSETTE = CASSETTES / "eval" / "generate_content.yaml"
SYSTEM = "Classify the support ticket as billing, shipping or repair. Answer with the label only."
TICKETS = [("I was charged twice for my order.", "billing"), ("My parcel has not arrived after ten days.", "shipping"),
           ("The rear brake squeals when I stop.", "repair")]


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES / "eval")


def test_the_cassette_follows_the_published_schema(schemas: dict[str, Any]) -> None:
    text = CASSETTE.read_text(encoding="utf-8")
    assert text.startswith("# AUTHORED, NOT RECORDED") and "Bearer" not in text and "ya29" not in text
    for item in yaml.safe_load(text)["interactions"]:
        assert item["request"]["uri"].endswith(":generateContent")
        validate(schemas, "request", f"{PREFIX}GenerateContentRequest", json.loads(item["request"]["body"]))
        validate(schemas, "response", f"{PREFIX}GenerateContentResponse",
                 json.loads(item["response"]["body"]["string"]))


@pytest.mark.vcr("generate_content.yaml")
def test_gemini_answers_with_usage(fake_credentials: Any, tmp_path: Path) -> None:
    path = tmp_path / "tickets.jsonl"
    path.write_text("".join(json.dumps({"messages": [{"role": "system", "content": SYSTEM},
                                                     {"role": "user", "content": text},
                                                     {"role": "assistant", "content": label}]}) + "\n"
                            for text, label in TICKETS))
    answerer = VertexAnswerer("gemini-2.5-flash", credentials=fake_credentials,
                              env={"GOOGLE_CLOUD_PROJECT": "ftrouter-test"}, config_file=tmp_path / "none.yaml")
    run = ModelRun(answerer, "vertex:gemini-2.5-flash", 1, GenerationSettings(), RetryPolicy(sleep=lambda s: None))
    outcomes = answer_all(read_examples(path), run, AnswerCache(tmp_path / "cache.db"))
    assert [o.text for o in outcomes] == ["billing", "shipping", "Repair."]
    assert [(o.input_tokens, o.output_tokens) for o in outcomes] == [(24, 1), (26, 1), (25, 2)]
    assert answerer.identity == "vertex:gemini-2.5-flash@ftrouter-test/us-central1"
    assert answerer.price_model == "gemini-2.5-flash"


def test_messages_become_contents() -> None:
    system, contents = contents_of([{"role": "system", "content": "S"}, {"role": "user", "content": "U1"},
                                    {"role": "assistant", "content": "A1"}, {"role": "user", "content": "U2"}])
    assert system == "S"
    assert [(c["role"], c["parts"][0]["text"]) for c in contents] == [("user", "U1"), ("model", "A1"), ("user", "U2")]


@pytest.mark.usefixtures("no_google_credentials")
def test_no_credentials_stops_before_any_call(tmp_path: Path) -> None:
    with pytest.raises(AuthError, match="GOOGLE_APPLICATION_CREDENTIALS"):
        VertexAnswerer("gemini-2.5-flash", env={"GOOGLE_CLOUD_PROJECT": "ftrouter-test"},
                       config_file=tmp_path / "none.yaml")


def test_a_tuned_endpoint_is_called_by_its_resource_name(fake_credentials: Any, tmp_path: Path) -> None:
    import httpx

    endpoint = "projects/123456789012/locations/us-central1/endpoints/4455667788"
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]},
                                                         "finishReason": "STOP"}]})

    answerer = VertexAnswerer(endpoint, credentials=fake_credentials, env={"GOOGLE_CLOUD_PROJECT": "ftrouter-test"},
                              config_file=tmp_path / "none.yaml",
                              httpx_client=httpx.Client(transport=httpx.MockTransport(handler)))
    answer = answerer.answer([[{"role": "user", "content": "hi"}]], GenerationSettings())[0]
    assert answer.text == "ok" and answer.input_tokens is None and answerer.price_model is None
    assert seen == [f"https://us-central1-aiplatform.googleapis.com/v1/{endpoint}:generateContent"]


def test_a_vertex_429_becomes_rate_limited(fake_credentials: Any, tmp_path: Path) -> None:
    import httpx

    from ftrouter.errors import RateLimited

    def handler(request: httpx.Request) -> httpx.Response:
        error = {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}
        return httpx.Response(429, headers={"Retry-After": "3"}, json={"error": error})

    answerer = VertexAnswerer("gemini-2.5-flash", credentials=fake_credentials,
                              env={"GOOGLE_CLOUD_PROJECT": "ftrouter-test"}, config_file=tmp_path / "none.yaml",
                              httpx_client=httpx.Client(transport=httpx.MockTransport(handler)))
    with pytest.raises(RateLimited) as caught:
        answerer.answer([[{"role": "user", "content": "hi"}]], GenerationSettings())
    assert caught.value.retry_after == 3.0
