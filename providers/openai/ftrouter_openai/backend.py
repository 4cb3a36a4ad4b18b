"""The OpenAI fine-tuning backend.

prepare: validate for OpenAI (data engine), convert to chat / preference JSONL, estimate (cost engine),
plan the requests. submit: upload the files (purpose ``fine-tune``), wait until processed, create the
job with ``method``, ``suffix``, ``seed`` and ``metadata.ftrouter_local_id``. Then status (with the
newest metrics event and checkpoints), events, cancel, pause, resume, and find-by-local-id for
crash reconciliation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from ftrouter.backends import Backend
from ftrouter.catalog import find_model
from ftrouter.errors import BadResponse, DataError, FtrouterError, ProviderUnavailable, UsageError
from ftrouter.http import RetryPolicy, call_with_retries, create_once
from ftrouter.jobs.models import JobEvent, JobSpec, JobStatus, PreparedJob, RemoteRef
from ftrouter.redact import register_secret
from ftrouter_openai import prepare as preparing
from ftrouter_openai.client import UPLOAD_TIMEOUT_S, api_key, make_client
from ftrouter_openai.errors import translate
from ftrouter_openai.requests import LOCAL_ID_KEY, create_body
from ftrouter_openai.states import HAS_TRAINING_DATA, job_status, to_event

log = logging.getLogger("ftrouter.openai")
T = TypeVar("T")

EVENT_PAGE = 100
MAX_EVENT_PAGES = 50
STATUS_EVENTS = 20  # newest events read by `status` to find the latest metrics
STATUS_CHECKPOINTS = 10


class OpenAIBackend(Backend):
    name: ClassVar[str] = "openai"
    confirms_creates: ClassVar[bool] = True  # the create goes through ftrouter.http.create_once

    def __init__(self, *, api_key: str | None = None, client: Any = None, http_client: Any = None,
                 base_url: str | None = None, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, file_poll_s: float = 2.0,
                 file_wait_s: float = 1800.0) -> None:
        self._api_key = api_key
        self._client = client
        self._http_client = http_client
        self._base_url = base_url
        self.sleep = sleep
        self.retry = retry or RetryPolicy(sleep=sleep)
        self.file_poll_s = file_poll_s
        self.file_wait_s = file_wait_s

    # -- plumbing --------------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The SDK client, built on first use: prepare and --dry-run never need a key."""
        if self._client is None:
            self._api_key = api_key(self._api_key)
            register_secret(self._api_key)
            self._client = make_client(self._api_key, http_client=self._http_client, base_url=self._base_url)
        return self._client

    def _translate(self, what: str) -> Callable[[Exception], FtrouterError]:
        secrets = (self._api_key or "",)
        return lambda exc: translate(exc, what=what, secrets=secrets)

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one SDK call with ftrouter's retries; SDK exceptions leave as ftrouter errors."""
        return call_with_retries(fn, self.retry, what=what, translate=self._translate(what))

    # -- the contract ----------------------------------------------------------------------------

    def prepare(self, spec: JobSpec, local_id: str) -> PreparedJob:
        return preparing.prepare(spec, local_id)

    def submit(self, prepared: PreparedJob) -> RemoteRef:
        if "train" not in prepared.files:
            raise UsageError("the prepared job has no training file", code="not_prepared")
        uploaded = {role: self._upload(Path(path)) for role, path in prepared.files.items() if role in ("train", "val")}
        body = create_body(prepared.spec, prepared.local_id, uploaded["train"], uploaded.get("val"))
        remote_id = self._create(body, prepared.local_id)
        extra = {"training_file": uploaded["train"], **({"validation_file": uploaded["val"]} if "val" in uploaded
                                                        else {})}
        return RemoteRef(backend=self.name, remote_id=remote_id, local_id=prepared.local_id, extra=extra)

    def status(self, ref: RemoteRef) -> JobStatus:
        jobs = self.client.fine_tuning.jobs
        job = self._call("reading the job", lambda: jobs.retrieve(ref.remote_id).to_dict())
        events = checkpoints = None
        if job.get("status") in HAS_TRAINING_DATA:
            events = self._call("reading the job's events", lambda: [
                e.to_dict() for e in jobs.list_events(ref.remote_id, limit=STATUS_EVENTS).data])
            checkpoints = self._call("reading the job's checkpoints", lambda: [
                c.to_dict() for c in jobs.checkpoints.list(ref.remote_id, limit=STATUS_CHECKPOINTS).data])
        return job_status(job, events=events, checkpoints=checkpoints, training_usd_per_1m=_price(job.get("model")))

    def events(self, ref: RemoteRef, after: str | None = None) -> list[JobEvent]:
        """Events newer than ``after`` (all when None), oldest first. OpenAI pages newest first, so
        read pages until the known event (or the beginning) is reached."""
        jobs = self.client.fine_tuning.jobs
        collected: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(MAX_EVENT_PAGES):
            kwargs: dict[str, Any] = {"limit": EVENT_PAGE, **({"after": cursor} if cursor else {})}

            def read_page(kw: dict[str, Any] = kwargs) -> Any:
                return jobs.list_events(ref.remote_id, **kw)

            page = self._call("reading the job's events", read_page)
            batch = [event.to_dict() for event in page.data]
            known = next((i for i, event in enumerate(batch) if event.get("id") == after), None)
            collected.extend(batch if known is None else batch[:known])
            if known is not None or not page.has_more or not batch:
                break
            cursor = batch[-1]["id"]
        return [to_event(event) for event in reversed(collected)]

    def cancel(self, ref: RemoteRef) -> JobStatus:
        jobs = self.client.fine_tuning.jobs
        return self._job_action("cancelling the job", lambda: jobs.cancel(ref.remote_id).to_dict())

    def pause(self, ref: RemoteRef) -> JobStatus:
        jobs = self.client.fine_tuning.jobs
        return self._job_action("pausing the job", lambda: jobs.pause(ref.remote_id).to_dict())

    def resume(self, ref: RemoteRef) -> JobStatus:
        jobs = self.client.fine_tuning.jobs
        return self._job_action("resuming the job", lambda: jobs.resume(ref.remote_id).to_dict())

    def _job_action(self, what: str, fn: Callable[[], dict[str, Any]]) -> JobStatus:
        job = self._call(what, fn)
        return job_status(job, training_usd_per_1m=_price(job.get("model")))

    def find_by_local_id(self, local_id: str) -> RemoteRef | None:
        """The job created for ``local_id`` (by its ``metadata``), if OpenAI has one."""
        jobs = self.client.fine_tuning.jobs
        found = self._call("looking up the job by its ftrouter id", lambda: [
            job.to_dict() for job in jobs.list(metadata={LOCAL_ID_KEY: local_id}, limit=20).data])
        for job in found:  # filter again: a server that ignores the metadata filter returns every job
            if (job.get("metadata") or {}).get(LOCAL_ID_KEY) == local_id:
                if not isinstance(job.get("id"), str) or not job["id"]:
                    raise BadResponse(f"OpenAI listed the job for {local_id} without a job id")
                return RemoteRef(backend=self.name, remote_id=job["id"], local_id=local_id,
                                 extra={"training_file": job.get("training_file")})
        return None

    # -- submit steps ----------------------------------------------------------------------------

    def _upload(self, path: Path) -> str:
        files = self.client.files

        def send() -> dict[str, Any]:
            with path.open("rb") as handle:
                return dict(files.create(file=(path.name, handle), purpose="fine-tune",
                                         timeout=UPLOAD_TIMEOUT_S).to_dict())

        uploaded = self._call(f"uploading {path.name}", send)
        if not isinstance(uploaded.get("id"), str) or not uploaded["id"]:
            raise BadResponse(f"uploading {path.name}: OpenAI answered without a file id", path=path)
        log.info("uploaded %s as %s", path.name, uploaded["id"])
        return self._wait_processed(uploaded, path)

    def _wait_processed(self, uploaded: dict[str, Any], path: Path) -> str:
        """Poll the file until OpenAI has processed it (its ``status`` is deprecated but still sent)."""
        file_id = str(uploaded["id"])
        files = self.client.files
        waited = 0.0
        while uploaded.get("status") == "uploaded":
            if waited >= self.file_wait_s:
                raise ProviderUnavailable(f"OpenAI had not processed {path.name} ({file_id}) after {waited:.0f}s",
                                          code="file_not_processed")
            self.sleep(self.file_poll_s)
            waited += self.file_poll_s
            uploaded = self._call(f"checking {path.name}", lambda: files.retrieve(file_id).to_dict())
        if uploaded.get("status") == "error":
            detail = uploaded.get("status_details") or "no details given"
            raise DataError(f"OpenAI could not process the file ({file_id}): {detail}", path=path,
                            code="file_rejected")
        return file_id

    def _create(self, body: dict[str, Any], local_id: str) -> str:
        """Create the job at most once (``ftrouter.http.create_once``): when an attempt's outcome is
        unknown, the job is looked up by its ``metadata.ftrouter_local_id`` before anything is re-sent."""
        jobs = self.client.fine_tuning.jobs
        what = "creating the fine-tuning job"

        def create() -> str:
            job_id = getattr(jobs.create(**body), "id", None)
            if not isinstance(job_id, str) or not job_id:
                raise BadResponse(f"{what}: OpenAI answered without a job id")
            return job_id

        def find_existing() -> str | None:
            ref = self.find_by_local_id(local_id)
            return ref.remote_id if ref is not None else None

        remote_id = create_once(create, find_existing, self.retry, what=what, translate=self._translate(what),
                                sent=body)
        log.info("created OpenAI job %s for %s", remote_id, local_id)
        return remote_id


def _price(model: Any) -> float | None:
    row = find_model(str(model)) if model else None
    return row.training_usd_per_1m if row is not None else None
