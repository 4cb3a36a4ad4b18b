"""Training cost per backend for the advice (only with ``--data``), from the cost engine.

The advisor knows the open-weights model only by size (``model_size_b``); the local estimate uses
the open-model catalog entry closest to that size, on the smallest catalog GPU that fits (the cost of
renting it, or the rental value of the user's own GPU hours).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ftrouter.errors import FtrouterError
from ftrouter.profiles import plans_gpus


@dataclass(frozen=True)
class BackendCost:
    backend: str
    model: str
    method: str
    cost_usd: float | None
    hours: float | None
    gpu: str | None
    fits: bool
    note: str | None = None
    prices_as_of: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend, "model": self.model, "method": self.method,
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 2),
            "hours": None if self.hours is None else round(self.hours, 2),
            "gpu": self.gpu, "fits": self.fits, "note": self.note, "prices_as_of": self.prices_as_of,
        }


def closest_open_model(model_size_b: float, catalog: Any = None) -> str:
    """The open-model catalog entry whose size is closest (on a log scale) to ``model_size_b``."""
    from ftrouter.catalog import default_catalog

    rows = [m for m in (catalog or default_catalog()).open_models.rows.values() if m.architecture == "decoder"]
    return min(rows, key=lambda m: (abs(math.log(m.params_b / model_size_b)), m.name)).name


class CostOracle:
    """Memoised training estimates for one dataset, keyed by backend, method and model size."""

    def __init__(self, example_tokens: Sequence[int], *, today: date, max_gpus: int,
                 catalog_files: tuple[Path, ...] = ()) -> None:
        self.example_tokens = list(example_tokens)
        self.catalog_files = catalog_files
        self._catalog: Any = None
        self.today = today
        self.max_gpus = max(max_gpus, 1)
        self._cache: dict[tuple[str, str, float], BackendCost | None] = {}

    def cost(self, backend: str, method: str | None, model_size_b: float) -> BackendCost | None:
        if method is None or not self.example_tokens:
            return None
        key = (backend, method, model_size_b if plans_gpus(backend) else 0.0)
        if key not in self._cache:
            self._cache[key] = self._estimate(backend, method, model_size_b)
        return self._cache[key]

    def catalog(self) -> Any:
        from ftrouter.catalog import default_catalog, load

        if self._catalog is None:
            self._catalog = load(self.catalog_files) if self.catalog_files else default_catalog()
        return self._catalog

    def _estimate(self, backend: str, method: str, model_size_b: float) -> BackendCost | None:
        from ftrouter.cost import estimate_training
        from ftrouter.cost.calibration import registry_runs

        options: dict[str, Any] = {"today": self.today, "max_gpus": self.max_gpus}
        catalog = self.catalog()  # a malformed override file is the user's error to see (exit 2)
        try:
            if plans_gpus(backend):  # the open model closest in size, on the user's (or rented) GPUs
                estimates = estimate_training(backend, example_tokens=self.example_tokens,
                                              model=closest_open_model(model_size_b, catalog), adapter=method,
                                              assumptions=options, catalog=catalog, measured=registry_runs())
            else:
                estimates = estimate_training(backend, example_tokens=self.example_tokens,
                                              assumptions={"today": self.today}, catalog=catalog)
        except FtrouterError as exc:  # an estimate that cannot be made is reported, not fatal
            return BackendCost(backend, "-", method, None, None, None, False, note=exc.message)
        if not estimates:
            return None
        first = estimates[0]
        problems = first.assumptions.get("problems") or []
        return BackendCost(backend, first.model, method if plans_gpus(backend) else "managed", first.cost_usd,
                           first.hours, first.gpu, first.fits, note="; ".join(map(str, problems)) or None,
                           prices_as_of=first.prices_as_of.isoformat() if first.prices_as_of else None)
