"""Rendering the estimate and comparison reports: rich tables, Markdown, self-contained HTML, CSV, JSON.

Every format carries the same content: the per-backend training table, the inference and break-even
table, the assumptions, and the as-of date and source of every price used.
"""

from __future__ import annotations

import csv
import io
import json
from html import escape
from typing import TYPE_CHECKING, Any

from ftrouter.cost.chart import cost_chart_svg
from ftrouter.cost.compare import Comparison
from ftrouter.cost.inference import InferenceOption
from ftrouter.cost.report import EstimateReport
from ftrouter.cost.types import PriceDate, TrainingEstimate
from ftrouter.profiles import plans_gpus

if TYPE_CHECKING:
    from rich.console import Console

FORMATS = ("table", "md", "html", "json", "csv")
TRAINING_HEADERS = ["backend", "model", "method", "epochs", "billed tokens", "cost", "time", "GPU", "feasible"]
OPTION_HEADERS = ["option", "kind", "per query", "training", "per month at stated volume",
                  "break-even (requests/month)"]
# the local assumptions worth a line in a report (the rest stay in --json)
LOCAL_KEYS = ("seq_len", "training_length", "context", "rope_scaling", "context_note", "examples_truncated",
              "full_precision", "memory_note",
              "micro_batch", "gpus", "memory_gb_per_gpu", "mfu", "throughput_source",
              "tokens_per_second", "activation_checkpointing", "lora_rank", "gpu_usd_per_hour", "price_source")
MANAGED_KEYS = ("epochs_rule", "training_usd_per_1m", "training_token_limit", "examples_over_limit",
                "token_error_band", "cost_range_usd", "training_available_until")


def usd(value: float | None) -> str:
    if value is None:
        return "unknown"
    if value == 0:
        return "$0"
    if value < 0.000001:
        return "<$0.000001"  # not "$0.": a tiny cost is still not a zero cost
    if value < 0.01:
        return f"${value:.6f}".rstrip("0")
    if value < 1000:
        return f"${value:,.2f}"
    return f"${value:,.0f}"


def duration(hours: float | None) -> str:
    if hours is None:
        return "-"
    minutes = hours * 60
    if minutes < 1:
        return "<1 min"
    if minutes < 90:
        return f"{minutes:.0f} min"
    return f"{hours:,.1f} h"


def count(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def training_row(e: TrainingEstimate) -> list[str]:
    gpu = e.gpu or "-"
    if e.gpu and e.assumptions.get("gpus", 1) > 1:
        gpu = f"{e.assumptions['gpus']} x {e.gpu}"
    feasible = ("yes" if e.fits else "no") + ("*" if e.assumptions.get("problems") else "")
    return [e.backend, e.model, e.method, str(e.epochs), count(e.billed_tokens), usd(e.cost_usd), duration(e.hours),
            gpu, feasible]


def problem_lines(estimates: list[TrainingEstimate]) -> list[str]:
    return [f"{e.backend} {e.model}: {problem}" for e in estimates for problem in e.assumptions.get("problems", [])]


def _break_even_text(option: InferenceOption) -> str:
    be = option.break_even
    if be is None:
        return "baseline" if option.kind == "prompting" else "-"
    if be.monthly_requests is None:
        return "never"
    return "<1" if be.monthly_requests < 1 else count(be.monthly_requests)


def break_even_lines(c: Comparison) -> list[str]:
    lines = [f"{o.name}: {o.break_even.note} (horizon {o.break_even.horizon_months:.1f} months)"
             for o in c.options if o.break_even is not None]
    lines += [f"{o.name}: {note}" for o in c.options for note in o.notes]
    return lines


def option_row(option: InferenceOption, monthly_requests: int, months: float) -> list[str]:
    monthly = (option.cost_over(monthly_requests, months) - option.training_usd) / months
    name = option.name + ("*" if option.notes else "")
    return [name, option.kind, usd(option.per_query_usd), usd(option.training_usd) if option.training_usd else "-",
            usd(monthly), _break_even_text(option)]


def assumption_lines(estimates: list[TrainingEstimate]) -> list[str]:
    lines = []
    for e in estimates:
        keys = LOCAL_KEYS if plans_gpus(e.backend) else MANAGED_KEYS
        shown = ", ".join(f"{k}={e.assumptions[k]}" for k in keys if e.assumptions.get(k) is not None)
        lines.append(f"{e.backend} {e.model}: {shown}")
    return lines


def price_lines(prices: list[PriceDate]) -> list[str]:
    return [f"{p.item}: as of {p.as_of}{' (secondary source)' if p.secondary else ''} — {p.source}" for p in prices]


def workload_lines(c: Comparison) -> list[str]:
    w = c.workload.model_dump()
    return [f"{k}={v}" for k, v in w.items() if v is not None] + [f"today={c.today}", f"baseline={c.baseline}"]


# -- estimate ------------------------------------------------------------------------------------


def serving_lines(serving: dict[str, Any] | None) -> list[str]:
    """``estimate --task``: what serving the trained encoder takes (``ftrouter.cost.encoder``)."""
    if not serving or "requests_per_second_per_gpu" not in serving:
        return []
    lines = [f"{serving['requests_per_second_per_gpu']:,} requests/s per {serving['gpu']} at "
             f"{serving['mean_input_tokens']:g} input tokens (2 x parameters FLOPs per token, MFU {serving['mfu']})"]
    if "always_on_gpu_usd_per_month" in serving:
        lines.append(f"one always-on GPU: ${serving['always_on_gpu_usd_per_month']:,.2f} a month")
    return lines


def print_estimate(report: EstimateReport, console: Console) -> None:
    from rich.table import Table

    data = report.data
    console.print(f"{data['path']}: {data['examples']:,} examples ({data['format']})", markup=False)
    for b, total in data["tokens_total"].items():
        console.print(f"  {b} tokens: {total:,}, counted with {data['counted_with'][b]}", markup=False)
    console.print(_training_table(report.backends, Table))
    _print_section(console, "Serving the encoder", serving_lines(report.serving))
    _print_section(console, "Problems", problem_lines(report.backends))
    console.print(_heading("Assumptions", " (override with --set KEY=VALUE)"))
    for line in assumption_lines(report.backends):
        console.print(f"  {line}", markup=False)
    console.print(_heading("Prices as of", f" {report.prices_as_of or 'unknown'} (oldest used)"))
    for line in price_lines(report.prices):
        console.print(f"  {line}", markup=False)


# -- compare -------------------------------------------------------------------------------------


def _training_table(estimates: list[TrainingEstimate], table_class: Any) -> Any:
    table = table_class(*TRAINING_HEADERS)
    for i, column in enumerate(table.columns):
        column.no_wrap = i != 1
    table.columns[1].overflow = "fold"
    table.columns[1].min_width = 20
    for e in estimates:
        table.add_row(*training_row(e))
    return table


def _heading(title: str, rest: str = "") -> Any:
    """A bold title followed by plain text; never parsed as markup (``rest`` may hold a file name)."""
    from rich.text import Text

    return Text.assemble((title, "bold"), rest)


def _print_section(console: Console, title: str, lines: list[str]) -> None:
    if not lines:
        return
    console.print(_heading(title))
    for line in lines:
        console.print(f"  {line}", markup=False)


def _sections(c: Comparison) -> list[tuple[str, list[str]]]:
    """The report's list sections, in order, for every format."""
    return [(c.quality_title or "Measured quality", c.quality),
            ("Break-even against prompting", break_even_lines(c)), ("Workload", workload_lines(c)),
            ("Assumptions", assumption_lines(c.training)), ("Prices used (as of)", price_lines(c.prices)),
            ("Notes", c.notes)]


def _option_rows(c: Comparison) -> list[list[str]]:
    return [option_row(o, c.workload.monthly_requests, c.workload.service_months) for o in c.options]


def print_comparison(c: Comparison, console: Console) -> None:
    from rich.table import Table

    console.print(_heading("Training", f" — {c.data.get('path')}: {c.data.get('examples', 0):,} examples"))
    console.print(_training_table(c.training, Table))
    _print_section(console, "Problems", problem_lines(c.training))
    console.print(_heading("Inference and break-even", f" — {c.workload.monthly_requests:,} requests/month "
                           f"over {c.workload.service_months:g} months"))
    options = Table(*OPTION_HEADERS)
    for i, column in enumerate(options.columns):
        column.no_wrap = i != 0
    options.columns[0].overflow = "fold"
    options.columns[0].min_width = 24
    for row in _option_rows(c):
        options.add_row(*row)
    console.print(options)
    for title, lines in _sections(c):
        _print_section(console, title, lines)


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out)


def comparison_markdown(c: Comparison) -> str:
    parts = [
        "# ftrouter comparison", "",
        f"Data: `{c.data.get('path')}` — {c.data.get('examples', 0):,} examples. "
        f"Prices as of {min((p.as_of for p in c.prices), default='unknown')} (oldest used; each listed below).", "",
        "## Training", "", _md_table(TRAINING_HEADERS, [training_row(e) for e in c.training]), "",
        *(f"- {line}" for line in problem_lines(c.training)), "",
        f"## Inference and break-even ({c.workload.monthly_requests:,} requests/month, "
        f"{c.workload.service_months:g} months)", "",
        _md_table(OPTION_HEADERS, _option_rows(c)), "",
    ]
    for title, lines in _sections(c):
        parts += [f"## {title}", "", *(f"- {line}" for line in lines), ""]
    return "\n".join(parts)


def _html_table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_list(lines: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>"


HTML_STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
              "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;"
              "text-align:left;font-size:14px}th{background:#f3f3f3}li{font-size:14px}")


def comparison_html(c: Comparison) -> str:
    """A self-contained page: inline CSS and SVG, no script, nothing fetched from the network."""
    oldest = min((p.as_of for p in c.prices), default=None)
    sections = [
        f"<h1>ftrouter comparison</h1><p>Data: <code>{escape(str(c.data.get('path')))}</code> — "
        f"{c.data.get('examples', 0):,} examples. Prices as of {oldest or 'unknown'} (oldest used).</p>",
        "<h2>Training</h2>" + _html_table(TRAINING_HEADERS, [training_row(e) for e in c.training])
        + _html_list(problem_lines(c.training)),
        f"<h2>Inference and break-even</h2><p>{c.workload.monthly_requests:,} requests/month over "
        f"{c.workload.service_months:g} months.</p>" + _html_table(OPTION_HEADERS, _option_rows(c)),
        "<h2>Cost against volume</h2>" + cost_chart_svg(c.chart, marker=float(c.workload.monthly_requests)),
        *(f"<h2>{escape(title)}</h2>" + _html_list(lines) for title, lines in _sections(c)),
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ftrouter comparison</title>"
            f"<style>{HTML_STYLE}</style></head><body>\n" + "\n".join(sections) + "\n</body></html>\n")


# measured quality (``compare --eval RUN``): rows of section "quality" (a model; ``name`` is its spec) and
# "quality_comparison" (``name`` against ``baseline``), in columns of their own at the end so that the
# cost columns keep their places
QUALITY_COLUMNS = ["eval_run", "examples", "metric", "score", "ci95_low", "ci95_high", "errors", "latency_p50_ms",
                   "eval_cost_usd", "baseline", "delta", "p_value", "test"]
CSV_COLUMNS = ["section", "backend", "name", "model", "method", "epochs", "billed_tokens", "training_usd", "hours",
               "gpu", "fits", "per_query_usd", "monthly_usd", "break_even_monthly_requests", "horizon_months",
               "prices_as_of", "note", *QUALITY_COLUMNS]


def _csv_rows(c: Comparison) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {"section": "training", "backend": e.backend, "name": e.model, "model": e.model, "method": e.method,
         "epochs": e.epochs, "billed_tokens": e.billed_tokens, "training_usd": e.cost_usd, "hours": e.hours,
         "gpu": e.gpu, "fits": e.fits, "prices_as_of": e.prices_as_of,
         "note": "; ".join(e.assumptions.get("problems", []))}
        for e in c.training
    ]
    months, volume = c.workload.service_months, c.workload.monthly_requests
    for o in c.options:
        be = o.break_even
        rows.append({"section": "inference", "name": o.name, "model": o.model, "method": o.kind,
                     "training_usd": o.training_usd, "gpu": o.gpu, "per_query_usd": o.per_query_usd,
                     "monthly_usd": (o.cost_over(volume, months) - o.training_usd) / months,
                     "break_even_monthly_requests": be.monthly_requests if be else None,
                     "horizon_months": be.horizon_months if be else None, "prices_as_of": o.prices_as_of,
                     "note": be.note if be else ""})
    rows += [{"section": "quality" if q["kind"] == "model" else "quality_comparison", "name": q["model"],
              **{k: q.get(k) for k in QUALITY_COLUMNS}} for q in c.quality_rows]
    rows += [{"section": "price", "name": p.item, "prices_as_of": p.as_of, "note": p.source} for p in c.prices]
    return rows


def comparison_csv(c: Comparison) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in _csv_rows(c):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buffer.getvalue()


def comparison_json(c: Comparison) -> str:
    return json.dumps(c.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def comparison_text(c: Comparison, fmt: str, *, width: int = 160) -> str:
    """The report as text in ``fmt`` (the table format as plain text, for ``-o``)."""
    if fmt == "md":
        return comparison_markdown(c)
    if fmt == "html":
        return comparison_html(c)
    if fmt == "csv":
        return comparison_csv(c)
    if fmt == "json":
        return comparison_json(c)
    from rich.console import Console

    console = Console(record=True, width=width, file=io.StringIO(), color_system=None, markup=False, emoji=False,
                      highlight=False)
    print_comparison(c, console)
    return console.export_text()
