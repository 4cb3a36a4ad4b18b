"""Benchmark: ``ftrouter data inspect --model gpt-4.1-mini-2025-04-14`` against a straightforward loop.

Generates a chat file (default 200,000 examples) shaped like a real fine-tuning set: one of a few long
system prompts in every example, a short user turn, a longer assistant answer, some multi-turn
examples. Then, in the same process and on the same file, runs

- the reference: ``json.loads`` each line, ``tiktoken`` ``encode`` every message value, apply OpenAI's
  per-message rule (3 per message + 1 per name + 3 reply priming), and
- ``ftrouter.data.inspect_file`` (which also parses into canonical examples, validates every line, finds
  duplicates and computes the distribution),

checks that the token totals are identical, and prints both times and the ratio.

    python benchmarks/bench_data_inspect.py [--examples 200000] [--system-words 300] [--keep FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

MODEL = "gpt-4.1-mini-2025-04-14"
_VOCABULARY = (
    "the customer order bike shop repair wheel brake chain tyre frame size fit delivery return refund "
    "warranty service appointment please thank you we can will should would could your our account email "
    "invoice payment card shipping days week today tomorrow store online price discount stock available "
    "model color weight carbon aluminium steel electric battery motor charge range speed gear shift cable "
    "pedal saddle handlebar light lock helmet bag rack fender kit tool pump tube valve pressure rim spoke "
    "hub bearing seal fork shock suspension travel trail road gravel city commute race training ride rider "
    "answer question help problem issue check confirm book cancel change update replace install adjust "
    "clean inspect test measure tighten loosen always never usually often sometimes only also just about "
    "before after during within between under over with without from into onto for and or but if when "
    "because so that this these those there here it they he she is are was were be been being have has "
    "had do does did not no yes a an of to in on at by as up out off down"
)
WORDS = _VOCABULARY.split()


def _sentence(rng: random.Random, n_words: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n_words)]
    words[0] = words[0].capitalize()
    return " ".join(words) + rng.choice((".", ".", ".", "?", "!"))


def _text(rng: random.Random, n_words: int) -> str:
    parts, left = [], n_words
    while left > 0:
        n = min(left, rng.randint(6, 18))
        parts.append(_sentence(rng, n))
        left -= n
    return " ".join(parts)


def generate(path: Path, examples: int, system_words: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    systems = [_text(rng, system_words) for _ in range(4)]
    with path.open("w", encoding="utf-8") as f:
        for _ in range(examples):
            messages = [{"role": "system", "content": rng.choice(systems)}]
            for _turn in range(1 if rng.random() < 0.8 else 2):
                messages.append({"role": "user", "content": _text(rng, rng.randint(8, 60))})
                messages.append({"role": "assistant", "content": _text(rng, rng.randint(20, 160))})
            f.write(json.dumps({"messages": messages}) + "\n")


def reference_total(path: Path) -> int:
    """The straightforward loop (the OpenAI cookbook's num_tokens_from_messages over every line)."""
    from ftrouter.data.encodings import encoding_name_for_model, get_encoding

    encoding = get_encoding(encoding_name_for_model(MODEL) or "o200k_base")
    total = 0
    with path.open(encoding="utf-8") as f:
        for line in f:
            example = json.loads(line)
            num_tokens = 0
            for message in example["messages"]:
                num_tokens += 3
                for key, value in message.items():
                    num_tokens += len(encoding.encode(value))
                    if key == "name":
                        num_tokens += 1
            total += num_tokens + 3
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200_000)
    parser.add_argument("--system-words", type=int, default=300, help="length of the shared system prompts")
    parser.add_argument("--keep", type=Path, help="write the generated file here instead of a temp dir")
    args = parser.parse_args(argv)

    from ftrouter.data import inspect_file
    from ftrouter.data.encodings import get_encoding

    get_encoding("o200k_base")  # load the encoding once, outside both timings
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "chat.jsonl"
        t0 = time.perf_counter()
        generate(path, args.examples, args.system_words)
        size_mb = path.stat().st_size / 1e6
        print(f"generated {args.examples:,} examples, {size_mb:.1f} MB in {time.perf_counter() - t0:.1f} s")

        t0 = time.perf_counter()
        ref = reference_total(path)
        t_ref = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = inspect_file(path, model=MODEL)
        t_ours = time.perf_counter() - t0

    print(f"reference loop : {t_ref:7.2f} s  total tokens {ref:,}")
    print(f"ftrouter       : {t_ours:7.2f} s  total tokens {report.tokens.total:,}  "
          f"({report.examples:,} examples, p95 {report.tokens.p95:,}, {report.duplicates} duplicates)")
    print(f"speed-up       : {t_ref / t_ours:.2f}x  (target >= 3x)")
    if ref != report.tokens.total:
        print("MISMATCH: token totals differ", file=sys.stderr)
        return 1
    print("token totals identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
