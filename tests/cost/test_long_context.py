"""Memory for training past the native context (issue 15, long context): activations at the extended
length — linear with a fused attention kernel, quadratic with eager attention — and estimates that name
the RoPE scaling the length relies on. Figures are checked against hand computation."""

from __future__ import annotations

import pytest

from ftrouter.cost import estimate_training
from ftrouter.cost.memory import GiB, estimate_memory
from ftrouter.errors import UsageError

QWEN = "Qwen/Qwen2.5-1.5B-Instruct"  # 28 layers, hidden 1536, 12 heads (head 128), 2 KV heads, MLP 8960


def test_activations_at_an_extended_length_by_hand() -> None:
    # per token per layer, bf16: 2 x (4 x 1536 + 2 x 1536 + 2 x 256 + 4 x 8960) = 91,136 bytes
    # checkpointed: 28 kept block inputs (2 x 1536 bytes a token) + one block's activations
    seq = 65_536
    expected = (28 * 2 * 1536 * seq + 91_136 * seq) / GiB
    mem = estimate_memory(QWEN, "lora", seq_len=seq, rope_scaling="yarn:4")
    assert mem.activations_gb == pytest.approx(expected) == pytest.approx(10.8125)
    assert mem.assumptions["rope_scaling"] == "yarn:4" and mem.assumptions["attention"] == "sdpa"
    half = estimate_memory(QWEN, "lora", seq_len=seq // 2)
    assert mem.activations_gb == pytest.approx(2 * half.activations_gb)  # linear in the sequence
    assert mem.logits_gb == pytest.approx(seq * 151_936 * 6 / GiB)  # bf16 logits + fp32 log-probs


def test_eager_attention_adds_the_quadratic_scores() -> None:
    seq = 4096
    scores = 6 * 12 * seq * seq  # fp32 softmax output + its bf16 copy, 12 heads: 1.125 GiB per block
    sdpa = estimate_memory(QWEN, "lora", seq_len=seq)
    eager = estimate_memory(QWEN, "lora", seq_len=seq, attention="eager")
    assert eager.activations_gb - sdpa.activations_gb == pytest.approx(scores / GiB) == pytest.approx(1.125)
    flat = estimate_memory(QWEN, "lora", seq_len=seq, activation_checkpointing=False)
    flat_eager = estimate_memory(QWEN, "lora", seq_len=seq, activation_checkpointing=False, attention="eager")
    assert flat_eager.activations_gb - flat.activations_gb == pytest.approx(28 * 1.125)  # every block keeps them
    doubled = estimate_memory(QWEN, "lora", seq_len=2 * seq, attention="eager")
    assert doubled.activations_gb - 2 * sdpa.activations_gb == pytest.approx(4 * 1.125)  # quadratic
    with pytest.raises(ValueError, match="unknown attention kernel 'flash3'"):
        estimate_memory(QWEN, "lora", seq_len=seq, attention="flash3")  # type: ignore[arg-type]


def _local(**assumptions: object) -> dict[str, object]:
    estimate = estimate_training("local", example_tokens=[70_000] * 50, model=QWEN, adapter="lora",
                                 assumptions=dict(assumptions))[0]
    return estimate.assumptions


def test_without_scaling_the_estimate_stops_at_the_native_context_and_says_so() -> None:
    found = _local(seq_len=65_536)
    assert (found["seq_len"], found["native_context"], found["context"], found["rope_scaling"]) == \
        (32_768, 32_768, 32_768, None)
    assert found["context_note"] == (f"seq_len 65,536 is past {QWEN}'s context of 32,768: memory is estimated at "
                                     "32,768; --set rope_scaling=linear:2 to estimate the longer run")


def test_with_scaling_the_estimate_covers_the_longer_sequence_and_names_it() -> None:
    found = _local(seq_len=65_536, rope_scaling="yarn:4")
    assert (found["seq_len"], found["context"], found["rope_scaling"]) == (65_536, 131_072, "yarn x4")
    assert "context_note" not in found
    components = found["memory_components_gb"]
    assert isinstance(components, dict) and components["activations"] == pytest.approx(10.81, abs=0.01)
    short = _local(seq_len=32_768, rope_scaling="yarn:4")["memory_components_gb"]
    assert isinstance(short, dict) and components["activations"] == pytest.approx(2 * short["activations"], abs=0.02)


def test_a_bad_scaling_assumption_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="assumption 'rope_scaling': factor must be above 1"):
        _local(rope_scaling="linear:0.5")
    with pytest.raises(UsageError, match="unknown RoPE scaling type 'ntk'"):
        _local(rope_scaling="ntk:2")
