"""Training memory per GPU as a SUM of components (weights, adapter, gradients, optimizer states,
activations, logits, overhead) for full fine-tuning, LoRA and QLoRA.

Not accelerate's ``estimate-memory`` figure, which prints the largest single component. The byte counts
follow the HF Transformers "model memory anatomy" page, EleutherAI's cookbook (calc_transformer_mem.py)
and Korthikanti et al. 2022 for activations; research notes: shared/research/local-training.md §4.2–4.3.
``benchmarks/bench_memory_tables.py`` checks the result against published tables (LLaMA-Factory,
Unsloth, torchtune). All sizes are GiB (2**30 bytes), as nvidia-smi and PyTorch report memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ftrouter.catalog import Catalog, GpuEntry, default_catalog
from ftrouter.cost.shapes import ALL_LINEAR, ModelShape, lora_trainable_params, resolve_shape
from ftrouter.training import resolve_precision

GiB = 2**30
TrainMethod = Literal["full", "lora", "qlora"]
Optimizer = Literal["adamw", "adamw_8bit"]
LogitsMode = Literal["full", "chunked", "fused"]
# "sdpa": a fused attention kernel (FlashAttention 2, or SDPA's flash / memory-efficient backends, what
# transformers picks on a GPU) that never stores the seq x seq scores: activations grow linearly with the
# sequence. "eager": the plain matmul-softmax-matmul, which keeps them: quadratic.
AttentionKernel = Literal["sdpa", "eager"]
ATTENTION_KERNELS = ("sdpa", "eager")
FullPrecision = Literal["bf16", "mixed"]
METHODS: tuple[TrainMethod, ...] = ("full", "lora", "qlora")

# NF4 with double quantisation: 4 bits per weight + 8-bit block scales every 64 weights + an fp32
# second-level scale every 256 blocks = 4 + 8/64 + 32/(64*256) = 4.127 bits (QLoRA paper, §2).
QLORA_BITS_PER_WEIGHT = 4 + 8 / 64 + 32 / (64 * 256)
# How the loss handles the (tokens x vocab) logits, in bytes per token x vocab entry:
# - "full": plain HF/TRL — bf16 logits (kept for TRL's accuracy/entropy metrics) + the fp32
#   log-probabilities cross-entropy saves for the backward pass: 2 + 4.
# - "chunked": torchtune's CEWithChunkedOutputLoss — bf16 logits for every token, upcast to fp32 one
#   chunk (1/8 of the tokens) at a time with its gradient: 2 + 8/8.
# - "fused": a fused linear + cross-entropy kernel (Liger, Unsloth) never holds all logits: one chunk of
#   fp32 logits and gradients whose size Liger picks to match the hidden states: tokens x hidden x 8.
LOGITS_MODES = ("full", "chunked", "fused")
FULL_LOGITS_BYTES = 2 + 4
CHUNKED_LOGITS_BYTES = 2 + 8 / 8
FUSED_CHUNK_BYTES = 8
# Eager attention keeps, per head and per (query, key) pair, the fp32 softmax output (its own backward
# needs it) and its bf16 copy (the scores x V matmul's backward needs it): 4 + 2 bytes. Dropout is off in
# fine-tuning (attention_dropout 0), so no mask is kept.
EAGER_SCORE_BYTES = 4 + 2
# CUDA context + cuBLAS workspaces (0.3-2 GiB per the notes) and caching-allocator fragmentation.
DEFAULT_CONTEXT_GB = 0.75
DEFAULT_FRAGMENTATION = 0.05


class MemoryEstimate(BaseModel):
    """Peak training memory on ONE GPU, by component (GiB)."""

    model_config = ConfigDict(frozen=True)

    model: str
    method: TrainMethod
    seq_len: int
    micro_batch: int
    gpus: int
    params: int
    trainable_params: int
    weights_gb: float
    adapter_gb: float
    gradients_gb: float
    optimizer_gb: float
    activations_gb: float
    logits_gb: float
    overhead_gb: float
    assumptions: dict[str, Any] = Field(default_factory=dict)

    @property
    def total_gb(self) -> float:
        return (self.weights_gb + self.adapter_gb + self.gradients_gb + self.optimizer_gb
                + self.activations_gb + self.logits_gb + self.overhead_gb)

    def components(self) -> dict[str, float]:
        return {"weights": self.weights_gb, "adapter": self.adapter_gb, "gradients": self.gradients_gb,
                "optimizer": self.optimizer_gb, "activations": self.activations_gb, "logits": self.logits_gb,
                "overhead": self.overhead_gb}

    def fits_in(self, memory_gb: float) -> bool:
        return self.total_gb <= memory_gb


def _weight_bytes(shape: ModelShape, method: TrainMethod, precision: FullPrecision) -> float:
    if method == "qlora":
        # the blocks' linear layers in NF4; embeddings, lm_head and norms stay bf16
        return shape.linear_params * QLORA_BITS_PER_WEIGHT / 8 + (shape.params - shape.linear_params) * 2
    if method == "full" and precision == "mixed":
        return shape.params * 6  # fp32 master weights + the bf16 working copy (HF memory anatomy)
    return shape.params * 2  # bf16


def _state_bytes(method: TrainMethod, precision: FullPrecision) -> int:
    """Bytes per element of the trainable tensors (and so of their gradients and Adam moments)."""
    if method == "full":
        return 4 if precision == "mixed" else 2
    # PEFT upcasts LoRA weights to fp32 (autocast_adapter_dtype); TRL casts them to bf16 for QLoRA.
    return 4 if method == "lora" else 2


def _optimizer_bytes(trainable: int, state_bytes: int, optimizer: Optimizer) -> float:
    if optimizer == "adamw_8bit":
        return trainable * 2  # two 8-bit moments (bitsandbytes)
    return trainable * 2 * state_bytes  # first and second moments in the parameters' dtype


def activation_bytes_per_token_per_layer(shape: ModelShape) -> int:
    """Tensors one decoder block saves for its backward pass, bf16, with a flash/SDPA attention kernel
    (no seq x seq scores kept): norm inputs and outputs (4 x hidden), q and attention output (2 x q_dim),
    k and v (2 x kv_dim), and the gated MLP's gate, up, activation and product (4 x intermediate)."""
    return 2 * (4 * shape.hidden + 2 * shape.q_dim + 2 * shape.kv_dim + 4 * shape.intermediate)


def attention_score_bytes(shape: ModelShape, seq_len: int, micro_batch: int, attention: AttentionKernel) -> int:
    """The seq x seq attention scores one block keeps for its backward: none with a fused kernel."""
    return EAGER_SCORE_BYTES * shape.heads * seq_len * seq_len * micro_batch if attention == "eager" else 0


def _activations(shape: ModelShape, tokens: int, checkpointing: bool, offloading: bool, scores: int = 0) -> float:
    per_layer = activation_bytes_per_token_per_layer(shape) * tokens + scores
    if not checkpointing:
        return shape.layers * per_layer
    # full recomputation: each block's input is kept (on the CPU when offloaded, with one block's input
    # in flight); one block's activations live during its backward
    kept_inputs = 1 if offloading else shape.layers
    return kept_inputs * 2 * shape.hidden * tokens + per_layer


def _logits(shape: ModelShape, tokens: int, mode: LogitsMode) -> float:
    if mode == "fused":
        return tokens * shape.hidden * FUSED_CHUNK_BYTES
    per_entry = CHUNKED_LOGITS_BYTES if mode == "chunked" else FULL_LOGITS_BYTES
    return tokens * shape.vocab * per_entry


def estimate_memory(
    model: str | float | ModelShape,
    method: TrainMethod,
    *,
    seq_len: int,
    micro_batch: int = 1,
    gpus: int = 1,
    lora_rank: int = 16,
    lora_targets: Iterable[str] = ALL_LINEAR,
    activation_checkpointing: bool = True,
    optimizer: Optimizer = "adamw",
    full_precision: FullPrecision | None = None,
    activation_offloading: bool = False,
    logits: LogitsMode = "full",
    attention: AttentionKernel = "sdpa",
    rope_scaling: str | None = None,
    context_gb: float = DEFAULT_CONTEXT_GB,
    fragmentation: float = DEFAULT_FRAGMENTATION,
    catalog: Catalog | None = None,
) -> MemoryEstimate:
    """Peak memory per GPU to train ``model`` (catalog name or alias, size in billions, or a ModelShape).

    ``full_precision``: "bf16" = weights, gradients and Adam moments all bf16 (8 bytes/param, what TRL
    does with a bf16-loaded model; LLaMA-Factory's "pure_bf16"), "mixed" = fp32 master weights + bf16
    copy, fp32 gradients and moments (18 bytes/param, HF "model memory anatomy"). None: what the local
    trainer does, from ``ftrouter.training.resolve_precision`` (the function the trainer itself uses):
    "mixed" for full fine-tuning with the default dtype. With ``gpus`` > 1 the
    weights, gradients and optimizer states are sharded (FSDP full-shard / ZeRO-3); activations are per
    GPU (``micro_batch`` is per GPU). ``activation_offloading`` keeps checkpointed block inputs on the
    CPU (TRL/torchtune ``activation_offloading``, Unsloth's offloaded checkpointing). ``logits``: how the
    loss treats the logits — "full" (plain HF/TRL), "chunked" (torchtune), "fused" (Liger/Unsloth).
    ``context_gb`` is the CUDA context, which allocator statistics (torch.cuda.max_memory_*) leave out.
    ``attention``: "sdpa" (a fused kernel: activations linear in ``seq_len``) or "eager" (adds the
    seq x seq scores of one block, or of every block without checkpointing). ``rope_scaling`` (e.g.
    "yarn:4") changes no byte — the rotary tables are tiny — and is recorded so the estimate names the
    scaling the longer ``seq_len`` relies on.
    """
    if attention not in ATTENTION_KERNELS:
        raise ValueError(f"unknown attention kernel {attention!r}; expected one of {', '.join(ATTENTION_KERNELS)}")
    if logits not in LOGITS_MODES:
        raise ValueError(f"unknown logits mode {logits!r}; expected one of {', '.join(LOGITS_MODES)}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if seq_len < 1 or micro_batch < 1 or gpus < 1:
        raise ValueError("seq_len, micro_batch and gpus must be positive")
    if full_precision is None:
        full_precision = resolve_precision(method).memory_mode
    shape = resolve_shape(model, catalog)
    targets = list(lora_targets)
    trainable = shape.params if method == "full" else lora_trainable_params(shape, lora_rank, targets)
    state = _state_bytes(method, full_precision)
    tokens = seq_len * micro_batch
    sharded = {
        "weights": _weight_bytes(shape, method, full_precision),
        "adapter": 0.0 if method == "full" else trainable * state,
        "gradients": trainable * state,
        "optimizer": _optimizer_bytes(trainable, state, optimizer),
    }
    per_gpu = {k: v / gpus for k, v in sharded.items()}
    scores = attention_score_bytes(shape, seq_len, micro_batch, attention)
    per_gpu["activations"] = _activations(shape, tokens, activation_checkpointing, activation_offloading, scores)
    per_gpu["logits"] = _logits(shape, tokens, logits)
    subtotal = sum(per_gpu.values()) / GiB
    return MemoryEstimate(
        model=shape.name, method=method, seq_len=seq_len, micro_batch=micro_batch, gpus=gpus,
        params=shape.params, trainable_params=trainable,
        weights_gb=per_gpu["weights"] / GiB, adapter_gb=per_gpu["adapter"] / GiB,
        gradients_gb=per_gpu["gradients"] / GiB, optimizer_gb=per_gpu["optimizer"] / GiB,
        activations_gb=per_gpu["activations"] / GiB, logits_gb=per_gpu["logits"] / GiB,
        overhead_gb=context_gb + fragmentation * subtotal,
        assumptions={
            "seq_len": seq_len, "micro_batch": micro_batch, "gpus": gpus,
            "lora_rank": lora_rank if method != "full" else None,
            "lora_targets": ",".join(targets) if method != "full" else None,
            "activation_checkpointing": activation_checkpointing, "optimizer": optimizer,
            "full_precision": full_precision if method == "full" else None,
            "activation_offloading": activation_offloading, "logits": logits, "attention": attention,
            "rope_scaling": rope_scaling,
            "context_gb": context_gb, "fragmentation": fragmentation,
        },
    )


def methods_that_fit(
    model: str | float | ModelShape, memory_gb: float, *, gpus: int = 1, seq_len: int = 2048,
    micro_batch: int = 1, methods: Sequence[TrainMethod] = METHODS, **options: Any,
) -> list[TrainMethod]:
    """Which of ``methods`` fit ``gpus`` GPUs of ``memory_gb`` each (the advisor's LoRA/QLoRA/full choice)."""
    return [m for m in methods
            if estimate_memory(model, m, seq_len=seq_len, micro_batch=micro_batch, gpus=gpus, **options)
            .fits_in(memory_gb)]


class GpuFit(BaseModel):
    """A GPU kind and count on which a training run fits, with the memory estimate per GPU."""

    gpu: str
    count: int
    memory_gb: float  # per GPU
    memory: MemoryEstimate


GPU_COUNTS = (1, 2, 4, 8)


def fit_on_gpu(
    model: str | float | ModelShape, method: TrainMethod, gpu: GpuEntry, *, seq_len: int,
    micro_batch: int = 1, counts: Sequence[int] = GPU_COUNTS, **options: Any,
) -> GpuFit | None:
    """The fewest GPUs of this kind (from ``counts``) on which the run fits, or None."""
    for count in counts:
        mem = estimate_memory(model, method, seq_len=seq_len, micro_batch=micro_batch, gpus=count, **options)
        if mem.fits_in(gpu.memory_gb):
            return GpuFit(gpu=gpu.name, count=count, memory_gb=gpu.memory_gb, memory=mem)
    return None


def smallest_fitting_gpu(
    model: str | float | ModelShape, method: TrainMethod, *, seq_len: int, micro_batch: int = 1,
    counts: Sequence[int] = GPU_COUNTS, catalog: Catalog | None = None, **options: Any,
) -> GpuFit | None:
    """The catalog GPU and count with the least total memory that fits (ties: fewer GPUs, then the
    cheaper price); None when nothing fits even on the largest count."""
    cat = catalog or default_catalog()
    fits = [f for gpu in cat.gpus.rows.values()
            if (f := fit_on_gpu(model, method, gpu, seq_len=seq_len, micro_batch=micro_batch, counts=counts,
                                catalog=cat, **options)) is not None]
    if not fits:
        return None

    def rank(fit: GpuFit) -> tuple[float, int, float]:
        price = cat.gpus.rows[fit.gpu].cheapest()
        return (fit.count * fit.memory_gb, fit.count, price.usd_per_hour if price else float("inf"))

    return min(fits, key=rank)
