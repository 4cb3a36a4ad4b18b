"""Memory estimator: a hand-worked LoRA figure for an 8B model, the component model, GPU fitting."""

from __future__ import annotations

import pytest

from ftrouter.catalog import load
from ftrouter.cost import (
    estimate_memory,
    lora_trainable_params,
    methods_that_fit,
    resolve_shape,
    shape_from_params,
    smallest_fitting_gpu,
)

GiB = 2**30


def test_lora_8b_memory_hand_worked() -> None:
    # Llama-3.1-8B (8,030,261,248 params), LoRA r16 on all 7 linear layers, seq 2,048, micro-batch 1,
    # activation checkpointing, unchunked loss:
    #   weights bf16          8,030,261,248 x 2            = 16,060,522,496 B
    #   trainable             32 x 16 x (8,192 + 2x5,120 + 8,192 + 3x18,432) = 41,943,040
    #   adapter fp32 / grads  41,943,040 x 4               =    167,772,160 B each
    #   Adam moments          41,943,040 x 8               =    335,544,320 B
    #   activations           32 x 2 x 4,096 x 2,048 (block inputs) + 167,936 x 2,048 (one block) = 880,803,840 B
    #                         (167,936 = 2 x (4x4,096 + 2x4,096 + 2x1,024 + 4x14,336))
    #   logits                2,048 x 128,256 x 6          =  1,576,009,728 B
    #   overhead              0.75 GiB + 5% of the above
    mem = estimate_memory("meta-llama/Llama-3.1-8B-Instruct", "lora", seq_len=2048, micro_batch=1)
    assert mem.trainable_params == 41_943_040
    expected = {"weights": 16_060_522_496, "adapter": 167_772_160, "gradients": 167_772_160,
                "optimizer": 335_544_320, "activations": 880_803_840, "logits": 1_576_009_728}
    for name, value in expected.items():
        assert mem.components()[name] == pytest.approx(value / GiB), name
    subtotal = sum(expected.values()) / GiB
    assert mem.overhead_gb == pytest.approx(0.75 + 0.05 * subtotal)
    assert mem.total_gb == pytest.approx(19.51, abs=0.01)


def test_components_sum_not_largest_component() -> None:
    mem = estimate_memory(8, "full", seq_len=1024)
    assert mem.total_gb == pytest.approx(sum(mem.components().values()))
    assert mem.total_gb > 3 * mem.weights_gb  # bf16 full: weights + gradients + 2 Adam moments


def test_full_precision_modes_bytes_per_param() -> None:
    shape = resolve_shape("llama-3.1-8b")
    bf16 = estimate_memory(shape, "full", seq_len=16, logits="fused")
    mixed = estimate_memory(shape, "full", seq_len=16, logits="fused", full_precision="mixed")
    states = lambda m: (m.weights_gb + m.gradients_gb + m.optimizer_gb) * GiB / shape.params  # noqa: E731
    assert states(bf16) == pytest.approx(8)  # LLaMA-Factory "pure_bf16": 8x
    assert states(mixed) == pytest.approx(18)  # HF memory anatomy: 6 + 4 + 8


def test_qlora_is_smaller_and_sharding_divides_states() -> None:
    lora = estimate_memory("llama-3.1-8b", "lora", seq_len=2048)
    qlora = estimate_memory("llama-3.1-8b", "qlora", seq_len=2048)
    assert qlora.weights_gb < lora.weights_gb / 2.5
    one = estimate_memory("llama-3.1-70b", "full", seq_len=2048, gpus=1)
    eight = estimate_memory("llama-3.1-70b", "full", seq_len=2048, gpus=8)
    assert eight.optimizer_gb == pytest.approx(one.optimizer_gb / 8)
    assert eight.activations_gb == pytest.approx(one.activations_gb)  # per-GPU micro-batch


def test_checkpointing_offloading_and_loss_kernels_reduce_memory() -> None:
    base = estimate_memory("qwen2.5-7b", "lora", seq_len=4096, activation_checkpointing=False)
    ckpt = estimate_memory("qwen2.5-7b", "lora", seq_len=4096)
    offload = estimate_memory("qwen2.5-7b", "lora", seq_len=4096, activation_offloading=True)
    assert ckpt.activations_gb < base.activations_gb / 5
    # Qwen2.5-7B: one block saves 2 x (4x3,584 + 2x3,584 + 2x512 + 4x18,944) = 196,608 B per token
    assert ckpt.activations_gb == pytest.approx((28 * 2 * 3584 + 196_608) * 4096 / GiB)
    assert offload.activations_gb == pytest.approx((1 * 2 * 3584 + 196_608) * 4096 / GiB)
    chunked = estimate_memory("qwen2.5-7b", "lora", seq_len=4096, logits="chunked")
    fused = estimate_memory("qwen2.5-7b", "lora", seq_len=4096, logits="fused")
    # full: 4,096 x 152,064 x 6 B; chunked: x 3 B; fused: 4,096 x 3,584 x 8 B
    assert ckpt.logits_gb == pytest.approx(4096 * 152064 * 6 / GiB)
    assert chunked.logits_gb == pytest.approx(ckpt.logits_gb / 2)
    assert fused.logits_gb == pytest.approx(4096 * 3584 * 8 / GiB)


@pytest.mark.parametrize(
    ("model", "r16_all_linear", "r8_qv"),
    # shared/research/local-training.md §2.3 (derived from the models' configs; Qwen2.5-3B r16 q,v
    # = 3,686,400 is PEFT's README figure)
    [("llama-3.1-8b", 41.9e6, 3.41e6), ("qwen2.5-7b", 40.4e6, 2.52e6), ("qwen2.5-3b", 29.9e6, 1.84e6),
     ("llama-3.1-70b", 207.1e6, 16.4e6)],
)
def test_lora_counts_match_research_table(model: str, r16_all_linear: float, r8_qv: float) -> None:
    shape = resolve_shape(model)
    assert lora_trainable_params(shape, 16) == pytest.approx(r16_all_linear, rel=2e-3)
    assert lora_trainable_params(shape, 8, ["q_proj", "v_proj"]) == pytest.approx(r8_qv, rel=5e-3)
    if model == "qwen2.5-3b":
        assert lora_trainable_params(shape, 16, ["q_proj", "v_proj"]) == 3_686_400


def test_catalog_shapes_match_published_parameter_counts() -> None:
    for entry in load().open_models.rows.values():
        assert resolve_shape(entry.name).params / 1e9 == pytest.approx(entry.params_b, rel=0.01), entry.name


def test_generic_shape_from_size() -> None:
    for size in (1, 3, 8, 14, 70, 405):
        assert shape_from_params(size).params / 1e9 == pytest.approx(size, rel=0.08)
    assert estimate_memory(8.0, "lora", seq_len=512).total_gb > 15


def test_methods_that_fit_and_smallest_gpu() -> None:
    assert methods_that_fit("llama-3.1-8b", 12, seq_len=1024) == ["qlora"]
    assert methods_that_fit("llama-3.1-8b", 80, seq_len=1024) == ["full", "lora", "qlora"]
    fit = smallest_fitting_gpu("llama-3.1-8b", "lora", seq_len=1024)
    assert fit is not None and (fit.gpu, fit.count) == ("L4-24GB", 1)
    big = smallest_fitting_gpu("llama-3.1-70b", "full", seq_len=2048)
    assert big is not None and big.count == 8 and big.memory.total_gb <= big.memory_gb
    assert smallest_fitting_gpu(405, "full", seq_len=8192) is None


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="method"):
        estimate_memory("llama-3.1-8b", "prefix", seq_len=10)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        estimate_memory("llama-3.1-8b", "lora", seq_len=0)
