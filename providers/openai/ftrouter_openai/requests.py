"""The requests the OpenAI backend sends, built from a JobSpec — one builder for both ``submit`` and
the ``--dry-run`` plan, so the plan shows exactly what would be sent."""

from __future__ import annotations

import os
from typing import Any

from ftrouter.errors import NotSupported, UsageError
from ftrouter.jobs.models import JobSpec, PlannedRequest

DEFAULT_BASE_URL = "https://api.openai.com/v1"
LOCAL_ID_KEY = "ftrouter_local_id"  # the metadata key that ties an OpenAI job to its registry row
MAX_UPLOAD_BYTES = 512 * 1024 * 1024  # POST /files limit; larger files need the Uploads API
MAX_BATCH_SIZE = 256

# JobSpec fields that belong to self-managed trainers, with the flag that set them.
_NOT_OPENAI = {"learning_rate": "--learning-rate (OpenAI takes --lr-multiplier)", "lora_r": "--lora-r",
               "lora_alpha": "--lora-alpha", "max_length": "--max-length", "packing": "packing",
               "max_steps": "--max-steps"}


def base_url() -> str:
    return (os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def check_spec(spec: JobSpec) -> None:
    """Refuse settings OpenAI does not have, instead of silently dropping them."""
    if spec.adapter is not None:
        raise NotSupported(f"--adapter {spec.adapter}: OpenAI trains its models as a managed service; "
                           "adapters apply to --backend local")
    hyper = spec.hyperparameters
    for field, flag in _NOT_OPENAI.items():
        if getattr(hyper, field) is not None:
            raise NotSupported(f"{flag} is not an OpenAI fine-tuning setting")
    if hyper.batch_size is not None and hyper.batch_size > MAX_BATCH_SIZE:
        raise UsageError(f"--batch-size {hyper.batch_size}: OpenAI accepts 1 to {MAX_BATCH_SIZE}", code="bad_flag")
    if hyper.beta is not None and spec.method != "dpo":
        raise UsageError("--beta applies to --method dpo only", code="bad_flag")
    if spec.options:
        raise UsageError(f"--option {sorted(spec.options)[0]}: the openai backend takes no --option settings",
                         code="bad_option")


def method_body(spec: JobSpec) -> dict[str, Any]:
    """The ``method`` object of CreateFineTuningJobRequest; unset knobs stay OpenAI's ``auto``."""
    hyper = spec.hyperparameters
    values = {"n_epochs": hyper.epochs, "batch_size": hyper.batch_size,
              "learning_rate_multiplier": hyper.learning_rate_multiplier}
    if spec.method == "dpo":
        values["beta"] = hyper.beta
    chosen = {k: v for k, v in values.items() if v is not None}
    kind = "dpo" if spec.method == "dpo" else "supervised"
    body: dict[str, Any] = {"type": kind}
    if chosen:
        body[kind] = {"hyperparameters": chosen}
    return body


def create_body(spec: JobSpec, local_id: str, training_file: str, validation_file: str | None) -> dict[str, Any]:
    """The JSON body of ``POST /fine_tuning/jobs``."""
    body: dict[str, Any] = {"model": spec.model, "training_file": training_file}
    if validation_file:
        body["validation_file"] = validation_file
    body["method"] = method_body(spec)
    if spec.suffix:
        body["suffix"] = spec.suffix
    if spec.seed is not None:
        body["seed"] = spec.seed
    body["metadata"] = {LOCAL_ID_KEY: local_id}
    return body


def planned_requests(spec: JobSpec, local_id: str, files: dict[str, str], sizes: dict[str, int]) -> list[
        PlannedRequest]:
    """What ``submit`` will send, in order (``--dry-run`` prints these)."""
    url = base_url()
    plan = []
    for role in ("train", "val"):
        if role in files:
            name = os.path.basename(files[role])
            plan.append(PlannedRequest(method="POST", url=f"{url}/files",
                                       body={"purpose": "fine-tune", "file": f"<{name}, {sizes[role]:,} bytes>"},
                                       note=f"upload the {'training' if role == 'train' else 'validation'} file "
                                            "(multipart/form-data)"))
            plan.append(PlannedRequest(method="GET", url=f"{url}/files/<{role} file id>",
                                       note="repeated until the file is processed"))
    body = create_body(spec, local_id, "<train file id>", "<val file id>" if "val" in files else None)
    plan.append(PlannedRequest(method="POST", url=f"{url}/fine_tuning/jobs", body=body, note="create the job"))
    return plan
