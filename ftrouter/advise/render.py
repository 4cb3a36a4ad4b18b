"""Terminal rendering of the advice with rich (the ``--json`` output is ``Advice.model_dump``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ftrouter.advise.advisor import Advice
from ftrouter.advise.facts import display
from ftrouter.advise.rules import APPROACHES

_SHORT = {"prompting": "prompt", "rag": "rag", "finetune": "ft", "rag+finetune": "rag+ft"}


def _points(value: float | None) -> Text:
    if not value:
        return Text("")
    return Text(f"{value:+g}", style="green" if value > 0 else "red")


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={display(v)}" for k, v in value.items())
    return "" if value is None else display(value)


def _headline(advice: Advice) -> Panel:
    lines = [Text.assemble(("Recommendation: ", "bold"), (advice.recommendation, "bold cyan"),
                           f"   confidence {advice.confidence:.2f} ({advice.confidence_label})")]
    if advice.method:
        lines.append(Text.assemble(("Method: ", "bold"), advice.method,
                                   ("   Backends: ", "bold"), " > ".join(advice.backends or []) or "none"))
    ranking = "   ".join(f"{r['approach']} {r['score']:+g}" + (" (ruled out)" if r["ruled_out_by"] else "")
                           for r in advice.ranking)
    lines.append(Text(f"Ranking: {ranking}", style="dim"))
    return Panel(Group(*lines), title="ftrouter advise", box=box.ROUNDED)


def _effects(effects: dict[str, float], rules_out: list[str]) -> Text:
    text = Text()
    if rules_out:
        text.append("rules out\n" + "\n".join(_SHORT[a] for a in rules_out), style="bold red")
    for approach in APPROACHES:
        points = effects.get(approach)
        if points:
            if text:
                text.append("\n")
            text.append(f"{_SHORT[approach]} ")
            text.append_text(_points(points))
    return text


def _factors(advice: Advice) -> Table:
    table = Table(title="Factors", box=box.SIMPLE_HEAD, expand=True)
    table.add_column("factor (value)", overflow="fold", ratio=2)
    table.add_column("points", no_wrap=True)
    table.add_column("reason [rule]", overflow="fold", ratio=5)
    for factor in advice.factors:
        value = _value(factor["value"])
        name = Text.assemble(factor["name"], (f"\n{value}" if value else "", "dim"))
        table.add_row(name, _effects(factor["effects"], factor["rules_out"]),
                      Text.assemble(factor["reason"], (f" [{factor['rule']}]", "dim")))
    return table


def _lines(reasons: Iterable[str]) -> str:
    """Several reasons for one candidate: one per line, so they never run together into one sentence."""
    unique = list(dict.fromkeys(reasons))
    return "\n".join(f"• {r}" for r in unique) if len(unique) > 1 else "".join(unique)


def _methods(advice: Advice) -> Table:
    table = Table(title="Local training method", box=box.SIMPLE_HEAD, expand=True)
    for name in ("method", "memory GB/GPU", "fits", "score", "why"):
        table.add_column(name, overflow="fold")
    for m in advice.methods or []:
        why = m["excluded_by"]["reason"] if m["excluded"] else _lines(r["reason"] for r in m["reasons"])
        table.add_row(m["method"], _value(m["memory_gb"]), _value(m["fits"]),
                      "excluded" if m["excluded"] else f"{m['score']:+g}", why)
    return table


def _backends(advice: Advice) -> Table:
    table = Table(title="Backends", box=box.SIMPLE_HEAD, expand=True)
    for name in ("backend", "method", "score", "est. cost", "why"):
        table.add_column(name, overflow="fold")
    for b in advice.backend_details or []:
        why = b["excluded_by"]["reason"] if b["excluded"] else _lines(r["reason"] for r in b["reasons"])
        cost = "" if b["cost_usd"] is None else f"${b['cost_usd']:,.2f}"
        table.add_row(b["backend"], _value(b["method"]), "excluded" if b["excluded"] else f"{b['score']:+g}",
                      cost, why)
    return table


def _costs(advice: Advice) -> Table:
    table = Table(title="Estimated training cost (from --data)", box=box.SIMPLE_HEAD, expand=True)
    for name in ("backend", "model", "method", "cost", "time", "GPU", "prices as of", "note"):
        table.add_column(name, overflow="fold")
    for c in advice.costs or []:
        cost = "unknown" if c["cost_usd"] is None else f"${c['cost_usd']:,.2f}"
        hours = "" if c["hours"] is None else f"{c['hours']:.2f} h"
        table.add_row(c["backend"], c["model"], c["method"], cost, hours, c["gpu"] or "", c["prices_as_of"] or "",
                      c["note"] or "")
    return table


def _bullets(title: str, items: list[str], style: str = "", numbered: bool = False) -> Group:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for i, item in enumerate(items, start=1):
        grid.add_row(f"  {i}." if numbered else "  •", Text(item, style=style))
    return Group(Text(title, style="bold"), grid)


def _alternative_text(alt: dict[str, Any]) -> str:
    cost = alt.get("cost") or {}
    parts = []
    if cost.get("training_usd") is not None:
        parts.append(f"training about ${cost['training_usd']:,.2f} on {cost.get('gpu')}")
    if cost.get("requests_per_second_per_gpu"):
        parts.append(f"about {cost['requests_per_second_per_gpu']:,} requests/s per GPU")
    if cost.get("compute_usd_per_month") is not None:
        parts.append(f"${cost['compute_usd_per_month']:,.2f}/month of GPU time at the stated volume "
                     f"(one GPU always on: ${cost['always_on_gpu_usd_per_month']:,.2f}/month)")
    return alt["text"] + (f" Cost: {'; '.join(parts)}." if parts else "")


def render_advice(advice: Advice, console: Console) -> None:
    """Print the advice: headline, factors, method and backends, costs, counterfactuals, steps."""
    console.print(_headline(advice))
    console.print(_factors(advice))
    if advice.methods:
        console.print(_methods(advice))
    if advice.backend_details:
        console.print(_backends(advice))
    if advice.costs:
        console.print(_costs(advice))
    if advice.counterfactuals:
        console.print(_bullets("What would change the advice", [c["text"] for c in advice.counterfactuals]))
    if advice.warnings:
        console.print(_bullets("Warnings", [w["text"] for w in advice.warnings], style="yellow"))
    if advice.alternatives:
        console.print(_bullets("Also on the table", [_alternative_text(a) for a in advice.alternatives]))
    console.print(_bullets("Next steps", [s["text"] for s in advice.next_steps], numbered=True))
    console.print(Text("; ".join(advice.assumptions), style="dim"))
