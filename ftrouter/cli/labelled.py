"""``data inspect`` for labelled data (classification, token classification, embeddings): the rendering.

Labels are dataset content: printed through a console that interprets nothing (``make_console``) and
in table cells as ``rich.text.Text``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ftrouter.errors import ValidationFailed

if TYPE_CHECKING:
    from ftrouter.data.reader import FileScan

SHOWN_LABELS = 12


def inspect_labelled_command(file: Path, scan: FileScan | None, *, fmt: str, model: str | None, val: Path | None,
                             as_json: bool) -> None:
    """``data inspect`` of labelled data; ``scan``: the file already opened by the caller (a container is not
    unpacked again), None when ``--format`` named a labelled format."""
    from rich.table import Table
    from rich.text import Text

    from ftrouter.cli.console import make_console
    from ftrouter.cli.progress import data_progress
    from ftrouter.data.labelled_inspect import inspect_labelled

    with data_progress("inspecting", file, val) as progress:
        result = inspect_labelled(scan or file, fmt=fmt, model=model, val=val, progress=progress)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        r = result.train
        console = make_console(soft_wrap=True)
        t = r.token_json()
        labels = ", ".join(f"{label} {n:,}" for label, n in r.labels.most_common(SHOWN_LABELS))
        more = len(r.labels) - SHOWN_LABELS
        tok = r.tokenizer
        rows = [
            ("file", r.path), ("format", r.format), ("examples", f"{r.examples:,}"),
            ("labels", f"{len(r.labels)}: {labels}" + (f", ... {more} more" if more > 0 else "")),
            ("imbalance (largest / smallest)", str(r.imbalance_ratio) if r.imbalance_ratio else "-"),
            ("tokens / example", f"min {t['min']}  p50 {t['p50']}  p95 {t['p95']}  p99 {t['p99']}  max {t['max']}"),
            ("counted with", f"{tok.get('method')} {tok.get('encoding') or tok.get('path') or ''} "
                             f"({'exact' if tok.get('exact') else 'estimate'})"),
            ("over the limit", f"{r.over_limit:,}"
                               + (f" (limit {r.token_limit:,})" if r.token_limit else " (no limit)")),
            ("duplicates", f"{r.duplicates:,}"),
        ]
        if result.val is not None:
            rows.append(("validation", f"{result.val.examples:,} examples; labels only there: "
                         + (", ".join(result.only_in_val) or "none")))
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column()
        for key, value in rows:
            table.add_row(key, Text(value))
        console.print(table)
        for report in filter(None, (result.train, result.val)):
            for p in sorted(report.problems, key=lambda p: p.line or 0):
                console.print(p.render(report.path), style="red" if p.severity == "error" else "yellow")
    if result.errors:
        raise ValidationFailed(f"{result.errors} error(s) in the data", path=str(file))
