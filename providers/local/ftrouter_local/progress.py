"""The TrainerCallback that turns the Trainer's progress into the job's status file and events.

Imports transformers: only the worker (and the benchmark) load this module.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from ftrouter_local.reporting import StatusWriter, StopFlag, eta_from

_NOT_METRICS = {"epoch", "total_flos"}


class Throughput:
    """Tokens per second of THIS attempt: a resumed run starts counting at its checkpoint."""

    def __init__(self) -> None:
        self.started = 0.0
        self.tokens_at_start = 0
        self.step_at_start = 0
        self.seconds = 0.0
        self.tokens = 0

    def begin(self, state: TrainerState) -> None:
        self.started = time.perf_counter()
        self.tokens_at_start = int(state.num_input_tokens_seen or 0)
        self.step_at_start = state.global_step

    def sample(self, state: TrainerState) -> None:
        self.seconds = time.perf_counter() - self.started
        self.tokens = int(state.num_input_tokens_seen or 0) - self.tokens_at_start

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0


# The Trainer's end-of-run log calls the loss averaged over the whole run ``train_loss``, the name other
# backends (OpenAI) give the current step's loss: stored under its own name, so no reader shows the
# average as the final loss.
_RENAMED = {"train_loss": "mean_train_loss"}


def _numeric(logs: dict[str, Any]) -> dict[str, float]:
    return {_RENAMED.get(k, k): float(v) for k, v in logs.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and k not in _NOT_METRICS}


class ProgressCallback(TrainerCallback):
    """Writes step / loss / learning rate / tokens/s / ETA / memory, and stops on a cancel request."""

    def __init__(self, writer: StatusWriter, stop: StopFlag, *, peak_memory_gb: Callable[[], float],
                 world_size: int = 1) -> None:
        self.writer = writer
        self.stop = stop
        self.peak_memory_gb = peak_memory_gb
        self.world_size = world_size
        self.throughput = Throughput()
        self.stopped = False

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                       **kwargs: Any) -> None:
        self.throughput.begin(state)
        start = f"from step {state.global_step} " if state.global_step else ""
        self.writer.set_state("training", f"training {start}to step {state.max_steps}",
                              step=state.global_step, total_steps=state.max_steps, epoch=state.epoch)

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                    **kwargs: Any) -> None:
        self.throughput.sample(state)
        if not self.stopped and self._stop_agreed(args):
            self.stopped = True
            control.should_save = True
            control.should_training_stop = True
            self.writer.set_state("cancelling", f"stop requested: saving a checkpoint at step {state.global_step}")
        done = state.global_step - self.throughput.step_at_start
        metrics = {**self.writer.status.metrics, "tokens_per_second": round(self.throughput.tokens_per_second, 1),
                   "peak_memory_gb": self.peak_memory_gb()}
        self.writer.update(step=state.global_step, total_steps=state.max_steps, epoch=state.epoch,
                           trained_tokens=int(state.num_input_tokens_seen or 0), metrics=metrics,
                           eta=eta_from(state.global_step, state.max_steps, self.throughput.seconds, done))

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
               logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        values = _numeric(logs or {})
        if not values:
            return
        self.writer.update(metrics={**self.writer.status.metrics, **values})
        shown = ", ".join(f"{k} {values[k]:.4g}" for k in ("loss", "eval_loss", "learning_rate", "mean_train_loss")
                          if k in values)
        self.writer.event(f"step {state.global_step}/{state.max_steps}: {shown}", type="metrics",
                          data={"step": state.global_step, "epoch": state.epoch, **values})

    def on_save(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                **kwargs: Any) -> None:
        path = str(Path(args.output_dir or ".") / f"checkpoint-{state.global_step}")
        self.writer.update(checkpoint=path, force=True)
        self.writer.event(f"checkpoint saved at step {state.global_step}", type="checkpoint",
                          data={"step": state.global_step, "path": path})

    def _stop_agreed(self, args: TrainingArguments) -> bool:
        """All processes must stop at the same step, or the next collective hangs: take the MAX of
        every rank's flag (one tiny all-reduce per step, only when there are several processes)."""
        wanted = self.stop.requested
        if self.world_size <= 1:
            return wanted
        import torch
        import torch.distributed as dist

        flag = torch.tensor([1.0 if wanted else 0.0], device=args.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item() > 0)
