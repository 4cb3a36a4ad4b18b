"""The architecture facts the memory and time estimators need, from the open-model catalog or from a
bare parameter count (for models the catalog does not know)."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from ftrouter.catalog import Catalog, OpenModelEntry, default_catalog

# The linear layers of a Llama/Qwen/Mistral-style decoder block; "all-linear" in PEFT means these.
ATTENTION_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP_TARGETS = ("gate_proj", "up_proj", "down_proj")
ALL_LINEAR = ATTENTION_TARGETS + MLP_TARGETS


class ModelShape(BaseModel):
    """A dense decoder-only transformer (GQA attention, gated MLP)."""

    model_config = ConfigDict(frozen=True)

    name: str
    layers: int = Field(gt=0)
    hidden: int = Field(gt=0)
    intermediate: int = Field(gt=0)
    heads: int = Field(gt=0)
    kv_heads: int = Field(gt=0)
    head_dim: int | None = None
    vocab: int = Field(gt=0)
    tied_embeddings: bool = False

    @property
    def q_dim(self) -> int:
        return self.heads * (self.head_dim or self.hidden // self.heads)

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * (self.head_dim or self.hidden // self.heads)

    def linear_dims(self) -> dict[str, tuple[int, int]]:
        """(in, out) features of each linear layer in one block."""
        h, i = self.hidden, self.intermediate
        return {
            "q_proj": (h, self.q_dim), "k_proj": (h, self.kv_dim), "v_proj": (h, self.kv_dim),
            "o_proj": (self.q_dim, h),
            "gate_proj": (h, i), "up_proj": (h, i), "down_proj": (i, h),
        }

    @property
    def block_linear_params(self) -> int:
        return sum(a * b for a, b in self.linear_dims().values())

    @property
    def linear_params(self) -> int:
        """Parameters in the blocks' linear layers: what QLoRA quantises to 4 bits."""
        return self.layers * self.block_linear_params

    @property
    def embedding_params(self) -> int:
        """Token embedding plus the output head (one matrix when tied)."""
        return self.vocab * self.hidden * (1 if self.tied_embeddings else 2)

    @property
    def params(self) -> int:
        norms = self.layers * 2 * self.hidden + self.hidden
        return self.linear_params + self.embedding_params + norms


def shape_from_entry(entry: OpenModelEntry) -> ModelShape:
    return ModelShape(
        name=entry.name, layers=entry.layers, hidden=entry.hidden, intermediate=entry.intermediate,
        heads=entry.heads, kv_heads=entry.kv_heads, head_dim=entry.head_dim, vocab=entry.vocab,
        tied_embeddings=entry.tied_embeddings,
    )


def shape_from_params(params_b: float, *, vocab: int = 128_256, name: str | None = None) -> ModelShape:
    """A plausible Llama-style shape for a model known only by its size.

    Uses the proportions of the Llama 3 family: intermediate = 3.5 x hidden, head size 128, 8 KV heads,
    and depth = hidden / 128, so one block holds about 13 x hidden^2 parameters. The hidden size is
    solved from the parameter count (minus untied embeddings) and rounded to a multiple of 256.
    """
    if params_b <= 0:
        raise ValueError("params_b must be positive")
    total = params_b * 1e9
    hidden = 1024
    for _ in range(30):  # fixed point: the embedding share depends on hidden
        body = max(total - 2 * vocab * hidden, total * 0.5)
        hidden = round((body * 128 / 13) ** (1 / 3) / 256) * 256 or 256
    heads = max(1, hidden // 128)
    return ModelShape(
        name=name or f"{params_b:g}B (generic shape)", layers=max(1, hidden // 128), hidden=hidden,
        intermediate=int(3.5 * hidden), heads=heads, kv_heads=min(8, heads), vocab=vocab,
    )


def resolve_shape(model: str | float | ModelShape, catalog: Catalog | None = None) -> ModelShape:
    """A shape from a catalog name or alias, a parameter count in billions, or a shape itself."""
    if isinstance(model, ModelShape):
        return model
    if isinstance(model, int | float):
        return shape_from_params(float(model))
    return shape_from_entry((catalog or default_catalog()).open_models.get(model))


def lora_trainable_params(shape: ModelShape, rank: int, targets: Iterable[str] = ALL_LINEAR) -> int:
    """``layers x sum over targeted projections of rank x (in + out)`` — PEFT's count for LoRA."""
    dims = shape.linear_dims()
    wanted = list(targets)
    unknown = [t for t in wanted if t not in dims]
    if unknown:
        raise ValueError(f"unknown LoRA target(s) {unknown}; known: {sorted(dims)}")
    return shape.layers * sum(rank * (dims[t][0] + dims[t][1]) for t in wanted)
