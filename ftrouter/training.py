"""Facts about a local training run that the core (estimates, data inspection) and the local trainer
(``providers/local``) must agree on. The core cannot import the plugin, so the plugin imports these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ftrouter.errors import UsageError

# The local trainer's training length (tokens per example) when neither a recipe nor --max-length sets
# one: TRL's own SFTConfig default.
DEFAULT_MAX_LENGTH = 1024


WeightDtype = Literal["auto", "bfloat16", "float16", "float32"]
MemoryPrecision = Literal["bf16", "mixed"]


@dataclass(frozen=True)
class PrecisionPlan:
    """How a run holds its weights and computes: the one decision the trainer acts on and the memory
    estimator counts bytes from."""

    dtype: str  # weights as loaded: "float32" | "bfloat16" | "float16"
    bf16: bool  # bf16 autocast (mixed precision) on
    fp16: bool  # fp16 autocast on
    why: str

    @property
    def memory_mode(self) -> MemoryPrecision:
        """The estimator's accounting for full fine-tuning: "mixed" = fp32 master weights with a
        half-precision working copy, fp32 gradients and Adam moments (18 bytes/parameter); "bf16" =
        everything in 16 bits (8 bytes/parameter)."""
        return "mixed" if self.dtype == "float32" else "bf16"


def resolve_precision(adapter: str, dtype: WeightDtype = "auto", *, device: str = "cuda",
                      bf16_supported: bool = True) -> PrecisionPlan:
    """Weight dtype and autocast for a local run.

    On a GPU with ``dtype`` auto: full fine-tuning keeps float32 master weights under bf16 (or fp16)
    autocast — half-precision weights would lose small updates; LoRA/QLoRA freeze the base in bf16
    (fp16 without bf16 support) and train the adapter in float32. On the CPU: float32, no autocast.
    A dtype set by the recipe or options wins. Raises UsageError for full fine-tuning in float16
    weights, whose gradients the Trainer cannot unscale.
    """
    if device == "cpu":
        return PrecisionPlan("float32" if dtype == "auto" else dtype, False, False,
                             "CPU training: float32 unless a dtype is set")
    amp_bf16, amp_fp16 = bf16_supported, not bf16_supported
    if dtype != "auto":
        if dtype == "float16" and adapter == "full":
            raise UsageError("full fine-tuning with float16 weights cannot unscale its gradients; use dtype "
                             "bfloat16 or float32", code="invalid_dtype")
        return PrecisionPlan(dtype, amp_bf16 and dtype != "float16", dtype == "float16",
                             "dtype set by the recipe/options")
    if adapter == "full":
        return PrecisionPlan("float32", amp_bf16, amp_fp16,
                             "full fine-tuning keeps float32 master weights, mixed precision compute")
    half = "bfloat16" if bf16_supported else "float16"
    return PrecisionPlan(half, amp_bf16, amp_fp16, f"frozen base weights in {half} "
                         f"({'bf16 supported' if bf16_supported else 'no bf16 on this GPU'}), adapter in float32")


SEQ_ROUND = 256  # memory is estimated at lengths rounded up to this (kernels and padding work in blocks)


@dataclass(frozen=True)
class SeqLenChoice:
    """The sequence length a memory estimate uses, and the facts behind it.

    TRL pads each batch to its longest record, cut at the training length: the peak is reached on the
    batch holding the longest example, so memory is estimated at min(training length, longest example
    rounded up) — never at an example longer than the trainer will ever see. When that longest example
    is an outlier (over twice the p95), it is named: it alone sets the figure."""

    seq_len: int
    training_length: int
    p95: int
    longest: int
    longest_example: int  # 1-based, in file order
    over_training_length: int  # examples the trainer cuts (or drops, per --on-long)

    @property
    def outlier(self) -> bool:
        return self.seq_len > _round_up(self.p95) and self.longest > 2 * self.p95

    def note(self) -> str | None:
        if not self.outlier:
            return None
        return (f"memory is set by example #{self.longest_example} ({self.longest:,} tokens, used up to "
                f"{self.seq_len:,}); 95% of the examples are at most {self.p95:,} tokens: cut it (--max-length "
                f"{_round_up(self.p95)}) or leave it out to train in less memory")


def _round_up(tokens: int) -> int:
    return max(SEQ_ROUND, -(-tokens // SEQ_ROUND) * SEQ_ROUND)


def memory_seq_len(example_tokens: Sequence[int], training_length: int | None = None,
                   context_length: int | None = None) -> SeqLenChoice:
    """See :class:`SeqLenChoice`. ``training_length``: the run's max_length (default: the trainer's)."""
    length = training_length or DEFAULT_MAX_LENGTH
    if context_length:
        length = min(length, context_length)
    tokens = list(example_tokens) or [0]
    longest = max(tokens)
    ordered = sorted(tokens)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return SeqLenChoice(seq_len=max(16, min(length, _round_up(longest))), training_length=length, p95=p95,
                        longest=longest, longest_example=tokens.index(longest) + 1,
                        over_training_length=sum(1 for t in tokens if t > length))
