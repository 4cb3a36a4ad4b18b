"""Measured throughput replaces the MFU prior: finished local jobs in the registry record their
tokens/s, GPU and GPU count; a new estimate for the same model on the same GPU uses their median.

``measured_tokens_per_second`` works on plain records (testable alone); ``registry_runs`` is the thin
adapter that reads them from the job registry when that module and its file exist.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field

from ftrouter.catalog import Catalog, default_catalog
from ftrouter.errors import FtrouterError
from ftrouter.profiles import plans_gpus


class MeasuredRun(BaseModel):
    """One finished local training run: what the registry keeps in a job record's ``actual``."""

    model: str
    gpu: str
    gpus: int = Field(default=1, ge=1)
    tokens_per_second: float = Field(gt=0)  # whole job, all GPUs together
    method: str | None = None  # lora | qlora | full, when known


def _canonical(name: str, table: Any) -> str:
    row = table.find(name)
    return row.name if row is not None else name.lower()


def measured_tokens_per_second(
    runs: Iterable[MeasuredRun], *, model: str, gpu: str, method: str | None = None,
    catalog: Catalog | None = None,
) -> tuple[float, int] | None:
    """Median tokens/s PER GPU of the runs of ``model`` on ``gpu`` (and ``method`` when the run says
    which), with how many runs it rests on; None when there is no such run. Names match through the
    catalogs' aliases, so ``llama-3.1-8b`` on ``h100`` matches ``meta-llama/Llama-3.1-8B-Instruct``
    on ``H100-SXM-80GB``."""
    cat = catalog or default_catalog()
    want_model = _canonical(model, cat.open_models)
    want_gpu = _canonical(gpu, cat.gpus)
    per_gpu = [
        run.tokens_per_second / run.gpus
        for run in runs
        if _canonical(run.model, cat.open_models) == want_model
        and _canonical(run.gpu, cat.gpus) == want_gpu
        and (method is None or run.method is None or run.method == method)
    ]
    if not per_gpu:
        return None
    return statistics.median(per_gpu), len(per_gpu)


def run_from_record(model: str, adapter: str | None, actual: dict[str, Any]) -> MeasuredRun | None:
    """A MeasuredRun from a registry record's ``actual`` dict, or None when it lacks the facts."""
    tps, gpu = actual.get("tokens_per_second"), actual.get("gpu")
    if not isinstance(tps, int | float) or tps <= 0 or not isinstance(gpu, str) or not gpu:
        return None
    gpus = actual.get("gpus")
    return MeasuredRun(model=model, gpu=gpu, gpus=gpus if isinstance(gpus, int) and gpus > 0 else 1,
                       tokens_per_second=float(tps), method=adapter)


def registry_runs() -> list[MeasuredRun]:
    """Finished, successful local jobs from the job registry; [] when there is no registry (module
    not installed, or no registry file yet — reading must not create one)."""
    try:
        from ftrouter.jobs.paths import registry_path
        from ftrouter.jobs.registry import Registry
    except ImportError:
        return []
    path = registry_path()
    if not path.exists():
        return []
    try:
        records = Registry(path, read_only=True).list_jobs(include_all=True)
    except FtrouterError:  # an unreadable registry is reported by `ftrouter jobs`; estimate without it
        return []
    runs = []
    for record in records:
        if not plans_gpus(record.backend) or record.state.value != "succeeded":  # measured on GPUs we plan
            continue
        run = run_from_record(record.spec.model, record.spec.adapter, record.actual)
        if run is not None:
            runs.append(run)
    return runs
