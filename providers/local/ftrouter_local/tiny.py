"""A tiny causal language model and a matching chat dataset, built on the spot with no hub access.

Used by the test suite, the throughput benchmark and the README's first-five-minutes demo: a real
Qwen2-architecture model (about 100k parameters) with a byte-level BPE tokenizer trained on the
synthetic conversations, a ChatML template whose assistant turns sit inside ``{% generation %}``
(what TRL's ``assistant_only_loss`` needs), saved with ``save_pretrained`` so it loads like any
local model folder. Building it takes well under a second on a CPU.

    python -m ftrouter_local.tiny OUT_DIR [--data FILE] [--examples N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any

# ChatML, as Qwen uses it; the generation markers delimit the tokens an assistant turn is trained on.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{ '\n' }}"
    "{% else %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

_NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
            "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen"]
_SYSTEM = "You are a careful calculator. Answer in one short sentence."


def synthetic_conversations(count: int, seed: int = 0) -> list[dict[str, Any]]:
    """OpenAI-chat style examples of a small, learnable task (adding two numbers written as words)."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for _ in range(count):
        a, b = rng.randint(0, 9), rng.randint(0, 9)
        messages = [{"role": "system", "content": _SYSTEM}] if rng.random() < 0.5 else []
        messages += [
            {"role": "user", "content": f"What is {_NUMBERS[a]} plus {_NUMBERS[b]}?"},
            {"role": "assistant", "content": f"{_NUMBERS[a].capitalize()} plus {_NUMBERS[b]} is {_NUMBERS[a + b]}."},
        ]
        rows.append({"messages": messages})
    return rows


def write_jsonl(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write rows as JSON lines atomically (temp file, then rename)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, target)
    return target


def _corpus(rows: list[dict[str, Any]]) -> list[str]:
    texts = [m["content"] for row in rows for m in row["messages"]]
    return [*texts, "system user assistant", "\n"]


def build_tokenizer(texts: list[str]) -> Any:
    """A byte-level BPE tokenizer trained on ``texts``, wrapped for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,  # its bar prints blank lines to stdout when not on a TTY
    )
    core.train_from_iterator(texts, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|endoftext|>", bos_token=None
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_tiny_model(out_dir: str | Path, *, seed: int = 0, examples: int = 256) -> Path:
    """Build and save the tiny model + tokenizer into ``out_dir``; returns the folder."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(_corpus(synthetic_conversations(examples, seed=seed)))
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ftrouter_local.tiny", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", help="folder to write the model and tokenizer into")
    parser.add_argument("--data", help="also write a synthetic chat dataset (JSONL) here")
    parser.add_argument("--examples", type=int, default=128, help="examples in --data (default 128)")
    args = parser.parse_args(argv)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Writing model shards" for one tiny file is noise in the demo
    path = build_tiny_model(args.out_dir)
    print(f"tiny model: {path}")
    if args.data:
        print(f"dataset: {write_jsonl(synthetic_conversations(args.examples, seed=1), args.data)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
