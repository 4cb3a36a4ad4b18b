"""From a data file to the estimate and comparison reports: the only place the cost engine reads data.

Token counts come from the data engine (``ftrouter.data.inspect_file``): exact tiktoken counts for
OpenAI models (o200k_base unless ``--model`` names an OpenAI model with another encoding), Google's
documented estimate for Gemini, and the OpenAI counts as the proxy for open models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ftrouter.catalog import Catalog, base_model_name
from ftrouter.cost.compare import Comparison, build_comparison, default_prompt_model, price_dates
from ftrouter.cost.inference import Workload
from ftrouter.cost.training import estimate_training, managed_models
from ftrouter.cost.types import PriceDate, TrainingEstimate, parse_assumptions
from ftrouter.errors import CatalogError, DataError, UnknownName, UsageError
from ftrouter.profiles import installed_profiles, profile_for, profile_names, self_hosted_backend

if TYPE_CHECKING:
    from ftrouter.data.progress import Progress
    from ftrouter.data.reader import FileScan


class EstimateReport(BaseModel):
    """What ``ftrouter estimate --json`` prints."""

    data: dict[str, Any]
    backends: list[TrainingEstimate]
    prices_as_of: date | None  # the oldest price date used (each item has its own too)
    prices: list[PriceDate]
    serving: dict[str, Any] | None = None  # ``--task``: serving the trained encoder (ftrouter.cost.encoder)


@dataclass
class TokenCounts:
    path: str
    format: str
    examples: int
    by_backend: dict[str, list[int]]
    counted_with: dict[str, str]

    def summary(self) -> dict[str, Any]:
        totals = {b: sum(t) for b, t in self.by_backend.items()}
        return {"path": self.path, "format": self.format, "examples": self.examples, "tokens_total": totals,
                "counted_with": self.counted_with}


def backend_of_model(model: str, catalog: Catalog) -> str:
    """Which backend a model name belongs to: a managed catalog model, or an open model (local)."""
    entry = catalog.models.find(model) or catalog.models.find(model.split(":")[1] if model.startswith("ft:") else "")
    if entry is not None:
        return entry.backend
    if catalog.open_models.find(model) is not None:  # trained by the backend that plans GPUs (unmanaged)
        return self_hosted_backend()
    names = [*catalog.models.rows, *catalog.open_models.rows,
             *(a for m in catalog.open_models.rows.values() for a in m.aliases)]
    raise UnknownName("model", model, names)


def _counter(model: str | None, catalog: Catalog) -> Any:
    """The data engine's token counter for ``model``, from THIS catalog (``--catalog`` rows included: the
    data engine alone only knows the shipped catalog and ``FTROUTER_CATALOG``)."""
    from ftrouter.data.tokens import TiktokenCounter, counter_for_model

    entry = catalog.models.find(base_model_name(model)) if model else None
    if model is None or entry is None:
        return counter_for_model(model)
    if profile_for(entry.backend).token_counter != "tiktoken":
        return counter_for_model(model)  # the Gemini estimate, or o200k_base standing in for an open model
    from ftrouter.data.encodings import DEFAULT_ENCODING, encoding_name_for_model

    encoding = entry.encoding or encoding_name_for_model(model) or DEFAULT_ENCODING
    return TiktokenCounter(encoding, limit=entry.training_token_limit, model=model)


def _estimate_model(backend: str, catalog: Catalog) -> str:
    """The catalog model an estimate for ``backend`` uses when none is named (its plugin's default row)."""
    rows = managed_models(backend, None, catalog)
    if not rows:
        raise CatalogError(f"the {backend} backend has no models in the catalog (its plugin ships no catalog.yaml "
                           "rows); add them with --catalog FILE")
    return rows[0].name


def _inspect(scan: FileScan, model: str | None, catalog: Catalog, progress: Progress | None = None) -> Any:
    from ftrouter.data import inspect_file  # the data engine (tiktoken) loads only when a file is read

    report = inspect_file(scan, counter=_counter(model, catalog), progress=progress)
    if report.errors:
        first = next((p for p in report.problems if p.severity == "error"), None)
        detail = f"{first.code}: {first.message}" if first else "see `ftrouter data validate`"
        raise DataError(f"{report.errors} error(s) in the data; the first: {detail} "
                        f"(run `ftrouter data validate {report.path}` for all)", path=report.path,
                        line=first.line if first else None, code="invalid_data")
    if not report.example_tokens:
        raise DataError("no examples in the file", path=report.path, code="no_examples")
    return report


def count_tokens(path: str | Path | FileScan, backends: list[str], model: str | None, catalog: Catalog, *,
                 progress: Progress | None = None) -> TokenCounts:
    """Per-example token counts for each backend (one pass per distinct tokenizer, over one opening of the
    file: a container is unpacked once). ``progress`` gets (bytes read, bytes of all the passes)
    (``ftrouter.data.progress``)."""
    from ftrouter.data.progress import file_size, shifted
    from ftrouter.data.reader import FileScan

    scan = path if isinstance(path, FileScan) else FileScan(path)

    model_backend = backend_of_model(model, catalog) if model else None
    # the model's own encoding when its backend counts exactly (tiktoken), else o200k_base
    openai_model = model if model_backend and profile_for(model_backend).token_counter == "tiktoken" else None
    gemini_backends = [b for b in backends if profile_for(b).token_counter == "gemini"]
    by_backend: dict[str, list[int]] = {}
    counted: dict[str, str] = {}
    report = None
    tiktoken = [b for b in backends if profile_for(b).token_counter != "gemini"]
    tiktoken_pass = bool(tiktoken)
    size = file_size(scan.jsonl) if progress is not None else 0
    if tiktoken_pass:
        report = _inspect(scan, openai_model, catalog, shifted(progress, 0, size if gemini_backends else 0))
        how = report.tokenizer.get("encoding") or report.tokenizer.get("method") or "tiktoken"
        for b in tiktoken:
            by_backend[b] = list(report.example_tokens)
            exact = profile_for(b).token_counter == "tiktoken"
            counted[b] = f"{how} (exact)" if exact else f"{how} (proxy for the open model's tokenizer)"
    if gemini_backends:
        count_with = model if model_backend in gemini_backends else _estimate_model(gemini_backends[0], catalog)
        gemini = _inspect(scan, count_with, catalog, shifted(progress, size if tiktoken_pass else 0, 0))
        band = gemini.tokenizer.get("error_band")
        rule = gemini.tokenizer.get("rule", "estimate")
        for b in gemini_backends:
            by_backend[b] = list(gemini.example_tokens)
            counted[b] = f"{rule} (estimate, ±{band:.0%})" if band else f"{rule} (estimate)"
        report = report or gemini
    assert report is not None
    return TokenCounts(path=str(report.path), format=report.format, examples=report.examples,
                       by_backend=by_backend, counted_with=counted)


def _gemini_band() -> float | None:
    try:
        from ftrouter.data.tokens import GEMINI_ERROR_BAND
    except ImportError:
        return None
    return float(GEMINI_ERROR_BAND)


def resolve_backends(backend: str, model: str | None, catalog: Catalog) -> list[str]:
    names = [p.name for p in installed_profiles()]
    if backend not in (*names, "all"):
        if backend in profile_names():  # a known plugin that is not installed: say how to install it
            profile_for(backend)
        raise UnknownName("backend", backend, [*names, "all"])
    if model is not None:
        owner = backend_of_model(model, catalog)
        if backend not in ("all", owner):
            raise UnknownName(f"{backend} model", model, _backend_model_names(backend, catalog))
        return [owner]
    return names if backend == "all" else [backend]


def _backend_model_names(backend: str, catalog: Catalog) -> list[str]:
    if not profile_for(backend).managed:
        return list(catalog.open_models.rows)
    return [m.name for m in catalog.models.rows.values() if m.backend == backend]


def estimate_for_file(
    path: str | Path | FileScan, *, catalog: Catalog, backend: str = "all", model: str | None = None,
    epochs: int | None = None, method: str = "sft", adapter: str | None = None, gpu: str | None = None,
    assumptions: dict[str, Any] | None = None, progress: Progress | None = None,
    measured: Sequence[Any] | None = None,
) -> EstimateReport:
    """Count the file's tokens and estimate training on each backend (the ``estimate`` command).
    ``progress``: see ``count_tokens``."""
    backends = resolve_backends(backend, model, catalog)
    parse_assumptions(assumptions)  # fail on a typo before reading a large file
    counts = count_tokens(path, backends, model, catalog, progress=progress)
    extra = dict(assumptions or {})
    gemini = any(profile_for(b).token_counter == "gemini" for b in backends)
    if gemini and "token_error_band" not in extra and _gemini_band() is not None:
        extra["token_error_band"] = _gemini_band()
    estimates: list[TrainingEstimate] = []
    for b in backends:
        gpus = not profile_for(b).managed  # --adapter and --gpu apply to the backend that plans GPUs
        estimates += estimate_training(b, example_tokens=counts.by_backend[b], model=model, epochs=epochs,
                                       method=method, adapter=adapter if gpus else None,
                                       gpu=gpu if gpus else None, assumptions=extra, catalog=catalog,
                                       measured=measured)
    prices = price_dates([], estimates, catalog)
    return EstimateReport(data=counts.summary(), backends=estimates,
                          prices_as_of=min((p.as_of for p in prices), default=None), prices=prices)


def encoder_estimate_for_file(
    path: str | Path, task: str, *, catalog: Catalog, backend: str = "all", model: str | None = None,
    epochs: int | None = None, method: str = "sft", adapter: str | None = None, gpu: str | None = None,
    assumptions: dict[str, Any] | None = None, progress: Progress | None = None,
    measured: Sequence[Any] | None = None,
) -> EstimateReport:
    """``estimate --task TASK``: fine-tuning an encoder on the labelled file, and serving it."""
    from ftrouter.cost.encoder import ENCODER_SEQ_LEN, encoder_serving, encoder_training
    from ftrouter.cost.labelled import check_task_data, count_labelled
    from ftrouter.data.containers import open_source

    planner = self_hosted_backend()
    if backend not in ("all", planner):
        raise UsageError(f"--task {task} trains an encoder on the {planner} backend, not {backend}",
                         code="bad_option")
    if method != "sft":
        raise UsageError(f"--method {method} fine-tunes chat models; leave it out with --task", code="bad_option")
    parse_assumptions(assumptions)  # fail on a typo before reading a large file
    source = open_source(path)  # one unpacking of a container for the format check and the count
    counts = count_labelled(source, check_task_data(source, task), progress)
    train = encoder_training(counts.tokens, catalog=catalog, model=model, epochs=epochs, adapter=adapter, gpu=gpu,
                             assumptions=assumptions, measured=measured)
    cut = [min(t, ENCODER_SEQ_LEN) for t in counts.tokens]
    serving = encoder_serving(train, sum(cut) / len(cut), monthly_requests=None, catalog=catalog)
    data = {"path": counts.path, "format": counts.format, "task": task, "examples": counts.examples,
            "tokens_total": {planner: sum(counts.tokens)}, "counted_with": {planner: counts.counted_with}}
    prices = price_dates([], [train], catalog)
    return EstimateReport(data=data, backends=[train], prices_as_of=min((p.as_of for p in prices), default=None),
                          prices=prices, serving=serving)


def _encoder_for_compare(counts: list[int], work: Workload, catalog: Catalog, gpu: str | None,
                         assumptions: dict[str, Any] | None, measured: Sequence[Any] | None) -> Any:
    from ftrouter.cost.encoder import ENCODER_SEQ_LEN, encoder_serving, encoder_training

    train = encoder_training(counts, catalog=catalog, gpu=gpu, assumptions=assumptions, measured=measured)
    cut = [min(t, ENCODER_SEQ_LEN) for t in counts]
    return train, encoder_serving(train, sum(cut) / len(cut), monthly_requests=work.monthly_requests,
                                  catalog=catalog)


def compare_for_file(
    path: str | Path, *, catalog: Catalog, workload: Workload, backend: str = "all", gpu: str | None = None,
    prompt_model: str | None = None, assumptions: dict[str, Any] | None = None,
    today: date | None = None, progress: Progress | None = None, measured: Sequence[Any] | None = None,
    encoder: bool = False,
) -> Comparison:
    """Training on every backend, then inference and break-even against prompting (``compare``).

    Labelled classification data is priced as the chat file an LLM would be fine-tuned on, and adds the
    encoder classifier (``encoder`` adds it for chat data too, its inputs ``query_tokens`` long).
    ``prompt_model``: the base model prompted today (None: the catalog's ``prompt_baseline`` model)."""
    prompt_model = catalog.get_model(prompt_model or default_prompt_model(catalog)).name  # before the file is read
    from ftrouter.cost.labelled import COMPARE_FORMATS, as_chat, count_labelled
    from ftrouter.data.labelled import labelled_format
    from ftrouter.data.reader import FileScan

    # opened once: a container or pipe is unpacked (copied) once for the sniff and every reading below
    scan = FileScan(path)
    fmt = labelled_format(scan)
    extra = None
    if fmt is not None:
        if fmt not in COMPARE_FORMATS:
            raise UsageError(f"compare prices a classifier against LLM options, and this file is {fmt} data: "
                             f"`ftrouter estimate --task {_task_of(fmt)} --data {path}` prices the encoder fine-tune",
                             path=str(path), code="wrong_format")
        counts = count_labelled(scan.source, fmt)
        with as_chat(scan.source, fmt) as chat:
            report = estimate_for_file(chat, catalog=catalog, backend=backend, gpu=gpu, assumptions=assumptions,
                                       progress=progress, measured=measured)
        report.data.update(path=str(path), format=f"{fmt} (priced for LLMs as chat: the input as the user turn, "
                           "the label as the answer)")
        extra = _encoder_for_compare(counts.tokens, workload, catalog, gpu, assumptions, measured)
    else:
        report = estimate_for_file(scan, catalog=catalog, backend=backend, gpu=gpu, assumptions=assumptions,
                                   progress=progress, measured=measured)
        if encoder:
            extra = _encoder_for_compare([workload.query_tokens] * report.data["examples"], workload, catalog, gpu,
                                         assumptions, measured)
    when = today or parse_assumptions(assumptions).today or date.today()
    return build_comparison(report.backends, workload, catalog=catalog, today=when, prompt_model=prompt_model,
                            data=report.data, encoder=extra)


def _task_of(fmt: str) -> str:
    from ftrouter.data.labelled import TASK_FORMATS

    return next(task for task, f in TASK_FORMATS.items() if f == fmt)
