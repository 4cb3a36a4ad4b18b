"""The training run itself: TRL's SFTTrainer (or DPOTrainer, ``ftrouter_local.dpo``) with a PEFT LoRA/QLoRA
adapter or full fine-tuning.

Heavy (torch, transformers, trl, peft): imported by the worker process only, after it has
reported "loading". Every choice that changes memory or numerics (device, weight dtype, mixed
precision) is resolved explicitly here and written to the event log — never a silent float32 load.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftrouter_local.config import TrainConfig
from ftrouter_local.context import ContextPlan, write_rope_file
from ftrouter_local.jobfiles import JobFiles, write_atomic
from ftrouter_local.progress import ProgressCallback
from ftrouter_local.reporting import StatusWriter, StopFlag, peak_rss_gb

QLORA_NEEDS_GPU = ("QLoRA (4-bit NF4 through bitsandbytes) needs a CUDA GPU and this machine has none; "
                   "use --adapter lora (or full) to train on the CPU")


class TrainingError(Exception):
    """A failure the worker reports with a stable code (``failed`` + message, no traceback needed)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Precision:
    """Where and in which number format the run happens."""

    device: str  # "cuda" | "cpu"
    dtype: str  # weights as loaded
    bf16: bool  # mixed precision (autocast) flags for the Trainer
    fp16: bool
    gpu_name: str | None
    why: str

    def describe(self) -> str:
        amp = "bf16 autocast" if self.bf16 else "fp16 autocast" if self.fp16 else "no autocast"
        return f"{self.device} ({self.gpu_name or 'no GPU'}), weights {self.dtype}, {amp}: {self.why}"


def resolve_precision(config: TrainConfig) -> Precision:
    """Pick device, weight dtype and autocast for this config on this machine: the machine facts come
    from torch, the decision from ``ftrouter.training.resolve_precision`` — the same function the
    memory estimate uses, so the estimate counts the bytes this run will hold."""
    import torch

    from ftrouter.training import resolve_precision as decide

    has_cuda = torch.cuda.is_available()
    if config.device == "cuda" and not has_cuda:
        raise TrainingError("no_gpu", "device=cuda was asked for but no CUDA GPU is visible")
    if config.adapter == "qlora" and (not has_cuda or config.device == "cpu"):
        raise TrainingError("qlora_needs_gpu", QLORA_NEEDS_GPU)
    if not has_cuda or config.device == "cpu":
        plan = decide(config.adapter, config.dtype, device="cpu")
        return Precision("cpu", plan.dtype, plan.bf16, plan.fp16, None, plan.why)
    plan = decide(config.adapter, config.dtype, device="cuda", bf16_supported=torch.cuda.is_bf16_supported())
    return Precision("cuda", plan.dtype, plan.bf16, plan.fp16, torch.cuda.get_device_name(0), plan.why)


def peak_memory_fn(precision: Precision) -> Any:
    if precision.device == "cuda":
        import torch

        return lambda: round(torch.cuda.max_memory_allocated() / 1e9, 3)
    return peak_rss_gb


def read_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def to_dataset(rows: list[dict[str, Any]]) -> Any:
    """A datasets.Dataset from prepared records. Every record gets every column (from_list takes
    the columns of the FIRST record only), so an optional ``tools`` column is not dropped."""
    from datasets import Dataset

    columns = {key for row in rows for key in row}
    for row in rows:
        for key in columns - row.keys():
            row[key] = None
    return Dataset.from_list(rows, on_mixed_types="use_json")


def load_records(path: Path) -> Any:
    return to_dataset(read_records(path))


def checked_records(path: Path, role: str, config: TrainConfig, tokenizer: Any, writer: StatusWriter) -> Any:
    """The records of ``path`` after the length policy (``on_long``), as a Dataset. ``prepare`` already
    applied it when it could load the tokenizer (then this finds nothing to drop); when it could not,
    this is where the policy happens. TRL then only cuts the records kept as "truncated"."""
    from ftrouter_local import lengths

    rows = read_records(path)
    check = lengths.measure(rows, tokenizer, config.max_length)
    try:
        lengths.decide(check, config.on_long, config.max_length, role)
    except lengths.TooLong as exc:
        raise TrainingError(exc.code, exc.message) from None
    line = lengths.describe(check, config.on_long, config.max_length, role)
    if line:
        writer.event(line, data={"over_max_length": {role: check.as_dict()}}, level="warning")
    return to_dataset(lengths.keep(rows, check))


def peft_config(config: TrainConfig) -> Any:
    if config.adapter == "full":
        return None
    from peft import LoraConfig

    return LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=config.lora_target_modules, bias="none", task_type="CAUSAL_LM")


def quantization_config(config: TrainConfig, precision: Precision) -> Any:
    if config.adapter != "qlora":
        return None
    import importlib.util

    if importlib.util.find_spec("bitsandbytes") is None:
        raise TrainingError("missing_dependency", "QLoRA needs bitsandbytes: pip install -e 'providers/local[qlora]'")
    import torch
    from transformers import BitsAndBytesConfig

    compute = torch.bfloat16 if precision.bf16 else torch.float16
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=compute)


def model_init_kwargs(config: TrainConfig, precision: Precision,
                      rope_parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"dtype": precision.dtype}  # explicit: TRL would otherwise load float32
    if rope_parameters:  # from_pretrained sets it on the model's config: the rotary embedding uses it
        kwargs["rope_parameters"] = rope_parameters
    if config.revision:
        kwargs["revision"] = config.revision
    if config.attn_implementation:
        kwargs["attn_implementation"] = config.attn_implementation
    if config.adapter == "qlora":
        kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", "0"))}
    return kwargs


def tensorboard_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None or importlib.util.find_spec("tensorboardX") is not None


def schedule_arguments(config: TrainConfig, files: JobFiles, precision: Precision, *, has_eval: bool) -> dict[str, Any]:
    """The transformers ``TrainingArguments`` every trainer of this worker shares (SFT, DPO, encoder
    classifiers, embedders): schedule, batching, checkpoints, evaluation, precision and logging, all from
    the job's config."""
    return {
        "output_dir": str(files.checkpoints),
        "num_train_epochs": config.epochs,
        "max_steps": config.max_steps or -1,
        "learning_rate": config.resolved_learning_rate,
        "per_device_train_batch_size": config.batch_size,
        "per_device_eval_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "lr_scheduler_type": config.lr_scheduler_type,
        "warmup_steps": config.warmup_ratio,  # a float below 1 is a ratio of the total steps
        "weight_decay": config.weight_decay,
        "logging_steps": config.logging_steps,
        "logging_first_step": True,
        "save_strategy": "steps",
        "save_steps": config.save_steps,
        "save_total_limit": config.save_total_limit,
        "eval_strategy": "steps" if has_eval else "no",
        "eval_steps": config.eval_steps or config.save_steps,
        "seed": config.seed,
        "bf16": precision.bf16,
        "fp16": precision.fp16,
        "use_cpu": precision.device == "cpu",
        "report_to": ["tensorboard"] if config.tensorboard and tensorboard_available() else "none",
        "disable_tqdm": True,
    }


def checkpointing_argument() -> str:
    """The TrainingArguments name of activation checkpointing in the installed transformers: recent 5.x
    releases call it ``activation_checkpointing`` (``gradient_checkpointing`` is a deprecated alias there),
    earlier 5.x releases know only ``gradient_checkpointing`` (5.17, seen on a GPU machine's image)."""
    from transformers import TrainingArguments

    fields = getattr(TrainingArguments, "__dataclass_fields__", {})
    return "activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"


def trainer_arguments(config: TrainConfig, files: JobFiles, precision: Precision, *, has_eval: bool,
                      rope_parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The arguments every TRL trainer of this worker shares (SFT and DPO): ``schedule_arguments`` plus the
    training length and how TRL loads the model; ``rope_parameters``: the RoPE scaling the model loads
    with (``ftrouter_local.context``)."""
    return {
        **schedule_arguments(config, files, precision, has_eval=has_eval),
        "max_length": config.max_length,
        checkpointing_argument(): config.activation_checkpointing,
        "model_init_kwargs": model_init_kwargs(config, precision, rope_parameters),
        "trust_remote_code": config.trust_remote_code,
        "include_num_input_tokens_seen": "non_padding",
    }


def sft_config(config: TrainConfig, files: JobFiles, precision: Precision, *, has_eval: bool,
               rope_parameters: dict[str, Any] | None = None) -> Any:
    from trl import SFTConfig

    arguments = trainer_arguments(config, files, precision, has_eval=has_eval, rope_parameters=rope_parameters)
    return SFTConfig(**arguments, packing=config.packing,
                     completion_only_loss=True)  # records are prompt-completion: loss on the assistant turn only


def context_plan(config: TrainConfig, writer: StatusWriter) -> tuple[TrainConfig, ContextPlan | None]:
    """Check the training length and RoPE scaling against the model's own config (``prepare`` did when the
    config was at hand) and say what the run covers; the config comes back with max_length lowered to the
    native window when nobody set it past it."""
    from ftrouter.errors import UsageError
    from ftrouter_local.context import load_model_config, plan_for_config

    hf_config, why = load_model_config(config.model, revision=config.revision,
                                       trust_remote_code=config.trust_remote_code, local_only=False)
    if hf_config is None:
        if config.rope_scaling is not None:
            raise TrainingError("model_not_loadable", f"cannot apply rope_scaling: {why}")
        return config, None
    try:
        plan = plan_for_config(config, hf_config)
    except UsageError as exc:
        raise TrainingError(exc.code, exc.message) from None
    for line in plan.warnings:
        writer.event(line, level="warning", data={"context": plan.describe()})
    if config.rope_scaling is not None:
        writer.event(f"RoPE scaling {config.rope_scaling.label()}: context {plan.native:,} -> {plan.window:,} tokens, "
                     f"training length {plan.max_length:,}", data={"context": plan.describe()})
    if plan.max_length != config.max_length:
        config = config.model_copy(update={"max_length": plan.max_length})
    return config, plan


def _world() -> tuple[int, int]:
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def train(config: TrainConfig, files: JobFiles, stop: StopFlag, writer: StatusWriter,
          resume_from: Path | None) -> None:
    """Run (or continue) the job's training and leave it succeeded or cancelled."""
    if config.task == "embedding":  # sentence-transformers
        from ftrouter_local.embedding import train_embedding

        return train_embedding(config, files, stop, writer, resume_from)
    if config.task != "sft":  # an encoder with a classification head: its own trainer
        from ftrouter_local.classifier import train_classifier

        return train_classifier(config, files, stop, writer, resume_from)
    from transformers import AutoTokenizer
    from trl import SFTTrainer

    _, world_size = _world()
    precision = resolve_precision(config)
    writer.event(f"loading {config.model}: {precision.describe()}", data={"dtype": precision.dtype,
                 "device": precision.device, "processes": world_size})
    config, context = context_plan(config, writer)
    rope = context.rope_parameters if context else None
    tokenizer = AutoTokenizer.from_pretrained(config.model, revision=config.revision,
                                              trust_remote_code=config.trust_remote_code)
    train_set = checked_records(files.train_data, "train", config, tokenizer, writer)
    eval_set = checked_records(files.val_data, "val", config, tokenizer, writer) if files.val_data.is_file() else None
    callback = ProgressCallback(writer, stop, peak_memory_gb=peak_memory_fn(precision), world_size=world_size)
    if config.method == "dpo":  # same run around it: progress, checkpoints, cancel, save (ftrouter_local.dpo)
        from ftrouter_local.dpo import dpo_trainer

        trainer = dpo_trainer(config, files, precision, tokenizer, train_set, eval_set, callback, writer,
                              rope_parameters=rope)
    else:
        trainer = SFTTrainer(model=config.model, args=sft_config(config, files, precision,
                                                                 has_eval=eval_set is not None, rope_parameters=rope),
                             train_dataset=train_set, eval_dataset=eval_set, processing_class=tokenizer,
                             peft_config=peft_config(config),
                             quantization_config=quantization_config(config, precision), callbacks=[callback])
    trainable, total = _parameter_counts(trainer.model)
    writer.event(f"{len(train_set)} training records, {trainable:,} of {total:,} parameters trainable",
                 data={"records": len(train_set), "trainable_parameters": trainable, "parameters": total})
    if rope:
        _confirm_rope(trainer.model, writer)
    prepared = len(trainer.train_dataset) if not config.packing else len(train_set)
    if prepared < len(train_set):  # TRL left out records we kept: say so rather than train on fewer silently
        writer.event(f"TRL left out {len(train_set) - prepared} of {len(train_set)} records while preparing them",
                     level="warning", data={"records_after_trl": prepared})
    runtime = run_trainer(trainer, callback, precision, config, files, stop, writer, resume_from, world_size=world_size)
    if runtime is None:  # cancelled
        return
    writer.update(state="saving", force=True)
    trainer.save_model(str(files.output))
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(str(files.output))
        if context is not None and context.rope_parameters:  # an adapter's files hold no base config
            write_rope_file(files.output, context)
        write_atomic(files.output / "summary.json", json.dumps(_summary(trainer, config, runtime), indent=1))
    what = "model" if config.adapter == "full" else "adapter"
    writer.set_state("succeeded", f"succeeded: {what} and tokenizer in {files.output}",
                     adapter_path=str(files.output), runtime=runtime)


def _confirm_rope(model: Any, writer: StatusWriter) -> None:
    """Say what RoPE the loaded model really uses (read back from its config, not from our request)."""
    loaded = dict(getattr(model.config, "rope_parameters", None) or {})
    writer.event(f"model loaded with RoPE {loaded.get('rope_type')} x{loaded.get('factor')}",
                 data={"rope_parameters": loaded})


def _parameter_counts(model: Any) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total


def run_trainer(trainer: Any, callback: ProgressCallback, precision: Precision, config: TrainConfig,
                files: JobFiles, stop: StopFlag, writer: StatusWriter, resume_from: Path | None, *,
                world_size: int = 1) -> dict[str, Any] | None:
    """Train (or continue from ``resume_from``) unless a cancel came first; every trainer of this worker
    (SFT/DPO, encoder classifiers, embedders) ends its run here. Returns the run's measured runtime, or
    None when the job ended cancelled: before training, or at the checkpoint the callback saved."""
    if stop.requested:
        writer.set_state("cancelled", "cancelled before training started")
        return None
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    runtime = _runtime(trainer, callback, precision, config, world_size, writer)
    if callback.stopped:
        step = trainer.state.global_step
        checkpoint = files.checkpoints / f"checkpoint-{step}"
        writer.set_state("cancelled", f"cancelled at step {step}; checkpoint {checkpoint}",
                         checkpoint=str(checkpoint), runtime=runtime)
        return None
    return runtime


def _runtime(trainer: Any, callback: ProgressCallback, precision: Precision, config: TrainConfig,
             world_size: int, writer: StatusWriter) -> dict[str, Any]:
    """The measured facts of this run, as the registry stores them (its ``actual``)."""
    meter = callback.throughput
    meter.sample(trainer.state)
    prior = writer.status.prior
    started = writer.status.started_at
    from ftrouter.jobs.models import utcnow

    wall = (utcnow() - started).total_seconds() if started else meter.seconds
    return {
        "tokens_per_second": round(meter.tokens_per_second, 2),
        "wall_time_s": round(wall + prior.get("wall_time_s", 0.0), 2),
        "train_time_s": round(meter.seconds + prior.get("train_time_s", 0.0), 2),
        "trained_tokens": int(trainer.state.num_input_tokens_seen or 0),
        "steps": trainer.state.global_step,
        "gpu": precision.gpu_name or "cpu",
        "gpus": world_size if precision.device == "cuda" else 0,
        "processes": world_size,
        "peak_memory_gb": callback.peak_memory_gb(),
        "memory_kind": "gpu_allocated" if precision.device == "cuda" else "cpu_rss",
        "device": precision.device,
        "dtype": precision.dtype,
        "adapter": config.adapter,
    }


def _summary(trainer: Any, config: TrainConfig, runtime: dict[str, Any]) -> dict[str, Any]:
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    return {
        "base_model": config.model,
        "adapter": config.adapter,
        "first_loss": losses[0] if losses else None,
        "final_loss": losses[-1] if losses else None,
        "tokens_seen": runtime["trained_tokens"],
        **runtime,
        "config": config.model_dump(mode="json"),
    }
