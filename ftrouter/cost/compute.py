"""Training time for the local backend: time = FLOPs / (peak x MFU), or tokens / measured tokens/s.

FLOPs per trained token (EleutherAI "Transformers Math 101", C ~ 6·N·D; research notes §4.2, §4.4):
- full fine-tuning: 6·N (forward 2·N, backward 4·N);
- LoRA / QLoRA: 4·N — the frozen weights need no weight gradients, only activation gradients;
- + 2·N when activation checkpointing recomputes the forward pass;
- + 2·N for DPO's reference-model forward pass;
- + causal attention: 2·seq·q_dim per layer forward, x3 for training (x4 with recomputation).
N counts the matmul parameters (the embedding lookup is not a matmul unless tied to the output head).
"""

from __future__ import annotations

from pydantic import BaseModel

from ftrouter.cost.memory import TrainMethod
from ftrouter.cost.shapes import ModelShape

DEFAULT_MFU = 0.35  # tuned stacks reach 33-58% (torchtitan, NeMo); plain HF/TRL SFT on short data is lower
QLORA_SPEED_FACTOR = 0.85  # torchtune: QLoRA runs 2% (3B, A100) to 22% (8B, 4090) slower than LoRA
MULTI_GPU_EFFICIENCY = 0.90  # per-GPU throughput kept when sharding across GPUs (FSDP communication)


def flops_per_token(
    shape: ModelShape, method: TrainMethod, *, mean_seq_len: float, activation_checkpointing: bool = True,
    dpo: bool = False,
) -> float:
    matmul_params = shape.params - (0 if shape.tied_embeddings else shape.vocab * shape.hidden)
    passes = 6.0 if method == "full" else 4.0
    if activation_checkpointing:
        passes += 2.0
    if dpo:
        passes += 2.0
    attention_forward = shape.layers * 2.0 * mean_seq_len * shape.q_dim
    attention_passes = 4.0 if activation_checkpointing else 3.0
    return passes * matmul_params + attention_passes * attention_forward


class Throughput(BaseModel):
    """How fast a run goes, and on what that figure rests."""

    tokens_per_second: float  # whole run, all GPUs
    source: str  # "mfu prior" | "measured (n runs)"
    mfu: float | None = None


def throughput(
    shape: ModelShape, method: TrainMethod, *, peak_tflops: float, gpus: int, mean_seq_len: float,
    mfu: float = DEFAULT_MFU, activation_checkpointing: bool = True, dpo: bool = False,
    measured_per_gpu: tuple[float, int] | None = None,
) -> Throughput:
    """Tokens/s of the run: measured per-GPU tokens/s when there is one, else peak x MFU / FLOPs per token."""
    scale = gpus * (MULTI_GPU_EFFICIENCY if gpus > 1 else 1.0)
    if measured_per_gpu is not None:
        per_gpu, runs = measured_per_gpu
        return Throughput(tokens_per_second=per_gpu * scale, source=f"measured ({runs} run{'s' * (runs != 1)})")
    per_token = flops_per_token(shape, method, mean_seq_len=mean_seq_len,
                                activation_checkpointing=activation_checkpointing, dpo=dpo)
    speed = QLORA_SPEED_FACTOR if method == "qlora" else 1.0
    per_gpu = peak_tflops * 1e12 * mfu * speed / per_token
    return Throughput(tokens_per_second=per_gpu * scale, source="mfu prior", mfu=mfu)
