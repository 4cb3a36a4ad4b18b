"""Counting tokens with a local model's own tokenizer and chat template (transformers, imported lazily).

Used when ``--model`` names a folder holding a Hugging Face tokenizer (``tokenizer.json`` /
``tokenizer_config.json``). The total is the length of the chat template applied to the whole
conversation; trained tokens come from the template's ``{% generation %}`` mask when it has one, else
from encoding the trained assistant turns on their own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ftrouter.data.canonical import Example, Message
from ftrouter.data.tokens import TokenCounter
from ftrouter.errors import UsageError

_SANE_MAX_LENGTH = 10_000_000  # tokenizers without a real limit report a huge sentinel


def _hf_message(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role, "content": m.content or ""}
    if m.tool_calls:
        out["tool_calls"] = [{"type": "function", "function": {"name": c.name, "arguments": json.loads(c.arguments)}}
                             for c in m.tool_calls]
    if m.name:
        out["name"] = m.name
    return out


def model_context(folder: Path) -> int | None:
    """The context window the model in ``folder`` covers: max_position_embeddings (n_positions for GPT-2
    style configs), times the factor of a RoPE scaling its config carries; None without a readable one."""
    from ftrouter.rope import covered_window

    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict):
        return None
    native = config.get("max_position_embeddings", config.get("n_positions"))
    if not isinstance(native, int) or native <= 0:
        return None
    rope = config.get("rope_parameters") or config.get("rope_scaling")  # transformers 5.x / 4.x key
    return covered_window(native, rope if isinstance(rope, dict) else None)


class LocalTokenizerCounter(TokenCounter):
    exact = True

    def __init__(self, folder: Path) -> None:
        try:
            from transformers import AutoTokenizer
        except ImportError as exc:  # the core does not require transformers
            raise UsageError("counting with a local tokenizer needs transformers: pip install -e providers/local") \
                from exc
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        except Exception as exc:  # transformers raises OSError/ValueError/... for a folder without a tokenizer
            raise UsageError(f"cannot load a tokenizer from this folder: {exc}", path=folder) from exc
        self.folder = folder
        template = self.tokenizer.chat_template or ""
        self.has_template = bool(template)
        self.has_generation_mask = "{% generation %}" in template or "{%- generation %}" in template
        max_length = getattr(self.tokenizer, "model_max_length", None)
        self.limit = max_length if isinstance(max_length, int) and max_length < _SANE_MAX_LENGTH else None
        self.context = model_context(folder)
        self.context_source = "the model's config.json (max_position_embeddings)" if self.context else None

    def _encode_len(self, text: str | None) -> int:
        return len(self.tokenizer.encode(text or "", add_special_tokens=False))

    def _fallback(self, turns: list[Message]) -> tuple[int, int]:
        total = sum(self._encode_len(m.content) for m in turns)
        trained = sum(self._encode_len(m.content) for m in turns if m.trained)
        return total, trained

    def _conversation(self, example: Example) -> list[Message]:
        return example.messages + (example.chosen or []) if example.is_preference else example.messages

    def count(self, example: Example) -> tuple[int, int]:
        turns = self._conversation(example)
        if not self.has_template:
            return self._fallback(turns)
        out: Any = self.tokenizer.apply_chat_template(
            [_hf_message(m) for m in turns], tools=list(example.tools or []) or None, tokenize=True, return_dict=True,
            return_assistant_tokens_mask=self.has_generation_mask)
        total = len(out["input_ids"])
        if self.has_generation_mask:
            if any(m.weight == 0 for m in turns):  # the mask cannot know OpenAI-style weights
                return total, self._fallback(turns)[1]
            return total, int(sum(out["assistant_masks"]))
        return total, self._fallback(turns)[1]

    def describe(self) -> dict[str, Any]:
        return {"method": "local tokenizer", "path": str(self.folder), "chat_template": self.has_template,
                "exact": True, "model": str(self.folder)}
