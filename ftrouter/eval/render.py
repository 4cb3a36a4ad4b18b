"""Reports of a stored run: a terminal table, Markdown, CSV and JSON of the summary, and a
self-contained HTML side-by-side view of every example.

Model output, prompts, references and even model specs are untrusted text: the terminal console
interprets neither markup nor emoji, Markdown and HTML cells are HTML-escaped (Markdown renders inline
HTML), CSV cells that a spreadsheet would run as a formula are quoted with a leading apostrophe.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Iterable
from typing import Any

FORMATS = ("table", "md", "html", "json", "csv")


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _interval(ci: list[float | None] | None) -> str:
    if not ci or ci[0] is None or ci[1] is None:
        return ""
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _p(value: float | None) -> str:
    return "–" if value is None else (f"{value:.2g}" if value < 0.001 else f"{value:.3f}")


def verdict(comparison: dict[str, Any], alpha: float = 0.05) -> str:
    p, delta = comparison.get("p_value"), comparison.get("delta")
    if p is None or delta is None or p >= alpha:
        return "no significant difference"
    return "b better" if delta > 0 else "b worse: significant regression"


def model_rows(record: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    metrics = record["details"]["metrics"]
    header = ["model", *metrics, "errors", "cached", "p50 ms", "p95 ms", "tokens in", "tokens out", "cost $"]
    rows = []
    for m in record["summary"]["models"]:
        cells = [m["model"]]
        for name in metrics:
            value = m["metrics"].get(name)
            cells.append(f"{_fmt(value)} {_interval(m['ci95'].get(name))}".strip())
        cells += [str(m["errors"]), str(m["cached"]), _fmt(m["latency_ms"]["p50"], 0),
                  _fmt(m["latency_ms"]["p95"], 0), _fmt(m["tokens"]["input"]), _fmt(m["tokens"]["output"]),
                  _fmt(m["cost_usd"], 4)]
        rows.append(cells)
    return header, rows


def comparison_rows(record: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = ["a", "b", "metric", "delta (b-a)", "ci95", "p", "test", "verdict"]
    rows = [[c["a"], c["b"], c["metric"], _fmt(c["delta"]), _interval(c["ci95"]), _p(c["p_value"]), c["test"],
             verdict(c)] for c in record["summary"]["comparisons"]]
    return header, rows


def class_rows(record: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = ["model", "class", "precision", "recall", "f1", "support"]
    rows = []
    for model, classes in record["details"].get("per_class", {}).items():
        for label, v in classes.items():
            rows.append([model, label, _fmt(v["precision"]), _fmt(v["recall"]), _fmt(v["f1"]), str(v["support"])])
    return header, rows


def _sections(record: dict[str, Any]) -> list[tuple[str, tuple[list[str], list[list[str]]]]]:
    sections = [("Models", model_rows(record))]
    if record["summary"]["comparisons"]:
        sections.append(("Paired comparisons (same examples)", comparison_rows(record)))
    if record["details"].get("per_class"):
        sections.append(("Per-class precision / recall", class_rows(record)))
    return sections


def _title(record: dict[str, Any]) -> str:
    s = record["summary"]
    return f"eval {record['id']}: {s['examples']} examples of {s['data']}"


# -- terminal -----------------------------------------------------------------------------------------


def render_table(record: dict[str, Any], file: Any = None, width: int | None = None) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=file, width=width, markup=False, emoji=False, highlight=False)
    console.print(Text(_title(record)))
    for title, (header, rows) in _sections(record):
        table = Table(title=Text(title), title_justify="left")
        for name in header:
            table.add_column(Text(name))
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))
        console.print(table)


# -- Markdown, CSV, JSON -------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return html.escape(text).replace("|", "\\|").replace("\n", "<br>").replace("*", "\\*").replace("_", "\\_")


def render_md(record: dict[str, Any]) -> str:
    out = [f"# {_md_cell(_title(record))}", ""]
    for title, (header, rows) in _sections(record):
        out += [f"## {title}", "", "| " + " | ".join(_md_cell(h) for h in header) + " |",
                "|" + "---|" * len(header)]
        out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
        out.append("")
    return "\n".join(out)


def _csv_safe(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def render_csv(record: dict[str, Any]) -> str:
    """One row per model and metric."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["model", "metric", "value", "ci95_lo", "ci95_hi", "errors", "cached", "latency_p50_ms",
                     "latency_p95_ms", "input_tokens", "output_tokens", "cost_usd"])
    for m in record["summary"]["models"]:
        for name in record["details"]["metrics"]:
            lo, hi = (m["ci95"].get(name) or [None, None])
            writer.writerow([_csv_safe(m["model"]), name, m["metrics"].get(name), lo, hi, m["errors"], m["cached"],
                             m["latency_ms"]["p50"], m["latency_ms"]["p95"], m["tokens"]["input"],
                             m["tokens"]["output"], m["cost_usd"]])
    return buf.getvalue()


def render_json(record: dict[str, Any]) -> str:
    return json.dumps(record["summary"], indent=2, ensure_ascii=False)


# -- HTML side by side ---------------------------------------------------------------------------------

_STYLE = """body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}
th{background:#f3f3f3;text-align:left}pre{white-space:pre-wrap;margin:0;max-width:40em;font-size:.9em}
.ok{background:#eaf7ea}.miss{background:#fbeaea}.err{color:#a00}.marks{font-size:.8em;color:#555}
tr.hidden{display:none}"""

_SCRIPT = """function applyFilter(){var d=document.getElementById('disagree').checked,
m=document.getElementById('miss').checked;document.querySelectorAll('tr.example').forEach(function(r){
var show=(!d||r.dataset.disagree==='1')&&(!m||r.dataset.miss==='1');r.classList.toggle('hidden',!show);});}"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _prompt_html(prompt: list[dict[str, str]]) -> str:
    return "".join(f"<div><b>{_e(m.get('role'))}</b><pre>{_e(m.get('content'))}</pre></div>" for m in prompt)


def _answer_cell(answer: dict[str, Any], headline: str | None) -> str:
    if answer.get("error"):
        return f"<td class=\"err\"><pre>{_e(answer['error'])}</pre></td>"
    marks = answer.get("marks", {})
    mark = marks.get(headline) if headline else None
    css = "" if mark is None else (" class=\"ok\"" if mark >= 1 else " class=\"miss\"")
    shown = " · ".join(f"{_e(k)} {_fmt(v)}" for k, v in marks.items())
    return f"<td{css}><pre>{_e(answer.get('text'))}</pre><div class=\"marks\">{shown}</div></td>"


def _example_row(row: dict[str, Any], models: list[str], headline: str | None) -> str:
    answers = [row["answers"].get(m, {}) for m in models]
    marks = [a.get("marks", {}).get(headline) for a in answers if not a.get("error")]
    disagree = len({m for m in marks}) > 1 or any(a.get("error") for a in answers)
    miss = any(a.get("error") for a in answers) or any(m is not None and m < 1 for m in marks)
    cells = "".join(_answer_cell(a, headline) for a in answers)
    return (f"<tr class=\"example\" data-disagree=\"{int(disagree)}\" data-miss=\"{int(miss)}\">"
            f"<td>{_e(row['line'])}</td><td>{_prompt_html(row['prompt'])}</td>"
            f"<td><pre>{_e(row['reference'])}</pre></td>{cells}</tr>")


def render_html(record: dict[str, Any], rows: Iterable[dict[str, Any]]) -> str:
    """One self-contained page (no external resources; a CSP forbids loading any)."""
    models = [m["model"] for m in record["summary"]["models"]]
    metrics = record["details"]["metrics"]
    headline = metrics[0] if metrics else None
    parts = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
             "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
             "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">",
             f"<title>{_e(_title(record))}</title><style>{_STYLE}</style><script>{_SCRIPT}</script></head><body>",
             f"<h1>{_e(_title(record))}</h1>"]
    for title, (header, table_rows) in _sections(record):
        parts.append(f"<h2>{_e(title)}</h2>{_html_table(header, table_rows)}")
    parts.append(f"<h2>Examples</h2><p>Colour: the {_e(headline)} mark. "
                 "<label><input type=\"checkbox\" id=\"disagree\" onchange=\"applyFilter()\"> only where the models "
                 "disagree</label> <label><input type=\"checkbox\" id=\"miss\" onchange=\"applyFilter()\"> only "
                 "misses and errors</label></p>")
    head = "".join(f"<th>{_e(m)}</th>" for m in models)
    parts.append(f"<table><thead><tr><th>line</th><th>prompt</th><th>reference</th>{head}</tr></thead><tbody>")
    parts.extend(_example_row(row, models, headline) for row in rows)
    parts.append("</tbody></table></body></html>")
    return "".join(parts)
