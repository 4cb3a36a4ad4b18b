"""Inference cost per option and break-even, against figures worked by hand."""

from __future__ import annotations

from datetime import date

import pytest

from ftrouter.catalog import load
from ftrouter.cost.inference import (
    Workload,
    break_even,
    fine_tuned_option,
    prompting_option,
    rag_option,
    self_hosted_option,
)
from ftrouter.cost.shapes import resolve_shape

CATALOG = load()
# research notes §6.2: a 3,000-token few-shot prompt + 200-token query + 150 output tokens on gpt-4o,
# against a fine-tuned gpt-4o-mini with a 100-token instruction.
WORK = Workload(prompt_tokens=3000, query_tokens=200, output_tokens=150, instruction_tokens=100,
                rag_context_tokens=1000, service_months=12)


def test_break_even_hand_worked() -> None:
    # prompting gpt-4o: 3,200 x $2.50/1M + 150 x $10/1M = $0.0095 per query
    # fine-tuned gpt-4o-mini: 300 x $0.30/1M + 150 x $1.20/1M = $0.00027 per query
    # $9 of training / ($0.0095 - $0.00027) = 975.08 queries; over 12 months = 81.26 a month
    prompt = prompting_option(CATALOG.get_model("gpt-4o-2024-08-06"), WORK, CATALOG)
    tuned = fine_tuned_option(CATALOG.get_model("gpt-4o-mini-2024-07-18"), 9.0, WORK, CATALOG, "openai")
    assert prompt.per_query_usd == pytest.approx(0.0095)
    assert tuned.per_query_usd == pytest.approx(0.00027)
    result = break_even(tuned, prompt, WORK, date(2025, 6, 1))  # 19 months before the shutdown
    assert result.total_requests == pytest.approx(975.08, abs=0.01)
    assert result.monthly_requests == pytest.approx(975.08 / 12, abs=0.01)
    assert not result.capped_by_shutdown


def test_break_even_capped_by_remaining_service_life() -> None:
    # the fine-tuned model shuts down 2027-01-14: from 2026-11-19 that is 56 days = 1.84 months, so the
    # same 975 queries must come within 1.84 months
    prompt = prompting_option(CATALOG.get_model("gpt-4o-2024-08-06"), WORK, CATALOG)
    tuned = fine_tuned_option(CATALOG.get_model("gpt-4o-mini-2024-07-18"), 9.0, WORK, CATALOG, "openai")
    result = break_even(tuned, prompt, WORK, date(2026, 11, 19))
    months = 56 / (365.25 / 12)
    assert result.capped_by_shutdown
    assert result.horizon_months == pytest.approx(months)
    assert result.monthly_requests == pytest.approx(975.08 / months, rel=1e-4)
    assert "shuts down 2027-01-14" in result.note
    gone = break_even(tuned, prompt, WORK, date(2027, 2, 1))
    assert gone.monthly_requests is None and "never" in gone.note


def test_no_break_even_when_fine_tuned_queries_cost_more() -> None:
    cheap = Workload(prompt_tokens=0, query_tokens=200, output_tokens=150, instruction_tokens=100)
    prompt = prompting_option(CATALOG.get_model("gpt-4o-mini-2024-07-18"), cheap, CATALOG)
    tuned = fine_tuned_option(CATALOG.get_model("gpt-4o-mini-2024-07-18"), 9.0, cheap, CATALOG, "openai")
    result = break_even(tuned, prompt, cheap, date(2025, 1, 1))
    assert result.monthly_requests is None
    assert result.note.startswith("never")


def test_cached_prompt_and_rag_prices() -> None:
    cached = WORK.model_copy(update={"cache_static_prompt": True})
    # 3,000 cached at $1.25 + 200 at $2.50 + 150 at $10 (per 1M) = $0.00575 (research notes §6.2)
    assert prompting_option(CATALOG.get_model("gpt-4o-2024-08-06"), cached, CATALOG).per_query_usd == \
        pytest.approx(0.00575)
    # RAG: (100 + 1,000 + 200) x $2.50/1M + 150 x $10/1M = $0.00475
    assert rag_option(CATALOG.get_model("gpt-4o-2024-08-06"), WORK, CATALOG).per_query_usd == pytest.approx(0.00475)


def test_self_hosted_break_even_hand_worked() -> None:
    # Llama-3.1-8B on one L4 at a stated 1,000 tokens/s: 450 tokens a query -> 2.222 queries/s
    # = 5,840,000 queries in 730 h; one GPU-month = 730 x $0.80 = $584.
    # against prompting at $0.0095: monthly volume V with $10/12 + $584 = V x $0.0095 -> V = 61,561.4
    work = WORK.model_copy(update={"serving_tokens_per_second": 1000})
    hosted = self_hosted_option(resolve_shape("llama-3.1-8b"), CATALOG.gpus.get("l4"), 0.80, 10.0, work,
                                date(2026, 7, 20))
    assert hosted.gpus == 1
    assert hosted.queries_per_month_per_replica == pytest.approx(5_840_000)
    assert hosted.gpu_month_usd == pytest.approx(584)
    prompt = prompting_option(CATALOG.get_model("gpt-4o-2024-08-06"), WORK, CATALOG)
    result = break_even(hosted, prompt, work, date(2026, 1, 1))
    assert result.monthly_requests == pytest.approx((10 / 12 + 584) / 0.0095)
    # cumulative cost: one replica up to capacity, then two
    assert hosted.cost_over(5_840_000, 12) == pytest.approx(10 + 12 * 584)
    assert hosted.cost_over(5_840_001, 12) == pytest.approx(10 + 12 * 2 * 584)


def test_self_hosted_needs_more_gpus_than_it_can_pay_for() -> None:
    work = WORK.model_copy(update={"serving_tokens_per_second": 1})  # absurdly slow: never pays back
    hosted = self_hosted_option(resolve_shape("llama-3.1-70b"), CATALOG.gpus.get("a100"), 1.39, 5.0, work, None)
    assert hosted.gpus == 2  # 131 GiB of bf16 weights + 20% = 158 GiB on 80 GB cards
    prompt = prompting_option(CATALOG.get_model("gpt-4o-2024-08-06"), WORK, CATALOG)
    assert break_even(hosted, prompt, work, date(2026, 1, 1)).monthly_requests is None
