"""``ftrouter estimate`` and ``ftrouter compare``: training cost per backend, and the comparison report.

Thin: parse flags, call ``ftrouter.cost``, render. The cost engine and the data engine (tiktoken) are
imported inside the commands so ``ftrouter --help`` stays fast. Errors are raised as typed errors; the
root app maps them to exit codes.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ftrouter.errors import UsageError

if TYPE_CHECKING:
    from ftrouter.advise.profile import TaskProfile
    from ftrouter.catalog import Catalog
    from ftrouter.cost.inference import Workload

DATA_OPT = typer.Option(..., "--data", help="The training data (JSONL, any format `data inspect` reads).",
                        show_default=False)
BACKEND_OPT = typer.Option("all", "--backend", help="openai, vertex, local, together, a plugin backend's name, or all.")
GPU_OPT = typer.Option(None, "--gpu", help="Local backend: train on this GPU kind (default: the smallest that fits).")
SET_OPT = typer.Option(None, "--set", metavar="KEY=VALUE",
                       help="Override an assumption (repeatable), e.g. --set mfu=0.4 --set gpu_provider=lambda.")
CATALOG_OPT = typer.Option(None, "--catalog", help="A catalog override file (repeatable; see configs/prices/).")


def _console() -> Any:
    """A rich console; wide when stdout is a file or pipe, so tables are not squeezed to 80 columns."""
    from ftrouter.cli.console import make_console

    return make_console(soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.command("estimate")(estimate)
    app.command("compare")(compare)


def _load_catalog(files: list[Path] | None) -> Catalog:
    from ftrouter.catalog import default_catalog, load

    return load(files) if files else default_catalog()


def _parse_sets(pairs: list[str] | None) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; values are read as YAML scalars (numbers, true/false, dates)."""
    from ftrouter import safeyaml

    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set expects KEY=VALUE, got {pair!r}", code="bad_assumption")
        try:
            out[key.strip()] = safeyaml.load(raw).data if raw.strip() else None
        except safeyaml.YamlProblem as exc:
            if exc.message.startswith("not valid YAML"):
                out[key.strip()] = raw  # not YAML: the plain text
            else:  # a number too large, .inf, an alias bomb
                raise UsageError(f"--set {key.strip()}: {exc.message}", code="bad_assumption") from None
    return out


def _flags(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def estimate(
    data: Path = DATA_OPT,
    backend: str = BACKEND_OPT,
    model: str | None = typer.Option(None, "--model", help="One model (managed or open); default: each backend's "
                                     "catalog defaults (local: a small, a medium and a large open model)."),
    epochs: int | None = typer.Option(None, "--epochs", help="Epochs (default: OpenAI's auto rule; Vertex 3; "
                                      "local 3)."),
    method: str = typer.Option("sft", "--method", help="sft or dpo."),
    adapter: str | None = typer.Option(None, "--adapter", help="Local: lora, qlora or full (default: LoRA, or "
                                       "QLoRA when LoRA does not fit)."),
    gpu: str | None = GPU_OPT,
    seq_len: int | None = typer.Option(None, "--seq-len", help="Local: the training length examples are cut at "
                                       "(default: the local trainer's 1024); memory is estimated at the longest "
                                       "example up to it."),
    micro_batch: int | None = typer.Option(None, "--micro-batch", help="Local: sequences per GPU per step [1]."),
    mfu: float | None = typer.Option(None, "--mfu", help="Local: model FLOPs utilisation prior [0.35]."),
    gpu_price: float | None = typer.Option(None, "--gpu-price", help="Local: USD per GPU-hour (overrides the "
                                           "catalog)."),
    sets: list[str] | None = SET_OPT,
    catalogs: list[Path] | None = CATALOG_OPT,
    task: str | None = typer.Option(None, "--task", help="An encoder task on labelled data (classification, "
                                    "multi-label, pair-classification, token-classification, embedding): "
                                    "estimate fine-tuning an encoder (default answerdotai/ModernBERT-base, full) "
                                    "on the local GPU planner, and serving it."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Training cost, time and feasibility of a dataset on each backend."""
    from ftrouter.cli.progress import data_progress
    from ftrouter.cost.calibration import registry_runs
    from ftrouter.cost.report import encoder_estimate_for_file, estimate_for_file

    assumptions = {**_parse_sets(sets), **_flags(seq_len=seq_len, micro_batch=micro_batch, mfu=mfu,
                                                 gpu_usd_per_hour=gpu_price)}
    catalog = _load_catalog(catalogs)
    how = estimate_for_file if task is None else partial(encoder_estimate_for_file, task=task)
    with data_progress("counting tokens", data) as progress:
        report = how(data, catalog=catalog, backend=backend, model=model, epochs=epochs, method=method,
                     adapter=adapter, gpu=gpu, assumptions=assumptions, progress=progress, measured=registry_runs())
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    from ftrouter.cost.render import print_estimate

    print_estimate(report, _console())


def _workload(task: Path | None, sets: dict[str, Any], flags: dict[str, Any]) -> tuple[Workload, list[str]]:
    """The workload: defaults < the task profile < --set < explicit flags. Returns notes from the task."""
    profile = None
    if task is not None:
        from ftrouter.advise.loader import load_profile

        profile = load_profile(task)
    return workload_for(profile, str(task), sets, flags)


def workload_for(profile: TaskProfile | None, where: str, sets: dict[str, Any],
                 flags: dict[str, Any]) -> tuple[Workload, list[str]]:
    """``_workload`` for an already loaded profile (``where`` names it in notes); ``ftrouter serve`` uses it."""
    from pydantic import ValidationError

    from ftrouter.cost.inference import Workload

    values: dict[str, Any] = {}
    notes: list[str] = []
    if profile is not None:
        values.update(_flags(prompt_tokens=profile.prompt_tokens, monthly_requests=profile.monthly_requests,
                             service_months=profile.service_months))
        if profile.data_must_stay_local:
            notes.append(f"{where}: the data must stay local — managed fine-tuning and prompting options are "
                         "shown for reference only")
    values.update({k: v for k, v in sets.items() if k in Workload.model_fields})
    values.update(flags)
    try:
        return Workload.model_validate(values), notes
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UsageError(f"workload {'.'.join(map(str, first['loc']))!r}: {first['msg']}",
                         code="bad_assumption") from exc


def split_sets(sets: dict[str, Any]) -> dict[str, Any]:
    """The --set keys that are training assumptions (the rest describe the workload); typos are errors."""
    from ftrouter.cost.inference import Workload
    from ftrouter.cost.types import Assumptions

    unknown = [k for k in sets if k not in Workload.model_fields and k not in Assumptions.model_fields]
    if unknown:
        known = ", ".join([*Workload.model_fields, *Assumptions.model_fields])
        raise UsageError(f"unknown assumption {unknown[0]!r} (known: {known})", code="bad_assumption")
    return {k: v for k, v in sets.items() if k in Assumptions.model_fields}


def _write(text: str, output: Path, data: Path) -> None:
    from ftrouter.data.atomic import atomic_writer

    with atomic_writer(output, inputs=[data]) as f:
        f.write(text.encode("utf-8"))


def compare(
    data: Path = DATA_OPT,
    task: Path | None = typer.Option(None, "--task", help="A task profile (YAML/JSON): its prompt_tokens, "
                                     "monthly_requests and service_months set the workload."),
    fmt: str = typer.Option("table", "--format", help="table, md, html, json or csv."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write the report here (atomically)."),
    backend: str = BACKEND_OPT,
    gpu: str | None = GPU_OPT,
    prompt_model: str | None = typer.Option(None, "--prompt-model", help="The base model prompted today "
                                            "(default: the catalog's prompt_baseline model, gpt-4.1-2025-04-14)."),
    monthly_requests: int | None = typer.Option(None, "--monthly-requests", help="Requests per month [100,000]."),
    prompt_tokens: int | None = typer.Option(None, "--prompt-tokens", help="Today's prompt incl. few-shot "
                                             "examples [3,000]."),
    output_tokens: int | None = typer.Option(None, "--output-tokens", help="Output tokens per request [150]."),
    months: float | None = typer.Option(None, "--months", help="Planned service life in months [12]."),
    sets: list[str] | None = SET_OPT,
    catalogs: list[Path] | None = CATALOG_OPT,
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
    eval_run: str | None = typer.Option(None, "--eval", help="A stored `ftrouter eval` run (ev-...): its "
                                        "models' measured quality is shown next to the costs."),
    encoder: bool = typer.Option(False, "--encoder", help="Add an encoder classifier (fine-tuned "
                                 "ModernBERT-base on one GPU) as an option; automatic when --data is labelled "
                                 "classification data (text/label, pairs, multi-label)."),
) -> None:
    """Compare training, inference and break-even across prompting, RAG, fine-tuning and self-hosting."""
    from ftrouter.cli.progress import data_progress
    from ftrouter.cost.calibration import registry_runs
    from ftrouter.cost.render import FORMATS, comparison_text, print_comparison
    from ftrouter.cost.report import compare_for_file

    fmt = "json" if as_json else fmt
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})", code="unknown_name")
    if output is not None:
        from ftrouter.data.atomic import check_output_path

        check_output_path(output, inputs=[data])  # before the data is read: -o DATA would destroy it
    parsed = _parse_sets(sets)
    assumptions = split_sets(parsed)
    work, notes = _workload(task, parsed, _flags(monthly_requests=monthly_requests, prompt_tokens=prompt_tokens,
                                                 output_tokens=output_tokens, service_months=months))
    catalog = _load_catalog(catalogs)
    quality = None
    if eval_run is not None:  # read before the token count: a wrong run id fails at once
        from ftrouter.eval.measured import quality_lines, quality_rows

        quality = quality_lines(eval_run), quality_rows(eval_run)
    with data_progress("counting tokens", data) as progress:
        comparison = compare_for_file(data, catalog=catalog, workload=work, backend=backend, gpu=gpu,
                                      prompt_model=prompt_model, assumptions=assumptions,
                                      progress=progress, measured=registry_runs(), encoder=encoder)
    comparison.notes[:0] = notes
    if quality is not None:
        (comparison.quality_title, comparison.quality), comparison.quality_rows = quality
    if output is not None:
        _write(comparison_text(comparison, fmt), output, data)
        typer.echo(f"wrote {fmt} report to {output}", err=True)
        return
    if fmt == "table":
        print_comparison(comparison, _console())
        return
    sys.stdout.write(comparison_text(comparison, fmt))
