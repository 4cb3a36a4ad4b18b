"""The requests the Together backend sends, built from a JobSpec: one builder for ``submit`` and the
``--dry-run`` plan, so the plan shows exactly what would be sent (bodies follow POST /fine-tunes and
POST /fine-tunes/estimate-price of Together's published OpenAPI spec).

The local id travels in the job's ``suffix`` (Together lists no metadata or tags), which puts it in the
output model name too; ``find_by_local_id`` looks for it there after a crash.
"""

from __future__ import annotations

import os
from typing import Any

from ftrouter.errors import NotSupported, UsageError
from ftrouter.jobs.models import JobSpec, PlannedRequest

# --option settings passed through to POST /fine-tunes unchanged (W&B's key comes from WANDB_API_KEY,
# never from an option: options are stored in the job registry)
OPTIONS: dict[str, type] = {"n_checkpoints": int, "n_evals": int, "warmup_ratio": float, "weight_decay": float,
                            "max_grad_norm": float, "train_on_inputs": bool, "from_checkpoint": str,
                            "wandb_project_name": str, "wandb_name": str, "wandb_entity": str, "wandb_base_url": str}
WANDB_KEY_ENV = "WANDB_API_KEY"
_NOT_TOGETHER = {"learning_rate_multiplier": "--lr-multiplier (Together takes --learning-rate)",
                 "max_steps": "--max-steps"}


def check_spec(spec: JobSpec) -> None:
    """Refuse settings Together does not have, instead of silently dropping them."""
    if spec.adapter == "qlora":
        raise NotSupported("--adapter qlora: Together trains LoRA (the default) or full (--adapter full)")
    for field, flag in _NOT_TOGETHER.items():
        if getattr(spec.hyperparameters, field) is not None:
            raise NotSupported(f"{flag} is not a Together fine-tuning setting")
    if spec.hyperparameters.beta is not None and spec.method != "dpo":
        raise UsageError("--beta applies to --method dpo only", code="bad_flag")
    if spec.adapter == "full" and (spec.hyperparameters.lora_r or spec.hyperparameters.lora_alpha):
        raise UsageError("--lora-r / --lora-alpha apply to LoRA, not --adapter full", code="bad_flag")
    for name in spec.options:
        if name not in OPTIONS:
            raise UsageError(f"--option {name}: the together backend takes {', '.join(sorted(OPTIONS))}",
                             code="bad_option")
    options(spec)


def options(spec: JobSpec) -> dict[str, Any]:
    """The --option values, typed as POST /fine-tunes wants them."""
    out: dict[str, Any] = {}
    for name, value in spec.options.items():
        kind = OPTIONS[name]
        try:
            if kind is bool:
                text = str(value).lower()
                if text not in ("true", "false"):
                    raise ValueError(value)
                out[name] = text == "true"
            else:
                out[name] = kind(value)
        except (TypeError, ValueError):
            raise UsageError(f"--option {name}={value}: expected {kind.__name__}", code="bad_option") from None
    return out


def job_suffix(spec: JobSpec, local_id: str) -> str:
    return f"{spec.suffix}-{local_id}" if spec.suffix else local_id


def training_method(spec: JobSpec) -> dict[str, Any]:
    if spec.method == "dpo":
        beta = spec.hyperparameters.beta
        return {"method": "dpo", **({"dpo_beta": beta} if beta is not None else {})}
    # The spec's TrainingMethodSFT requires train_on_inputs and types it boolean (its "auto" default fails
    # the schema's own `type`); false masks the prompts, which is what "auto" does for conversations, the
    # only shape ftrouter uploads. --option train_on_inputs=true trains on them too.
    return {"method": "sft", "train_on_inputs": options(spec).get("train_on_inputs", False)}


def training_type(spec: JobSpec) -> dict[str, Any] | None:
    """Full, or LoRA with the rank given; None leaves Together's default (LoRA, its own rank)."""
    if spec.adapter == "full":
        return {"type": "Full"}
    rank = spec.hyperparameters.lora_r
    if rank is None:
        return None
    return {"type": "Lora", "lora_r": rank, "lora_alpha": spec.hyperparameters.lora_alpha or 2 * rank}


def _hyperparameters(spec: JobSpec) -> dict[str, Any]:
    hyper = spec.hyperparameters
    values = {"n_epochs": hyper.epochs, "learning_rate": hyper.learning_rate, "batch_size": hyper.batch_size,
              "max_seq_length": hyper.max_length, "packing": hyper.packing, "random_seed": spec.seed}
    return {k: v for k, v in values.items() if v is not None}


def estimate_body(spec: JobSpec, training_file: str, validation_file: str | None) -> dict[str, Any]:
    """The JSON body of ``POST /fine-tunes/estimate-price`` (the create's parameters it takes)."""
    body: dict[str, Any] = {"training_file": training_file, "model": spec.model}
    if validation_file:
        body["validation_file"] = validation_file
    if spec.hyperparameters.epochs is not None:
        body["n_epochs"] = spec.hyperparameters.epochs
    if "n_evals" in spec.options:
        body["n_evals"] = options(spec)["n_evals"]
    body["training_method"] = training_method(spec)
    kind = training_type(spec)
    if kind is not None:
        body["training_type"] = kind
    return body


def create_body(spec: JobSpec, local_id: str, training_file: str, validation_file: str | None, *,
                wandb_key: str | None = None) -> dict[str, Any]:
    """The JSON body of ``POST /fine-tunes``."""
    body: dict[str, Any] = {"training_file": training_file, "model": spec.model}
    if validation_file:
        body["validation_file"] = validation_file
    body.update(_hyperparameters(spec))
    body["suffix"] = job_suffix(spec, local_id)
    body["training_method"] = training_method(spec)
    kind = training_type(spec)
    if kind is not None:
        body["training_type"] = kind
    body.update({k: v for k, v in options(spec).items() if k != "train_on_inputs"})  # that one is in the method
    if wandb_key and "wandb_project_name" in body:
        body["wandb_api_key"] = wandb_key
    return body


def wandb_key() -> str | None:
    return os.environ.get(WANDB_KEY_ENV, "").strip() or None


def planned_requests(spec: JobSpec, local_id: str, files: dict[str, str], sizes: dict[str, int],
                     url: str) -> list[PlannedRequest]:
    """What ``submit`` will send, in order (``--dry-run`` prints these; no key is needed or shown)."""
    plan = [PlannedRequest(method="GET", url=f"{url}/fine-tunes/models/limits?model_name={spec.model}",
                           note="check epochs, learning rate, batch size and LoRA rank against Together's limits "
                                "for the model, before anything is uploaded")]
    for role in ("train", "val"):
        if role in files:
            name = os.path.basename(files[role])
            plan.append(PlannedRequest(
                method="POST", url=f"{url}/files/upload",
                body={"purpose": "fine-tune", "file_name": name, "file_type": "jsonl",
                      "file": f"<{name}, {sizes[role]:,} bytes>"},
                note=f"upload the {'training' if role == 'train' else 'validation'} file (multipart/form-data)"))
    val = "<val file id>" if "val" in files else None
    plan.append(PlannedRequest(method="POST", url=f"{url}/fine-tunes/estimate-price",
                               body=estimate_body(spec, "<train file id>", val),
                               note="Together's own price estimate; the create is not sent when it says the "
                                    "account may not proceed"))
    body = create_body(spec, local_id, "<train file id>", val)
    if "wandb_project_name" in body:
        body["wandb_api_key"] = f"<${WANDB_KEY_ENV}>" if wandb_key() else f"<not sent: ${WANDB_KEY_ENV} is unset>"
    plan.append(PlannedRequest(method="POST", url=f"{url}/fine-tunes", body=body, note="create the job"))
    return plan
