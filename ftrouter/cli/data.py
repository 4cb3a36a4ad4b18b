"""``ftrouter data inspect | validate | convert | split``.

Thin: parse flags, call ``ftrouter.data``, render. The data engine (tiktoken, orjson) is imported
inside the commands so ``ftrouter --help`` stays fast. Exit codes come from the raised error types
(``ftrouter.cli.app``): 1 when the data has errors, 2 for usage errors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ftrouter.errors import PluginMissing, UsageError, ValidationFailed

if TYPE_CHECKING:
    from rich.console import Console

    from ftrouter.data.canonical import Problem
    from ftrouter.data.inspect import DatasetReport
    from ftrouter.data.reader import FileScan

data_app = typer.Typer(help="Inspect, validate, convert and split training data (JSONL).", no_args_is_help=True)

FORMAT_HELP = ("Input format: auto, openai, dpo, prompt-completion, alpaca, sharegpt, gemini, trl-preference; "
               "labelled data: classification, multi-label, pairs, token-classification, embedding.")
MODEL_HELP = ("OpenAI model (exact counts), Gemini model (estimate), or a local model folder (its tokenizer). "
              "Default: o200k_base, no per-example limit.")
JSON_HELP = "Print machine-readable JSON instead of a table."
FILE_ARG = typer.Argument(..., help="A data file: JSONL (.gz), a JSON array, CSV/TSV, Parquet, a datasets "
                          "save_to_disk folder, or /dev/stdin.", show_default=False)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.add_typer(data_app, name="data")


def _console() -> Console:
    from ftrouter.cli.console import make_console

    return make_console(soft_wrap=True)


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _print_problems(console: Console, path: str, problems: list[Problem], not_listed: int = 0) -> None:
    from ftrouter.data.problems import render_collapsed

    for line in render_collapsed([(path, p) for p in problems]):  # identical warnings: one line with a count
        console.print(line, style="red" if ": error: " in line else "yellow", markup=False)
    if not_listed:
        console.print(f"... and {not_listed} more problems (see problem_counts in --json)")


def _fail_if_errors(path: str, errors: int, what: str) -> None:
    if errors:
        raise ValidationFailed(f"{errors} error(s) {what}", path=path)


def _context_rows(r: DatasetReport) -> list[tuple[str, str]]:
    """Examples past the model's own context window: chunk them, or extend the context (docs/data.md)."""
    if r.context is None:
        return []
    lines = ", ".join(map(str, r.over_context_lines)) + (", ..." if r.over_context > len(r.over_context_lines) else "")
    return [("past the model's context", f"{r.over_context:,} (context {r.context:,} tokens, from {r.context_source})"
             + (f": lines {lines}" if lines else ""))]


def _render_report(console: Console, r: DatasetReport) -> None:
    from rich.table import Table

    t = r.tokens
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    tokenizer = r.tokenizer
    how = tokenizer.get("encoding") or tokenizer.get("rule") or tokenizer.get("path") or ""
    rows = [
        ("file", r.path), *([("read as", r.container)] if r.container != "JSON Lines" else []),
        ("format", r.format), ("examples", f"{r.examples:,}  {r.kinds or ''}"),
        ("messages / example", f"min {r.messages['min']}  mean {r.messages['mean']}  max {r.messages['max']}"),
        ("tokens / example", f"min {t.min:,}  mean {t.mean:,}  p50 {t.p50:,}  p95 {t.p95:,}  max {t.max:,}"),
        ("total tokens", f"{t.total:,}"), ("assistant (trained) tokens", f"{r.assistant_tokens:,}"),
        ("counted with", f"{tokenizer.get('method')} {how} ({'exact' if tokenizer.get('exact') else 'estimate'})"),
        ("over the limit", f"{r.over_limit:,}" + (f" (limit {r.token_limit:,})" if r.token_limit else " (no limit)")),
        *_context_rows(r),
        ("duplicates", f"{r.duplicates:,}"), ("with a system prompt", f"{r.has_system_share:.0%}"),
        ("problems", f"{r.errors} error(s), {r.warnings} warning(s)"
                     + (f" listed, {r.problems_not_listed} more" if r.problems_not_listed else "")),
    ]
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)


def _open_data(file: Path, fmt: str) -> tuple[FileScan | None, str | None]:
    """(the opened chat scan, the labelled format) of ``file``: opened once, so a container is unpacked
    once for the labelled sniff and the read; (None, fmt) when ``--format`` names a labelled format."""
    from ftrouter.data.labelled import LABELLED_FORMATS, labelled_format
    from ftrouter.data.reader import FileScan

    if fmt in LABELLED_FORMATS:
        return None, fmt
    scan = FileScan(file, fmt)
    return scan, labelled_format(scan, fmt)


@data_app.command("inspect")
def inspect(
    file: Path = FILE_ARG,
    fmt: str = typer.Option("auto", "--format", "-f", help=FORMAT_HELP),
    model: str | None = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    max_length: int | None = typer.Option(None, "--max-length", min=1, help="With a local model folder: the "
                                          "training length to check examples against (default: the local "
                                          "trainer's 1024)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    val: Path | None = typer.Option(None, "--val", help="Labelled data: a validation file (labels it shows that "
                                    "training does not)."),
) -> None:
    """Format, counts, token distribution, duplicates and problems of a data file. Exit 1 on errors."""
    from ftrouter.cli.progress import data_progress
    from ftrouter.data.inspect import inspect_file

    scan, labelled = _open_data(file, fmt)
    if scan is None or labelled is not None:
        from ftrouter.cli.labelled import inspect_labelled_command

        inspect_labelled_command(file, scan, fmt=fmt, model=model, val=val, as_json=as_json)
        return
    if val is not None:
        raise UsageError("--val applies to labelled data (classification, token classification, embeddings); "
                         "for chat data use `ftrouter data validate FILE --val VAL`", path=file)
    with data_progress("inspecting", file) as progress:
        report = inspect_file(scan, model=model, progress=progress, max_length=max_length)
    if as_json:
        _print_json(report.to_json())
    else:
        console = _console()
        _render_report(console, report)
        _print_problems(console, report.path, report.problems, report.problems_not_listed)
    _fail_if_errors(report.path, report.errors, "in the data")


@data_app.command("validate")
def validate(
    file: Path = FILE_ARG,
    backend: str = typer.Option(..., "--backend", "-b", help="openai, vertex, local, together, or a "
                                   "plugin backend: whose rules to apply."),
    model: str | None = typer.Option(None, "--model", "-m", help="Target model (default: the backend's default); "
                                     "for local, a model folder."),
    val: Path | None = typer.Option(None, "--val", help="A validation file to check too (size, overlap)."),
    method: str | None = typer.Option(None, "--method", help="sft or dpo, as `submit --method` (default: dpo for "
                                      "preference data, else sft)."),
    fmt: str = typer.Option("auto", "--format", "-f", help=FORMAT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Check a data file against a backend's rules. Exit 1 when any error is found."""
    from ftrouter.cli.progress import data_progress
    from ftrouter.data.validate import validate_file
    from ftrouter.profiles import installed_profiles

    scan, labelled = _open_data(file, fmt)
    if scan is None or labelled is not None:
        trainers = [p.name for p in installed_profiles() if p.labelled_tasks]  # its profile's labelled_tasks
        if not trainers:
            raise PluginMissing(f"{labelled} data trains encoder models: no installed backend trains them (install "
                                "ftrouter's local backend: pip install -e providers/local)")
        if backend not in trainers:
            raise UsageError(f"{labelled} data trains encoder models, on the {' or '.join(trainers)} backend only "
                             f"(`ftrouter submit --backend {trainers[0]} --task ...`); {backend} fine-tunes chat "
                             "models", path=file)
        from ftrouter.cli.labelled import inspect_labelled_command

        inspect_labelled_command(file, scan, fmt=fmt, model=model, val=val, as_json=as_json)
        return
    with data_progress("validating", file, val) as progress:
        result = validate_file(scan, backend=backend, model=model, val_path=val, fmt=fmt, method=method,
                               progress=progress)
    if as_json:
        _print_json(result.to_json())
    else:
        console = _console()
        for line in result.rendered():
            console.print(line, style="red" if ": error: " in line else "yellow", markup=False)
        verdict = "OK" if result.ok else "FAILED"
        console.print(f"{verdict} for {result.backend} ({result.model or 'default'}, --method {result.method}): "
                      f"{result.report.examples} "
                      f"examples, {result.errors} error(s), {result.warnings} warning(s)", markup=False)
    _fail_if_errors(str(file), result.errors, f"for backend {backend}")


@data_app.command("convert")
def convert(
    file: Path = FILE_ARG,
    to: str = typer.Option(..., "--to", "-t", help="Target format: openai, dpo, prompt-completion, alpaca, "
                           "sharegpt, gemini, trl-preference."),
    output: Path = typer.Option(..., "--output", "-o", help="The output JSONL file (written atomically)."),
    fmt: str = typer.Option("auto", "--format", "-f", help=FORMAT_HELP),
    keep_fields: bool = typer.Option(False, "--keep-fields", help="Keep extra top-level fields (ids, labels)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Convert a data file to another format; reports what could not be carried over."""
    from ftrouter.cli.progress import data_progress
    from ftrouter.data.convert import convert_file

    with data_progress("converting", file) as progress:
        result = convert_file(file, output, to, fmt=fmt, keep_meta=keep_fields, progress=progress)
    if as_json:
        _print_json(result.to_json())
        return
    console = _console()
    if result.source_container != "JSON Lines":
        console.print(f"read {file} as {result.source_container}", markup=False)
    console.print(f"wrote {result.examples} example(s) as {result.target_format} to {result.path}"
                  + (f" ({result.skipped} skipped)" if result.skipped else ""), markup=False)
    for note in result.dropped:
        console.print(f"  not carried over: {note}", style="yellow", markup=False)
    for note in result.assumed:
        console.print(f"  assumed: {note}", style="yellow", markup=False)


@data_app.command("split")
def split(
    file: Path = FILE_ARG,
    val: float = typer.Option(0.1, "--val", help="Fraction of examples for validation."),
    test: float = typer.Option(0.0, "--test", help="Fraction of examples for test (0: no test file)."),
    seed: int = typer.Option(0, "--seed", help="The same seed always gives the same split."),
    stratify: str | None = typer.Option(None, "--stratify", help="A top-level field to keep proportions of."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for train.jsonl, val.jsonl, test.jsonl."),
    fmt: str = typer.Option("auto", "--format", "-f", help=FORMAT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Split a data file deterministically; exact duplicates stay in the same split."""
    from ftrouter.cli.progress import data_progress
    from ftrouter.data.split import split_file

    with data_progress("splitting", file) as progress:
        result = split_file(file, output, val=val, test=test, seed=seed, stratify=stratify, fmt=fmt,
                            progress=progress)
    if as_json:
        _print_json(result.to_json())
        return
    console = _console()
    for name, path in result.files.items():
        console.print(f"{name:5} {result.counts[name]:>8,}  {path}", markup=False)
    for stratum, counts in sorted(result.strata.items()):
        console.print(f"  {stratify}={stratum}: " + ", ".join(f"{k} {v}" for k, v in counts.items()), markup=False)
