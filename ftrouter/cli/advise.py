"""``ftrouter advise TASK.yaml [--data FILE] [--eval SCORES.yaml] [--json]``: prompt, RAG or fine-tune?

Thin: parse the flags, load the profile, call ``ftrouter.advise.advise``, render. Errors are raised as
typed ``FtrouterError``s and mapped to exit codes by ``ftrouter.cli.app``.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer

from ftrouter.errors import UsageError


def _parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--today: {value!r} is not a date (expected YYYY-MM-DD)", code="bad_option") from None


def advise_command(
    task: Path = typer.Argument(..., help="Task profile (YAML or JSON); see configs/tasks/ for examples."),
    data: Path | None = typer.Option(None, "--data", help="Training data (JSONL): example count, lengths, "
                                     "duplicates and problems feed the advice, and training is priced per backend."),
    eval_scores: str | None = typer.Option(None, "--eval", help="Baseline eval scores (YAML/JSON: prompting, "
                                           "rag, target, eval_set_size), or a stored `ftrouter eval` run (ev-...): "
                                           "its best untuned model's headline score is the prompting score; "
                                           "they override the profile's scores."),
    data_format: str = typer.Option("auto", "--data-format", help="Format of --data (as `data inspect --format`)."),
    model: str | None = typer.Option(None, "--model", help="Model whose tokenizer counts --data's tokens."),
    catalogs: list[Path] | None = typer.Option(None, "--catalog", help="A catalog override file (repeatable): "
                                               "decision rules, models, GPU prices (see docs/cost.md)."),
    today: str | None = typer.Option(None, "--today", help="Judge provider availability on this date "
                                     "(YYYY-MM-DD; default: today)."),
    as_json: bool = typer.Option(False, "--json", help="Print the advice as JSON."),
) -> None:
    """Should this task use prompting, RAG, fine-tuning, or RAG + fine-tuning — and how, and where?"""
    from ftrouter.advise import advise, apply_eval_scores, load_eval_scores, load_profile

    profile = load_profile(task)  # a ProfileError lists every problem (under --json: "problems" in the error)
    if eval_scores is not None:
        from ftrouter.eval.measured import looks_like_run, scores_from_run

        measured = scores_from_run(eval_scores) if looks_like_run(eval_scores) and not Path(eval_scores).exists() \
            else load_eval_scores(eval_scores)
        profile = apply_eval_scores(profile, measured)
    signals = None
    if data is not None:
        from ftrouter.advise.signals import read_signals
        from ftrouter.cli.progress import data_progress

        with data_progress("reading", data) as progress:
            signals = read_signals(data, fmt=data_format, model=model, progress=progress)
    advice = advise(profile, signals=signals, today=_parse_day(today), catalog_files=tuple(catalogs or ()))
    if as_json:
        typer.echo(json.dumps(advice.model_dump(), indent=2, ensure_ascii=False))
        return
    from ftrouter.advise.render import render_advice
    from ftrouter.cli.console import make_console

    render_advice(advice, make_console())


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.command("advise", help="Prompt, RAG or fine-tune? A recommendation with reasons, method and backends.")(
        advise_command
    )
