"""``ftrouter eval`` (measure models on an eval set, compare them) and ``ftrouter evals`` (stored runs).

Thin: parse, call ``ftrouter.eval``, render. The metric libraries (numpy, scikit-learn, rouge-score,
sacrebleu) and the provider SDKs are imported only when a run starts.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from ftrouter.errors import PluginMissing, UsageError

FORMAT_HELP = "table | md | html | json | csv"
FILE_WIDTH = 160  # a table written to a file is not squeezed into 80 columns


def _need_extra() -> None:
    for module in ("numpy", "scipy", "sklearn"):
        if importlib.util.find_spec(module) is None:
            raise PluginMissing(f"ftrouter eval needs {module!r}, which is not installed: pip install 'ftrouter[eval]'")


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
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    fmt: str | None = typer.Option(None, "--format", help=f"Report format: {FORMAT_HELP} (default table)."),
    out: Path | None = typer.Option(None, "-o", "--output", help="Write the report here instead of stdout."),
) -> None:
    """Measure models on your eval set: metrics with 95% intervals, paired comparisons, a stored run."""
    fmt = _check_format(fmt, as_json)
    if concurrency is not None and concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1, got {concurrency}", code="bad_option")
    if out is not None:
        from ftrouter.data.atomic import check_output_path

        check_output_path(out)
    _need_extra()
    from ftrouter.eval.metrics import JUDGE, check_names

    asked = list(metrics or [])
    check_names(asked)
    if JUDGE in asked and judge is None:
        raise UsageError("--metric judge needs --judge SPEC (the model that grades)", code="bad_option")
    from ftrouter.eval.dataset import read_examples
    from ftrouter.eval.run import choose_metrics

    examples = read_examples(data, limit)
    chosen = choose_metrics(examples, asked)
    if judge is not None and JUDGE not in chosen:
        chosen.append(JUDGE)
    record, rows = _run(data, examples, models, chosen, concurrency, judge)
    typer.echo(f"stored as {record['id']} (ftrouter evals show {record['id']})", err=True)
    _emit(record, iter(rows), fmt, out)


def run_and_store(data: Path, models: list[str]) -> dict[str, Any]:
    """``ftrouter eval --data DATA --model M ...`` with the default metrics, for another command (``migrate
    --wait``): the stored run's record (its ``id``, ``summary`` and ``details``)."""
    _need_extra()
    from ftrouter.eval.dataset import read_examples
    from ftrouter.eval.run import choose_metrics

    examples = read_examples(data)
    record, _ = _run(data, examples, models, choose_metrics(examples, None), None, None)
    return record


def _run(data: Path, examples: list[Any], models: list[str], metrics: list[str], concurrency: int | None,
         judge_spec: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from ftrouter.eval import store
    from ftrouter.eval.answerer import GenerationSettings
    from ftrouter.eval.cache import AnswerCache
    from ftrouter.eval.engine import ModelRun
    from ftrouter.eval.judge import JUDGE_SETTINGS, make_judge, make_preference
    from ftrouter.eval.run import evaluate
    from ftrouter.eval.specs import make_answerer, spec_for
    from ftrouter.eval.summary import details, example_rows, summary
    from ftrouter.http import RetryPolicy

    specs = [spec_for(raw) for raw in models]
    if len({s.raw for s in specs}) != len(specs):
        raise UsageError("--model: the same model is given twice", code="bad_option")
    answerers = [(spec, make_answerer(spec)) for spec in specs]  # credentials are checked before any call
    cache = AnswerCache()
    judge_fn = preference = None
    if judge_spec is not None:
        judge_answerer = make_answerer(spec_for(judge_spec))
        judge_run = ModelRun(judge_answerer, f"judge {judge_spec}", concurrency or judge_answerer.default_concurrency,
                             JUDGE_SETTINGS, RetryPolicy())
        judge_fn = make_judge(judge_run, cache)
        preference = make_preference(judge_run, cache) if len(specs) > 1 else None
    try:
        with _progress(len(examples) * len(specs)) as tick:
            result = evaluate(data, examples, answerers, metrics=metrics, concurrency=concurrency,
                              settings=GenerationSettings(), cache=cache, judge=judge_fn, preference=preference,
                              tick=tick)
    finally:
        cache.close()
    rows = list(example_rows(result))
    run_id = store.save_run(summary(result), details(result), rows)
    return store.load_run(run_id), rows


def evals_command(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the runs as JSON."),
) -> None:
    """Past eval runs, newest first (`ftrouter evals show RUN` for one)."""
    if ctx.invoked_subcommand is not None:
        return
    from ftrouter.eval.store import list_runs

    runs = list_runs()
    if as_json:
        import json

        listing = [{"id": r["id"], "created_at": r["created_at"], **r["summary"]} for r in runs]
        typer.echo(json.dumps(listing, indent=2, ensure_ascii=False))
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
