"""Does a training method fit the user's GPUs? The memory figure comes from the cost engine.

This module is the advisor's only door to memory estimation (there is no second estimator here):
``ftrouter.cost``'s ``estimate_memory`` sums weights, adapter, gradients, optimizer states,
activations, logits and overhead per GPU, sharding the states across GPUs for multi-GPU runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# TRL's SFTConfig default max_length (research notes §1.6): the sequence length a run uses when the
# user gives no data to measure.
DEFAULT_SEQ_LEN = 1024


@dataclass(frozen=True)
class MethodFit:
    """A method's memory need per GPU and whether it fits; ``None`` when it could not be estimated."""

    method: str
    memory_gb: float | None
    fits: bool | None


def _estimator() -> Any:
    # ftrouter.cost.memory, not the ftrouter.cost package: the package also loads the job registry
    # (for calibration), which `advise` does not need on its fast path.
    try:
        from ftrouter.cost.memory import estimate_memory
    except ImportError:  # a build of ftrouter without the cost engine: memory is reported as unknown
        return None
    return estimate_memory


class MemoryOracle:
    """Memoised method fits (the counterfactual search asks the same question many times)."""

    def __init__(self, seq_len: int = DEFAULT_SEQ_LEN) -> None:
        self.seq_len = seq_len
        self._cache: dict[tuple[str, float, float, int, int], MethodFit] = {}
        self._estimate = _estimator()

    @property
    def available(self) -> bool:
        return self._estimate is not None

    def fit(self, method: str, model_size_b: float, gpu_memory_gb: float, gpus: int,
            seq_len: int | None = None) -> MethodFit:
        """``seq_len``: a longer sequence than the oracle's (a context-extension run); None: the oracle's."""
        key = (method, model_size_b, gpu_memory_gb, gpus, seq_len or self.seq_len)
        if key not in self._cache:
            self._cache[key] = self._compute(method, model_size_b, gpu_memory_gb, gpus, seq_len or self.seq_len)
        return self._cache[key]

    def _compute(self, method: str, model_size_b: float, gpu_memory_gb: float, gpus: int, seq_len: int) -> MethodFit:
        if self._estimate is None:
            return MethodFit(method, None, None)
        # Full fine-tuning shards its states across GPUs (FSDP / ZeRO-3); a LoRA or QLoRA run is
        # planned on one GPU, the way TRL runs it by default (data-parallel copies on more GPUs).
        count = max(gpus, 1) if method == "full" else 1
        estimate = self._estimate(float(model_size_b), method, seq_len=seq_len, gpus=count)
        need = round(float(estimate.total_gb), 1)
        fits = None if gpus <= 0 or gpu_memory_gb <= 0 else need <= gpu_memory_gb
        return MethodFit(method, need, fits)
