"""``ftrouter eval --model together:MODEL`` (or a Together job's id): answers from Together's chat
completions endpoint, which speaks OpenAI's API, so the OpenAI plugin's answerer does the work with
Together's base URL (``TOGETHER_BASE_URL`` or https://api.together.ai/v1) and key (``TOGETHER_API_KEY``).
A fine-tuned model is served by name once Together deploys it (a dedicated endpoint, or serverless LoRA
where Together offers it for the base model). Needs the OpenAI plugin (``pip install -e providers/openai``).
"""

from __future__ import annotations

from typing import Any

from ftrouter.errors import AuthError, PluginMissing
from ftrouter.eval.answerer import Answer, GenerationSettings, ModelSpec
from ftrouter_together.client import api_key, base_url
from ftrouter_together.profile import KEY_ENV

try:
    from ftrouter_openai.answer import OpenAIAnswerer
except ModuleNotFoundError as exc:  # a plugin's answerer may need another plugin: say which
    raise PluginMissing("--model together:...: Together's chat endpoint is called through the OpenAI plugin: "
                        "pip install -e providers/openai") from exc


class TogetherAnswerer(OpenAIAnswerer):
    def __init__(self, model: str, *, url: str | None = None, key: str | None = None, **kwargs: Any) -> None:
        super().__init__(model, base_url=base_url(url), key=api_key(key), **kwargs)
        self.identity = f"together:{model}@{self.base_url}"
        self.price_model = None  # Together's serving prices are not in the catalog

    def _one(self, messages: list[dict[str, str]], settings: GenerationSettings) -> Answer:
        try:
            return super()._one(messages, settings)
        except AuthError as exc:  # the OpenAI adapter's words name OPENAI_API_KEY; the key here is Together's
            raise AuthError(f"chat completion with {self.model}: Together rejected the API key in {KEY_ENV}",
                            code=exc.code) from None


def make_answerer(spec: ModelSpec, **kwargs: Any) -> TogetherAnswerer:
    return TogetherAnswerer(spec.model, url=spec.base_url, **kwargs)
