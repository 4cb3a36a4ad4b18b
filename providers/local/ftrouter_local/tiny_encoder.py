"""A tiny BERT-style encoder and small labelled datasets, built on the spot with no hub access.

The encoder counterpart of ``ftrouter_local.tiny``: a real BERT architecture (hidden size 64, 2 layers,
about 90k parameters) with a WordPiece tokenizer over the synthetic texts' words, saved with
``save_pretrained`` so it loads like any local model folder (``AutoModelForSequenceClassification`` /
``AutoModelForTokenClassification`` add their heads at training time; sentence-transformers adds mean
pooling). The datasets are learnable from words alone: a keyword decides the class; names and cities are
the entities; a query and a text share a keyword.

    python -m ftrouter_local.tiny_encoder OUT_DIR [--data FILE] [--task classification|token-classification]
"""

from __future__ import annotations

import argparse
import random
import string
from pathlib import Path
from typing import Any

from ftrouter_local.tiny import write_jsonl

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
KEYWORDS = {
    "sports": ["goal", "match", "team", "referee"],
    "weather": ["rain", "storm", "sunny", "snow"],
    "finance": ["stock", "bank", "loan", "invoice"],
}
FILLER = ["the", "a", "today", "we", "saw", "about", "news", "report", "people", "said", "there", "was",
           "again", "very", "this", "morning", "new", "big", "small", "city"]
_PEOPLE = [("ada", "lovelace"), ("alan", "turing"), ("grace", "hopper"), ("linus", "pauling")]
_PLACES = ["paris", "london", "berlin", "madrid", "rome"]


def synthetic_classification(count: int, seed: int = 0, *, imbalance: bool = False) -> list[dict[str, Any]]:
    """``{"text", "label"}`` rows: three filler words around one keyword of the label (``imbalance``: sports x4)."""
    rng = random.Random(seed)
    labels = list(KEYWORDS)
    weights = [4, 1, 1] if imbalance else [1, 1, 1]
    rows = []
    for _ in range(count):
        label = rng.choices(labels, weights)[0]
        words = rng.sample(FILLER, 3)
        words.insert(rng.randint(0, len(words)), rng.choice(KEYWORDS[label]))
        rows.append({"text": " ".join(words), "label": label})
    return rows


def synthetic_entities(count: int, seed: int = 0) -> list[dict[str, Any]]:
    """``{"tokens", "tags"}`` rows with PER (two tokens) and LOC (one token) entities in BIO tags."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        tokens = rng.sample(FILLER, 4)
        tags = ["O"] * len(tokens)
        at = rng.randint(0, len(tokens))
        tokens[at:at] = list(rng.choice(_PEOPLE))
        tags[at:at] = ["B-PER", "I-PER"]
        if rng.random() < 0.7:
            at = rng.choice([0, len(tokens)])  # never inside the person's name
            tokens.insert(at, rng.choice(_PLACES))
            tags.insert(at, "B-LOC")
        rows.append({"tokens": tokens, "tags": tags})
    return rows


def synthetic_retrieval(count: int, seed: int = 0, *, negatives: bool = False) -> list[dict[str, Any]]:
    """``{"anchor", "positive"[, "negative"]}`` rows: a short query and a longer text that share a keyword
    (the negative: a text about another keyword)."""
    rng = random.Random(seed)
    keywords = [w for ws in KEYWORDS.values() for w in ws]

    def text(keyword: str) -> str:
        words = rng.sample(FILLER, 3)
        words.insert(rng.randint(0, 3), keyword)
        return " ".join(words)

    rows = []
    for i in range(count):
        keyword = keywords[i % len(keywords)] if count <= len(keywords) else rng.choice(keywords)
        row = {"anchor": f"about {keyword}", "positive": text(keyword)}
        if negatives:
            row["negative"] = text(rng.choice([k for k in keywords if k != keyword]))
        rows.append(row)
    return rows


def _vocabulary() -> dict[str, int]:
    """Every word of the synthetic data whole, plus single characters (``a``, ``##a``...) for any other
    word. Built from the word list rather than trained: the WordPiece trainer breaks frequency ties in no
    fixed order, and the same seed must give the same model."""
    words = FILLER + [w for ws in KEYWORDS.values() for w in ws] + [w for p in _PEOPLE for w in p] + _PLACES
    chars = sorted(set(string.ascii_lowercase + string.digits + string.punctuation))
    tokens = [*SPECIAL_TOKENS, *sorted(set(words)), *chars, *(f"##{c}" for c in chars)]
    return {token: i for i, token in enumerate(dict.fromkeys(tokens))}


def build_tokenizer() -> Any:
    """A lower-casing WordPiece tokenizer (BERT's pre-tokenization and [CLS]/[SEP] template)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordPiece(vocab=_vocabulary(), unk_token="[UNK]"))
    core.normalizer = normalizers.BertNormalizer(lowercase=True)
    core.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    core.decoder = decoders.WordPiece()
    cls, sep = core.token_to_id("[CLS]"), core.token_to_id("[SEP]")
    core.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", model_max_length=128)


def build_tiny_encoder(out_dir: str | Path, *, seed: int = 0) -> Path:
    """Build and save the tiny encoder + tokenizer into ``out_dir``; returns the folder."""
    import torch
    from transformers import AutoModel, BertConfig
    from transformers.utils import logging as hf_logging

    # "Writing model shards" for one tiny file is noise, and its tqdm bar leaves a monitor thread behind
    # (a process with extra threads no longer forks workers for big files: ftrouter.data.parallel)
    hf_logging.disable_progress_bar()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=128, max_position_embeddings=128, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    AutoModel.from_config(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ftrouter_local.tiny_encoder", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", help="folder to write the encoder and tokenizer into")
    parser.add_argument("--data", help="also write a synthetic labelled dataset (JSONL) here")
    parser.add_argument("--task", choices=["classification", "token-classification"], default="classification")
    parser.add_argument("--examples", type=int, default=200, help="examples in --data (default 200)")
    args = parser.parse_args(argv)
    print(f"tiny encoder: {build_tiny_encoder(args.out_dir)}")
    if args.data:
        make = synthetic_classification if args.task == "classification" else synthetic_entities
        print(f"dataset: {write_jsonl(make(args.examples, seed=1), args.data)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
