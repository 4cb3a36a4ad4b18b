"""Training estimates against hand-worked figures (the issue's acceptance list)."""

from __future__ import annotations

from datetime import date

import pytest

from ftrouter.catalog import load
from ftrouter.cost import MeasuredRun, billed_tokens, estimate_training, openai_default_epochs
from ftrouter.errors import CatalogError, DataError, UnknownName, UsageError


@pytest.mark.parametrize(
    ("n", "epochs"),
    [(5, 20), (10_000, 2), (1, 25), (3, 25), (4, 25), (33, 3), (34, 3), (50, 3), (8_333, 3), (8_334, 2),
     (30_000, 1)],
)
def test_openai_auto_epochs(n: int, epochs: int) -> None:
    # 5 -> 100 // 5 = 20; 10,000 -> 25,000 // 10,000 = 2; 1 -> min(25, 100) = 25; 33*3 = 99 < 100 -> 100 // 33 = 3
    assert openai_default_epochs(n) == epochs


def test_billed_tokens_cap_over_long_examples() -> None:
    # limit 1,000: 400 + 1,000 (capped from 5,000) + 1,000 = 2,400 per epoch, x 3 epochs
    assert billed_tokens([400, 5_000, 1_000], 3, 1_000) == 7_200
    assert billed_tokens([400, 5_000, 1_000], 3, None) == 19_200


def test_openai_estimate_hand_worked() -> None:
    # 10 examples of 70,000 tokens, gpt-4o-mini: limit 65,536, auto epochs = 100 // 10 = 10,
    # billed = 10 x 65,536 x 10 = 6,553,600 tokens at $3.00/1M = $19.6608
    [est] = estimate_training("openai", example_tokens=[70_000] * 10, model="gpt-4o-mini-2024-07-18",
                              assumptions={"today": "2026-11-21"})
    assert est.epochs == 10
    assert est.billed_tokens == 6_553_600
    assert est.cost_usd == pytest.approx(19.6608)
    assert est.assumptions["examples_over_limit"] == 10
    assert est.fits
    assert est.prices_as_of == date(2026, 11, 21)


def test_openai_defaults_and_feasibility() -> None:
    ests = estimate_training("openai", example_tokens=[100] * 5, assumptions={"today": "2027-02-01"})
    assert [e.model for e in ests] == ["gpt-4.1-mini-2025-04-14"]
    [est] = ests
    assert not est.fits  # 5 < 10 examples, past the wind-down date and past the shutdown
    assert len(est.assumptions["problems"]) == 3
    assert est.cost_usd == pytest.approx(5 * 100 * 20 / 1e6 * 5.00)  # still priced, flagged infeasible


def test_vertex_cost_range_uses_error_band() -> None:
    [est] = estimate_training("vertex", example_tokens=[1_000] * 100, epochs=2,
                              assumptions={"token_error_band": 0.1})
    assert est.billed_tokens == 200_000
    assert est.cost_usd == pytest.approx(0.2 * 5.00)
    assert est.assumptions["cost_range_usd"] == [pytest.approx(0.9), pytest.approx(1.1)]


def test_local_lora_8b_on_h100_hand_worked() -> None:
    # Llama-3.1-8B LoRA r16 all-linear, 1,000 examples x 1,024 tokens x 3 epochs = 3,072,000 tokens.
    # FLOPs/token = (4 + 2 recompute) x matmul params + 4 x attention:
    #   matmul params = 8,030,261,248 - 128,256 x 4,096 (input embedding) = 7,504,924,672
    #   attention forward = 32 layers x 2 x 1,024 x 4,096 = 268,435,456 -> x4 = 1,073,741,824
    #   total = 6 x 7,504,924,672 + 1,073,741,824 = 46,103,289,856 FLOPs/token
    # tokens/s = 989e12 x 0.35 / 46,103,289,856 = 7,508.1 -> 3,072,000 / 7,508.1 = 409.2 s = 0.11366 h
    # cost at the cheapest H100 ($2.69/h, RunPod community) = $0.3057
    [est] = estimate_training("local", example_tokens=[1_024] * 1_000, model="llama-3.1-8b", gpu="h100",
                              measured=[])
    assert est.method == "lora"
    assert est.billed_tokens == 3_072_000
    assert est.assumptions["seq_len"] == 1_024
    assert est.hours == pytest.approx(0.11366, rel=1e-3)
    assert est.cost_usd == pytest.approx(0.11366 * 2.69, rel=1e-3)
    assert est.assumptions["gpus"] == 1
    assert est.fits


def test_local_measured_throughput_replaces_mfu_prior() -> None:
    runs = [MeasuredRun(model="meta-llama/Llama-3.1-8B-Instruct", gpu="H100-SXM-80GB", tokens_per_second=4_000,
                        method="lora"),
            MeasuredRun(model="llama-3.1-8b", gpu="h100", tokens_per_second=6_000),
            MeasuredRun(model="llama-3.1-8b", gpu="a100", tokens_per_second=99)]  # other GPU: ignored
    [est] = estimate_training("local", example_tokens=[1_024] * 1_000, model="llama-3.1-8b", gpu="h100",
                              measured=runs)
    assert est.assumptions["throughput_source"] == "measured (2 runs)"
    assert est.hours == pytest.approx(3_072_000 / 5_000 / 3600)


def test_local_without_price_reports_unknown_cost_not_zero() -> None:
    [est] = estimate_training("local", example_tokens=[512] * 100, model="qwen2.5-1.5b", gpu="4090", measured=[])
    assert est.cost_usd is None
    assert "no $/hour" in est.assumptions["problems"][0]
    [priced] = estimate_training("local", example_tokens=[512] * 100, model="qwen2.5-1.5b", gpu="4090",
                                 measured=[], assumptions={"gpu_usd_per_hour": 0.5})
    assert priced.cost_usd == pytest.approx(priced.hours * 0.5)


def test_local_defaults_pick_a_method_that_fits_the_stated_gpu() -> None:
    ests = estimate_training("local", example_tokens=[1_000] * 500, gpu="l4", measured=[])
    assert [e.assumptions["gpus"] for e in ests][:2] == [1, 1]
    assert len(ests) == 3
    large = ests[2]
    assert large.method == "qlora"  # a 70B model on 24 GB cards only fits quantised
    assert all(e.fits for e in ests)


def test_local_that_cannot_fit_says_so() -> None:
    [est] = estimate_training("local", example_tokens=[4_096] * 10, model="llama-3.1-70b", gpu="l4",
                              adapter="full", measured=[], assumptions={"max_gpus": 1})
    assert not est.fits
    assert est.cost_usd is None and est.hours is None
    assert "does not fit" in est.assumptions["problems"][0]


def test_bad_inputs_are_typed_errors() -> None:
    with pytest.raises(DataError):
        estimate_training("openai", example_tokens=[])
    with pytest.raises(UnknownName, match="did you mean"):
        estimate_training("openai", example_tokens=[10] * 20, model="gpt-4.1-mni-2025-04-14")
    with pytest.raises(UnknownName):
        estimate_training("openai", example_tokens=[10] * 20, model="gemini-2.5-flash")  # not an OpenAI model
    with pytest.raises(UnknownName, match="h100"):
        estimate_training("local", example_tokens=[10] * 20, gpu="h10")
    with pytest.raises(UnknownName):
        estimate_training("nope", example_tokens=[10] * 20)
    with pytest.raises(UsageError, match="mfuu"):
        estimate_training("local", example_tokens=[10] * 20, assumptions={"mfuu": 0.4})


def test_missing_price_in_catalog_names_file_and_row(tmp_path) -> None:
    override = tmp_path / "prices.yaml"
    override.write_text(
        "models:\n"
        "  - name: gpt-4o-mini-2024-07-18\n"
        "    backend: openai\n"
        "    family: gpt-4o\n"
        "    source: test\n"
        "    as_of: 2026-11-21\n"
    )
    catalog = load([override])
    with pytest.raises(CatalogError) as info:
        estimate_training("openai", example_tokens=[10] * 20, model="gpt-4o-mini-2024-07-18", catalog=catalog)
    assert f"{override}:2" in str(info.value)
    assert "training_usd_per_1m is missing" in str(info.value)
