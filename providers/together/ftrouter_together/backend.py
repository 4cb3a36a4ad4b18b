"""The Together AI fine-tuning backend.

prepare: see ``prepare.py``. submit: upload the files (POST /files/upload, purpose ``fine-tune``), ask
Together's price estimate (POST /fine-tunes/estimate-price; the create is not sent when the account may
not proceed), create the job (POST /fine-tunes) with the local id in its suffix, at most once. Then
refresh (one read of the job, which carries its events, plus checkpoints and metrics once training
started), status, events, cancel, and find-by-local-id for crash reconciliation. Pause and resume: Together has neither.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from ftrouter.backends import Backend
from ftrouter.errors import BadResponse, FtrouterError, NotFound, QuotaError, UsageError
from ftrouter.http import RetryPolicy, call_with_retries, create_once
from ftrouter.jobs.models import JobEvent, JobSpec, JobStatus, PreparedJob, Refresh, RemoteRef
from ftrouter.redact import register_secret
from ftrouter_together import prepare as preparing
from ftrouter_together.client import UPLOAD_TIMEOUT, api_key, json_of, make_client, translate
from ftrouter_together.limits import check_limits
from ftrouter_together.requests import create_body, estimate_body, wandb_key
from ftrouter_together.states import HAS_TRAINING_DATA, event_id, job_status, to_event

log = logging.getLogger("ftrouter.together")


def _events_after(raw: list[dict[str, Any]], after: str | None) -> list[JobEvent]:
    """The events after the one with id ``after`` (all of them when it is None or unknown), oldest first."""
    ids = [event_id(event) for event in raw]
    start = ids.index(after) + 1 if after in ids else 0
    return [to_event(event) for event in raw[start:]]


def _carries(name: str, local_id: str) -> bool:
    """Whether a suffix or output model name holds ``local_id`` as a whole dash/slash-separated part."""
    return re.search(rf"(^|[-/:_]){re.escape(local_id)}($|[-/:_])", name) is not None
T = TypeVar("T")
ESTIMATE_SOURCE = "POST /fine-tunes/estimate-price"


class TogetherBackend(Backend):
    name: ClassVar[str] = "together"
    confirms_creates: ClassVar[bool] = True  # the create goes through ftrouter.http.create_once

    def __init__(self, *, api_key: str | None = None, base_url: str | None = None, transport: Any = None,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self._api_key = api_key
        self._base_url = base_url
        self._transport = transport
        self._client: Any = None
        self.retry = retry or RetryPolicy(sleep=sleep)

    # -- plumbing --------------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The httpx client, built on first use: prepare and --dry-run never need a key."""
        if self._client is None:
            self._api_key = api_key(self._api_key)
            register_secret(self._api_key)
            self._client = make_client(self._api_key, url=self._base_url, transport=self._transport)
        return self._client

    def _translate(self, what: str) -> Callable[[Exception], FtrouterError]:
        secrets = (self._api_key or "",)
        return lambda exc: translate(exc, what=what, secrets=secrets)

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        return call_with_retries(fn, self.retry, what=what, translate=self._translate(what))

    def _get(self, what: str, path: str) -> dict[str, Any]:
        client = self.client
        return self._call(what, lambda: json_of(client.get(path), what))

    def _post(self, what: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        client = self.client
        return self._call(what, lambda: json_of(client.post(path, json=body), what))

    # -- the contract ----------------------------------------------------------------------------

    def prepare(self, spec: JobSpec, local_id: str) -> PreparedJob:
        return preparing.prepare(spec, local_id)

    def submit(self, prepared: PreparedJob) -> RemoteRef:
        if "train" not in prepared.files:
            raise UsageError("the prepared job has no training file", code="not_prepared")
        check_limits(self.model_limits(prepared.spec.model), prepared.spec)  # before anything is uploaded
        uploaded = {role: self._upload(Path(path)) for role, path in prepared.files.items() if role in ("train", "val")}
        estimate = self._estimate(prepared.spec, uploaded["train"], uploaded.get("val"))
        key = wandb_key()
        if key:
            register_secret(key)
        body = create_body(prepared.spec, prepared.local_id, uploaded["train"], uploaded.get("val"), wandb_key=key)
        remote_id = self._create(body, prepared.local_id)
        extra: dict[str, Any] = {"training_file": uploaded["train"], "estimate": estimate,
                                 "estimate_source": ESTIMATE_SOURCE}
        if "val" in uploaded:
            extra["validation_file"] = uploaded["val"]
        return RemoteRef(backend=self.name, remote_id=remote_id, local_id=prepared.local_id, extra=extra)

    def model_limits(self, model: str) -> dict[str, Any]:
        """Together's fine-tuning limits for ``model``; a model it does not fine-tune is a usage error."""
        client, what = self.client, f"reading Together's limits for {model}"
        try:
            return self._call(what, lambda: json_of(client.get("fine-tunes/models/limits",
                                                                params={"model_name": model}), what))
        except NotFound:
            raise UsageError(f"Together does not fine-tune {model} (GET /fine-tunes/models/limits answered 404)",
                             code="model_not_tunable") from None

    def status(self, ref: RemoteRef) -> JobStatus:
        return self.refresh(ref).status

    def events(self, ref: RemoteRef, after: str | None = None) -> list[JobEvent]:
        """Events newer than ``after`` (all when None), oldest first (Together returns them all at once)."""
        raw = list(self._get("reading the job's events", f"fine-tunes/{ref.remote_id}/events").get("data") or [])
        return _events_after(raw, after)

    def refresh(self, ref: RemoteRef, after: str | None = None) -> Refresh:
        """One read of the job (GET /fine-tunes/{id} carries its events, so no separate events request),
        plus its checkpoints and metrics once training began."""
        job = self._get("reading the job", f"fine-tunes/{ref.remote_id}")
        checkpoints = metrics = None
        if job.get("status") in HAS_TRAINING_DATA:
            checkpoints = self._get("reading the job's checkpoints", f"fine-tunes/{ref.remote_id}/checkpoints")
            metrics = self._get("reading the job's metrics", f"fine-tunes/{ref.remote_id}/metrics")
        status = job_status(job, checkpoints=list((checkpoints or {}).get("data") or []),
                            metrics=list((metrics or {}).get("metrics") or []))
        return Refresh(status=status, events=_events_after(list(job.get("events") or []), after))

    def cancel(self, ref: RemoteRef) -> JobStatus:
        return job_status(self._post("cancelling the job", f"fine-tunes/{ref.remote_id}/cancel"))

    def find_by_local_id(self, local_id: str) -> RemoteRef | None:
        """The job whose suffix (or output model name) carries ``local_id``, if Together lists one."""
        jobs = self._get("looking up the job by its ftrouter id", "fine-tunes").get("data") or []
        for job in jobs:
            names = (str(job.get("suffix") or ""), str(job.get("model_output_name") or ""))
            if any(_carries(name, local_id) for name in names):
                if not isinstance(job.get("id"), str) or not job["id"]:
                    raise BadResponse(f"Together listed the job for {local_id} without a job id")
                return RemoteRef(backend=self.name, remote_id=job["id"], local_id=local_id,
                                 extra={"training_file": job.get("training_file")})
        return None

    # -- submit steps ----------------------------------------------------------------------------

    def _upload(self, path: Path) -> str:
        client = self.client
        what = f"uploading {path.name}"

        def send() -> dict[str, Any]:
            with path.open("rb") as handle:
                response = client.post("files/upload", timeout=UPLOAD_TIMEOUT,
                                       data={"purpose": "fine-tune", "file_name": path.name, "file_type": "jsonl"},
                                       files={"file": (path.name, handle, "application/octet-stream")})
            return json_of(response, what)

        uploaded = self._call(what, send)
        if not isinstance(uploaded.get("id"), str) or not uploaded["id"]:
            raise BadResponse(f"{what}: Together answered without a file id", path=path)
        log.info("uploaded %s as %s", path.name, uploaded["id"])
        return str(uploaded["id"])

    def _estimate(self, spec: JobSpec, train: str, val: str | None) -> dict[str, Any]:
        """Together's own estimate; an account that may not proceed stops here, before anything is created."""
        answer = self._post("estimating the price", "fine-tunes/estimate-price", estimate_body(spec, train, val))
        if answer.get("allowed_to_proceed") is False:
            raise QuotaError(f"Together estimates this job at ${answer.get('estimated_total_price')} and says the "
                             f"account may not proceed (its limit: ${answer.get('user_limit')}); add credit or "
                             "raise the limit, then submit again", code="quota_exceeded")
        keys = ("estimated_total_price", "estimated_train_token_count", "estimated_eval_token_count", "user_limit")
        return {k: answer[k] for k in keys if k in answer}

    def _create(self, body: dict[str, Any], local_id: str) -> str:
        """Create the job at most once (``ftrouter.http.create_once``): when an attempt's outcome is
        unknown, the job is looked up by the local id in its suffix before anything is re-sent."""
        client = self.client
        what = "creating the fine-tuning job"

        def create() -> str:
            job = json_of(client.post("fine-tunes", json=body), what)
            if not isinstance(job.get("id"), str) or not job["id"]:
                raise BadResponse(f"{what}: Together answered without a job id")
            return str(job["id"])

        def find_existing() -> str | None:
            ref = self.find_by_local_id(local_id)
            return ref.remote_id if ref is not None else None

        sent = {k: v for k, v in body.items() if k != "wandb_api_key"}
        remote_id = create_once(create, find_existing, self.retry, what=what, translate=self._translate(what),
                                sent=sent)
        log.info("created Together job %s for %s", remote_id, local_id)
        return remote_id
