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
    bf16 = estimate_memory(shape, "full", seq_len=16, logits="fused", full_precision="bf16")
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
    # full fine-tuning as the local trainer runs it (fp32 master weights) does not fit one 80 GB GPU at 8B;
    # in pure bf16 it would
    assert methods_that_fit("llama-3.1-8b", 80, seq_len=1024) == ["lora", "qlora"]
    assert methods_that_fit("llama-3.1-8b", 80, seq_len=1024, full_precision="bf16") == ["full", "lora", "qlora"]
    fit = smallest_fitting_gpu("llama-3.1-8b", "lora", seq_len=1024)
    assert fit is not None and (fit.gpu, fit.count) == ("L4-24GB", 1)
    big = smallest_fitting_gpu("llama-3.1-70b", "full", seq_len=2048, full_precision="bf16")
    assert big is not None and big.count == 8 and big.memory.total_gb <= big.memory_gb
    assert smallest_fitting_gpu("llama-3.1-70b", "full", seq_len=2048) is None  # fp32 masters: over 8 GPUs
    assert smallest_fitting_gpu(405, "full", seq_len=8192) is None


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="method"):
        estimate_memory("llama-3.1-8b", "prefix", seq_len=10)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        estimate_memory("llama-3.1-8b", "lora", seq_len=0)


def test_the_estimator_and_the_trainer_resolve_precision_through_one_function() -> None:
    """Issue 11: `estimate --adapter full` on 8B said 63.9 GB (bf16 states) while the local trainer keeps
    fp32 master weights under bf16 autocast (18 bytes/parameter)."""
    from ftrouter.training import resolve_precision

    plan = resolve_precision("full")
    assert (plan.dtype, plan.bf16, plan.memory_mode) == ("float32", True, "mixed")
    assert resolve_precision("full", "bfloat16").memory_mode == "bf16"
    assert resolve_precision("lora").dtype == "bfloat16" and resolve_precision("lora", bf16_supported=False).fp16
    default = estimate_memory("llama-3.1-8b", "full", seq_len=1024)
    assert default.assumptions["full_precision"] == "mixed"
    states = (default.weights_gb + default.gradients_gb + default.optimizer_gb) * GiB
    assert states / resolve_shape("llama-3.1-8b").params == pytest.approx(18)
    bf16 = estimate_memory("llama-3.1-8b", "full", seq_len=1024, full_precision="bf16")
    assert default.total_gb > 1.9 * bf16.total_gb - 10  # about twice the old pure-bf16 figure


def test_the_trainer_uses_the_shared_precision_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ftrouter_local")
    pytest.importorskip("torch")
    import ftrouter_local.training as training
    from ftrouter_local.config import TrainConfig

    import ftrouter.training as shared

    seen: list[tuple[str, str]] = []
    real = shared.resolve_precision

    def spy(adapter: str, dtype: str = "auto", **kw: object) -> shared.PrecisionPlan:
        seen.append((adapter, dtype))
        return real(adapter, dtype, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(shared, "resolve_precision", spy)
    precision = training.resolve_precision(TrainConfig(model="m", adapter="full", device="cpu"))
    assert seen == [("full", "auto")] and precision.dtype == "float32"


def test_memory_is_at_the_training_length_and_an_outlier_is_named() -> None:
    """Issue 11: one 107k-token example made an 8B LoRA "need" two H200s."""
    from ftrouter.cost import estimate_training

    tokens = [300] * 99 + [107_000]
    [est] = estimate_training("local", example_tokens=tokens, model="llama-3.1-8b", measured=[])
    a = est.assumptions
    assert (a["seq_len"], a["training_length"], a["examples_truncated"]) == (1024, 1024, 1)
    assert a["longest_example"] == {"example": 100, "tokens": 107_000} and a["p95_tokens"] == 300
    assert "example #100 (107,000 tokens" in a["memory_note"]
    assert est.fits and a["gpus"] == 1 and a["memory_gb_per_gpu"] < 40
    [short] = estimate_training("local", example_tokens=[300] * 100, model="llama-3.1-8b", measured=[],
                                assumptions={"seq_len": 4096})
    assert short.assumptions["seq_len"] == 512 and "memory_note" not in short.assumptions
