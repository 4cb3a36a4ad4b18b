"""The tuning-job request: built once from the job spec, shown by ``--dry-run`` in its REST form and
sent through google-genai in its SDK form, so what is shown is what is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ftrouter.errors import UsageError

API_VERSION = "v1"
LABEL_KEY = "ftrouter_job_id"  # carries the local job id, for crash reconciliation
CREATED_BY_LABEL = ("created_by", "ftrouter")

ADAPTER_SIZES: dict[int, str] = {
    1: "ADAPTER_SIZE_ONE",
    2: "ADAPTER_SIZE_TWO",
    4: "ADAPTER_SIZE_FOUR",
    8: "ADAPTER_SIZE_EIGHT",
    16: "ADAPTER_SIZE_SIXTEEN",
    32: "ADAPTER_SIZE_THIRTY_TWO",
}

_LABEL = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
MAX_DISPLAY_NAME = 128


def label_value(local_id: str) -> str:
    """The local id as a label value (lowercase letters, digits, ``_``, ``-``; at most 63)."""
    value = local_id.lower()
    if not _LABEL_VALUE.match(value):
        raise UsageError(f"job id {local_id!r} cannot be stored as a Vertex label (allowed: a-z 0-9 _ -, max 63)")
    return value


def label_filter(local_id: str) -> str:
    """The ``tuningJobs.list`` filter that finds the job created for ``local_id``."""
    return f'labels.{LABEL_KEY}="{label_value(local_id)}"'


def adapter_size_enum(size: int | None) -> str | None:
    if size is None:
        return None
    if size not in ADAPTER_SIZES:
        allowed = ", ".join(str(s) for s in ADAPTER_SIZES)
        raise UsageError(f"adapter size {size} is not offered by Vertex tuning (allowed: {allowed})")
    return ADAPTER_SIZES[size]


def endpoint_host(region: str) -> str:
    return f"https://{region}-aiplatform.googleapis.com"


def tuning_jobs_url(project: str | None, region: str) -> str:
    return f"{endpoint_host(region)}/{API_VERSION}/projects/{project or '<project>'}/locations/{region}/tuningJobs"


# google-cloud-storage uploads a file up to this size in one multipart request (the object name travels in
# its metadata part, not in the URL); a larger one through a resumable session.
MAX_MULTIPART_BYTES = 8 * 1024 * 1024


def upload_url(bucket: str | None, size: int) -> str:
    """The URL google-cloud-storage sends a file of ``size`` bytes to."""
    kind = "multipart" if size <= MAX_MULTIPART_BYTES else "resumable"
    return f"https://storage.googleapis.com/upload/storage/v1/b/{bucket or '<bucket>'}/o?uploadType={kind}"


@dataclass(frozen=True)
class TuningRequest:
    base_model: str
    training_uri: str
    validation_uri: str | None = None
    epochs: int | None = None
    learning_rate_multiplier: float | None = None
    adapter_size: str | None = None  # ADAPTER_SIZE_* enum value
    display_name: str | None = None
    description: str | None = None
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, value in self.labels.items():
            if not _LABEL.match(key) or not _LABEL_VALUE.match(value):
                raise UsageError(f"invalid Vertex label {key}={value!r} (lowercase letters, digits, _ and -)")
        if self.display_name is not None and len(self.display_name) > MAX_DISPLAY_NAME:
            raise UsageError(f"tuned model display name is longer than {MAX_DISPLAY_NAME} characters")

    def _hyperparameters(self) -> dict[str, Any]:
        hyper: dict[str, Any] = {}
        if self.epochs is not None:
            hyper["epochCount"] = str(self.epochs)  # int64: a JSON string in Vertex's REST form
        if self.learning_rate_multiplier is not None:
            hyper["learningRateMultiplier"] = self.learning_rate_multiplier
        if self.adapter_size is not None:
            hyper["adapterSize"] = self.adapter_size
        return hyper

    def rest_body(self) -> dict[str, Any]:
        """The ``TuningJob`` body of ``POST .../tuningJobs`` (the aiplatform v1 schema's field names)."""
        spec: dict[str, Any] = {"trainingDatasetUri": self.training_uri}
        if self.validation_uri:
            spec["validationDatasetUri"] = self.validation_uri
        hyper = self._hyperparameters()
        if hyper:
            spec["hyperParameters"] = hyper
        body: dict[str, Any] = {"baseModel": self.base_model, "supervisedTuningSpec": spec}
        if self.display_name:
            body["tunedModelDisplayName"] = self.display_name
        if self.description:
            body["description"] = self.description
        if self.labels:
            body["labels"] = dict(self.labels)
        return body

    def sdk_arguments(self) -> dict[str, Any]:
        """Keyword arguments for ``client.tunings.tune`` (google-genai, imported lazily)."""
        from google.genai import types

        validation = types.TuningValidationDataset(gcs_uri=self.validation_uri) if self.validation_uri else None
        config = types.CreateTuningJobConfig(
            validation_dataset=validation,
            epoch_count=self.epochs,
            learning_rate_multiplier=self.learning_rate_multiplier,
            adapter_size=types.AdapterSize(self.adapter_size) if self.adapter_size else None,
            tuned_model_display_name=self.display_name,
            description=self.description,
            labels=dict(self.labels) or None,
        )
        return {
            "base_model": self.base_model,
            "training_dataset": types.TuningDataset(gcs_uri=self.training_uri),
            "config": config,
        }
