"""``ftrouter eval`` (measure models on an eval set, compare them) and ``ftrouter evals`` (stored runs).

Thin: parse, call ``ftrouter.eval``, render. The metric libraries (numpy, scikit-learn, rouge-score,
sacrebleu) and the provider SDKs are imported only when a run starts.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from ftrouter.errors import UsageError

FORMAT_HELP = "table | md | html | json | csv"
FILE_WIDTH = 160  # a table written to a file is not squeezed into 80 columns


def _check_format(fmt: str | None, as_json: bool) -> str:
    from ftrouter.eval.render import FORMATS

    if as_json and fmt not in (None, "json"):
        raise UsageError("--json and --format both given; use one", code="bad_option")
    fmt = "json" if as_json else (fmt or "table")
    if fmt not in FORMATS:
        raise UsageError(f"--format: {fmt!r} is not one of {FORMAT_HELP}", code="bad_option")
    return fmt


@contextmanager
def _progress(total: int) -> Iterator[Any]:
    """A bar of answered examples on stderr, only on a terminal (stdout stays clean for --json)."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("answering"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(file=sys.stderr, markup=False, emoji=False), transient=True) as bar:
        task = bar.add_task("answering", total=total)
        yield lambda n: bar.advance(task, n)


def _emit(record: dict[str, Any], rows: Iterator[dict[str, Any]], fmt: str, out: Path | None) -> None:
    from ftrouter.eval import render

    if fmt == "table" and out is None:
        render.render_table(record, width=None if sys.stdout.isatty() else FILE_WIDTH)
        return
    if fmt == "table":
        import io

        buf = io.StringIO()
        render.render_table(record, file=buf, width=FILE_WIDTH)
        text = buf.getvalue()
    elif fmt == "html":
        text = render.render_html(record, rows)
    else:
        text = {"md": render.render_md, "csv": render.render_csv, "json": render.render_json}[fmt](record)
    if out is None:
        typer.echo(text)
        return
    from ftrouter.data.atomic import atomic_writer

    with atomic_writer(out) as f:
        f.write(text.encode("utf-8") + (b"" if text.endswith("\n") else b"\n"))


def eval_command(
    data: Path = typer.Option(..., "--data", help="Eval set (JSONL): chat rows (last assistant turn is the "
                              "reference), prompt-completion, text/label, or preference (DPO: preferred_output "
                              "is the reference)."),
    models: list[str] = typer.Option(..., "--model", help="A model to evaluate (repeatable): "
                                     "openai:MODEL\\[@BASE_URL], vertex:MODEL, hf:PATH\\[+ADAPTER_DIR], or a job "
                                     "id ftr-..."),  # help is rich markup: \\[ keeps the brackets
    metrics: list[str] | None = typer.Option(None, "--metric", help="A metric (repeatable): exact, normalized, "
                                             "contains, json_valid, json_fields, accuracy, macro_f1, rougeL, chrf, "
                                             "bleu, judge. Default: picked from the references."),
    limit: int | None = typer.Option(None, "--limit", help="Evaluate only the first N examples."),
    concurrency: int | None = typer.Option(None, "--concurrency", help="Requests in flight per model "
                                           "(default: the provider's, 8 for OpenAI)."),
    judge: str | None = typer.Option(None, "--judge", help="A model spec that grades answers against the "
                                     "reference with a rubric (the judge metric)."),
    engine: str = typer.Option("auto", "--engine", help="How hf: models generate: auto | transformers | vllm "
                               "(auto: vLLM when it is installed and a CUDA GPU is there, else transformers)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    fmt: str | None = typer.Option(None, "--format", help=f"Report format: {FORMAT_HELP} (default table)."),
    out: Path | None = typer.Option(None, "-o", "--output", help="Write the report here instead of stdout."),
) -> None:
    """Measure models on your eval set: metrics with 95% intervals, paired comparisons, a stored run."""
    fmt = _check_format(fmt, as_json)
    if out is not None:
        from ftrouter.data.atomic import check_output_path

        check_output_path(out)
    from ftrouter.eval.session import need_extra, prepare, run_prepared

    need_extra()
    prepared = prepare(data, models, metrics, limit=limit, concurrency=concurrency, judge=judge,
                       engine=engine)
    with _progress(prepared.work) as tick:
        record, rows = run_prepared(prepared, tick)
    typer.echo(f"stored as {record['id']} (ftrouter evals show {record['id']})", err=True)
    _emit(record, iter(rows), fmt, out)


def evals_command(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the runs as JSON."),
) -> None:
    """Past eval runs, newest first (`ftrouter evals show RUN` for one)."""
    if ctx.invoked_subcommand is not None:
        return
    from ftrouter.eval.store import list_runs, listing

    runs = list_runs()
    if as_json:
        import json

        typer.echo(json.dumps(listing(runs), indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table("run", "when", "examples", "data", "models (headline metric)")
    for r in runs:
        headline = (r["details"]["metrics"] or ["–"])[0]
        scores = ", ".join(f"{m['model']} {headline}={m['metrics'].get(headline)}" for m in r["summary"]["models"])
        table.add_row(Text(r["id"]), Text(r["created_at"]), Text(str(r["summary"]["examples"])),
                      Text(r["summary"]["data"]), Text(scores))
    Console(markup=False, emoji=False, highlight=False).print(table if runs else Text("no eval runs yet"))


def show_command(
    run: str = typer.Argument(..., help="A run id from `ftrouter evals`."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    fmt: str | None = typer.Option(None, "--format", help=f"Report format: {FORMAT_HELP} (default table)."),
    out: Path | None = typer.Option(None, "-o", "--output", help="Write the report here instead of stdout."),
) -> None:
    """One stored run, in any report format."""
    from ftrouter.eval.store import iter_rows, load_run

    fmt = _check_format(fmt, as_json)
    record = load_run(run)
    _emit(record, iter_rows(record["id"]), fmt, out)


def register(app: typer.Typer) -> None:
    """Attach ``eval`` and ``evals`` (with ``evals show``) to the root app."""
    app.command("eval", help="Measure models on an eval set: metrics, intervals, paired comparisons, reports.")(
        eval_command)
    evals = typer.Typer(help="Stored eval runs.", invoke_without_command=True, no_args_is_help=False)
    evals.callback(invoke_without_command=True)(evals_command)
    evals.command("show", help="Show one stored eval run (table, md, html, json, csv).")(show_command)
    app.add_typer(evals, name="evals")
