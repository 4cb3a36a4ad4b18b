"""The comparison: options, chart data, and what each report format carries."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ftrouter.catalog import load
from ftrouter.cost import estimate_training
from ftrouter.cost.compare import build_comparison
from ftrouter.cost.inference import Workload
from ftrouter.cost.render import comparison_csv, comparison_html, comparison_markdown, comparison_text, usd

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 21)


@pytest.fixture(scope="module")
def comparison():  # type: ignore[no-untyped-def]
    catalog = load()
    tokens = [600] * 1_000
    estimates = [e for b in ("openai", "vertex", "local")
                 for e in estimate_training(b, example_tokens=tokens, measured=[], catalog=catalog,
                                            assumptions={"today": TODAY})]
    return build_comparison(estimates, Workload(monthly_requests=50_000), catalog=catalog, today=TODAY,
                            data={"path": "x.jsonl", "examples": 1_000})


def test_options_cover_every_kind_and_break_even(comparison) -> None:  # type: ignore[no-untyped-def]
    kinds = [o.kind for o in comparison.options]
    assert kinds[:2] == ["prompting", "rag"]
    assert kinds.count("fine-tuned") == 2 and kinds.count("self-hosted") == 3
    assert all(o.break_even is not None for o in comparison.options if o.kind in ("fine-tuned", "self-hosted"))
    assert comparison.baseline == comparison.options[0].name


def test_chart_covers_volume_and_break_evens(comparison) -> None:  # type: ignore[no-untyped-def]
    chart = comparison.chart
    assert set(chart.series) == {o.name for o in comparison.options}
    assert chart.volumes[0] <= 50_000 / 100 and chart.volumes[-1] >= 50_000 * 100
    for o in comparison.options:
        if o.break_even and o.break_even.monthly_requests:
            assert chart.volumes[0] <= o.break_even.monthly_requests <= chart.volumes[-1]
    assert all(v > 0 for series in chart.series.values() for v in series)


def test_every_format_carries_tables_assumptions_and_dates(comparison) -> None:  # type: ignore[no-untyped-def]
    md = comparison_markdown(comparison)
    for heading in ("## Training", "## Inference and break-even", "## Assumptions", "## Prices used"):
        assert heading in md
    assert "as of 2026-07-20" in md and "mfu=0.35" in md
    html = comparison_html(comparison)
    assert html.count("<table>") == 2 and "<svg" in html
    assert "training,openai,gpt-4.1-mini-2025-04-14" in comparison_csv(comparison)
    assert "Break-even against prompting" in comparison_text(comparison, "table")


def test_override_adds_an_open_model() -> None:
    catalog = load([ROOT / "configs" / "prices" / "example-override.yaml"])
    [est] = estimate_training("local", example_tokens=[500] * 100, model="my-org/support-3b", gpu="h100",
                              catalog=catalog, measured=[], assumptions={"gpu_provider": "my-cluster"})
    assert est.fits and est.assumptions["gpu_usd_per_hour"] == 1.80


@pytest.mark.parametrize(("value", "text"), [(None, "unknown"), (0.00016, "$0.00016"), (12.5, "$12.50"),
                                             (12345.6, "$12,346"), (4e-8, "<$0.000001"), (0.0, "$0")])
def test_usd_formatting(value: float | None, text: str) -> None:
    assert usd(value) == text


def test_break_even_under_one_request_a_month_is_not_shown_as_zero(comparison) -> None:  # type: ignore[no-untyped-def]
    from ftrouter.cost.inference import BreakEven
    from ftrouter.cost.render import option_row

    option = next(o for o in comparison.options if o.kind == "fine-tuned").model_copy(deep=True)
    option.break_even = BreakEven(monthly_requests=0.17, total_requests=2, horizon_months=12,
                                  capped_by_shutdown=False, note="pays back after 2 queries")
    assert option_row(option, 1_000, 12)[-1] == "<1"


def test_chart_legend_labels_fit_the_legend_column(comparison) -> None:  # type: ignore[no-untyped-def]
    import re

    from ftrouter.cost.chart import LEGEND_CHARS, cost_chart_svg

    svg = cost_chart_svg(comparison.chart)
    labels = re.findall(r'<text x="[\d.]+" y="[\d.]+">([^<]+)<title>', svg)
    assert len(labels) == len(comparison.options)
    assert all(len(label) <= LEGEND_CHARS for label in labels)
    assert not any("meta-llama/" in label for label in labels)  # org prefix dropped, the size kept
    assert any("Llama-3.1-70B" in label for label in labels)


def test_chart_marks_options_that_shut_down_before_the_period_ends(comparison) -> None:  # type: ignore[no-untyped-def]
    from ftrouter.cost.chart import cost_chart_svg

    caveats = comparison.chart.caveats
    tuned = [o for o in comparison.options if o.kind == "fine-tuned" and o.shutdown_date is not None
             and o.shutdown_date < date(2027, 11, 21)]
    assert tuned and set(caveats) == {o.name for o in tuned}
    assert all("serves only" in text and "of the 12 months" in text for text in caveats.values())
    svg = cost_chart_svg(comparison.chart)
    assert svg.count("†") >= 2 * len(caveats)  # the legend mark and the footnote
