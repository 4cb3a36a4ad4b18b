"""``VertexBackend``: supervised tuning of Gemini models on Vertex AI behind ftrouter's Backend contract."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from ftrouter.backends import Backend
from ftrouter.http import RetryPolicy
from ftrouter.jobs.models import JobEvent, JobSpec, JobStatus, PreparedJob, Refresh, RemoteRef
from ftrouter.jobs.paths import job_dir
from ftrouter_vertex.client import VertexClient
from ftrouter_vertex.errors import MissingBucket
from ftrouter_vertex.jobview import events_after, parse_job, to_events, to_status
from ftrouter_vertex.prepare import build_request, prepare_job
from ftrouter_vertex.request import LABEL_KEY, label_filter, label_value
from ftrouter_vertex.settings import VertexSettings, resolve_settings

TARGET_FILE = "vertex-target.json"  # in the job folder: where the job was sent, for reconciliation


class VertexBackend(Backend):
    """Gemini supervised tuning on Vertex AI.

    Every keyword is for tests and embedding: ``credentials`` (a google-auth credentials object, e.g.
    ``google.oauth2.credentials.Credentials(token=...)``), ``httpx_client`` (Vertex traffic),
    ``storage_http`` (a requests session for Cloud Storage), ``retry`` (an ``ftrouter.http.RetryPolicy``,
    e.g. with an injected sleep), ``env`` and ``config_file`` (instead of the process environment and
    ``vertex.yaml``).
    """

    name: ClassVar[str] = "vertex"
    confirms_creates: ClassVar[bool] = True  # the create goes through ftrouter.http.create_once

    def __init__(
        self,
        *,
        credentials: Any = None,
        httpx_client: Any = None,
        storage_http: Any = None,
        retry: RetryPolicy | None = None,
        env: Mapping[str, str] | None = None,
        config_file: Path | None = None,
        timeout_s: float = 120.0,
    ) -> None:
        self._credentials = credentials
        self._httpx_client = httpx_client
        self._storage_http = storage_http
        self._retry = retry or RetryPolicy()
        self._env = env
        self._config_file = config_file
        self._timeout_s = timeout_s
        self._clients: dict[tuple[str | None, str, str | None], VertexClient] = {}
        self._lock = threading.Lock()

    # -- plumbing ---------------------------------------------------------------------------------

    def settings(self, options: Mapping[str, Any] | None = None) -> VertexSettings:
        return resolve_settings(options or {}, env=self._env if self._env is not None else os.environ,
                                config_file=self._config_file)

    def client(self, project: str | None, region: str, credentials_file: str | None = None) -> VertexClient:
        key = (project, region, credentials_file)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = VertexClient(
                    project=project, region=region, credentials=self._credentials, credentials_file=credentials_file,
                    httpx_client=self._httpx_client, storage_http=self._storage_http, retry=self._retry,
                    timeout_s=self._timeout_s,
                )
            return self._clients[key]

    def _client_for(self, ref: RemoteRef) -> VertexClient:
        extra = ref.extra
        return self.client(extra.get("project"), extra.get("region") or self.settings().region,
                           extra.get("credentials_file"))

    @staticmethod
    def _job_name(ref: RemoteRef) -> str:
        name = ref.extra.get("name")
        if name:
            return str(name)
        return f"projects/{ref.extra['project']}/locations/{ref.extra['region']}/tuningJobs/{ref.remote_id}"

    @staticmethod
    def _ref(job: Mapping[str, Any], local_id: str, client: VertexClient, credentials_file: str | None) -> RemoteRef:
        view = parse_job(job)
        extra: dict[str, Any] = {"name": view.name, "project": client.project, "region": client.region}
        if credentials_file:
            extra["credentials_file"] = credentials_file
        return RemoteRef(backend="vertex", remote_id=view.job_id, local_id=local_id, extra=extra)

    # -- the contract -----------------------------------------------------------------------------

    def prepare(self, spec: JobSpec, local_id: str) -> PreparedJob:
        return prepare_job(spec, local_id, self.settings(spec.options))

    def submit(self, prepared: PreparedJob) -> RemoteRef:
        spec, local_id = prepared.spec, prepared.local_id
        settings = self.settings(spec.options)
        if settings.bucket is None:
            raise MissingBucket("no staging bucket for the tuning data: pass --option bucket=gs://BUCKET "
                                "or set 'bucket:' in the Vertex config file")
        client = self.client(settings.project, settings.region, settings.credentials_file)
        project = client.project  # credentials and project are checked before anything is uploaded
        _write_target(local_id, project, settings)
        uris = {role: client.upload(Path(path), settings.bucket, settings.object_name(local_id, role))
                for role, path in sorted(prepared.files.items(), key=lambda item: item[0] != "train")}
        request = build_request(spec, settings, local_id, uris)
        job = client.create_job(request, find_existing=lambda: _find_job(client, local_id))
        return self._ref(job, local_id, client, settings.credentials_file)

    def status(self, ref: RemoteRef) -> JobStatus:
        return self.refresh(ref).status

    def events(self, ref: RemoteRef, after: str | None = None) -> list[JobEvent]:
        job = parse_job(self._client_for(ref).get_job(self._job_name(ref)))
        return events_after(to_events(job), after)

    def refresh(self, ref: RemoteRef, after: str | None = None) -> Refresh:
        """The status and the events come from the same tuning job resource: one GET for both."""
        job = parse_job(self._client_for(ref).get_job(self._job_name(ref)))
        return Refresh(status=_with_cost(to_status(job), job.base_model), events=events_after(to_events(job), after))

    def cancel(self, ref: RemoteRef) -> JobStatus:
        client = self._client_for(ref)
        client.cancel_job(self._job_name(ref))
        return self.status(ref)

    def find_by_local_id(self, local_id: str) -> RemoteRef | None:
        """The remote job labelled with ``local_id``, looked up where the submit sent it (the job folder
        remembers the project and region; without it, the current settings are used)."""
        target = _read_target(local_id)
        if target is None:
            settings = self.settings()
            target = (settings.project, settings.region, settings.credentials_file)
        project, region, credentials_file = target
        return self.find_by_local_id_in(local_id, project=project, region=region, credentials_file=credentials_file)

    def find_by_local_id_in(self, local_id: str, *, project: str | None, region: str,
                            credentials_file: str | None = None) -> RemoteRef | None:
        client = self.client(project, region, credentials_file)
        job = _find_job(client, local_id)
        return self._ref(job, local_id, client, credentials_file) if job is not None else None


# -- helpers ---------------------------------------------------------------------------------------


def _with_cost(status: JobStatus, base_model: str | None) -> JobStatus:
    """What the trained tokens cost at the catalog's training price for the base model (when both are known)."""
    from ftrouter.catalog import find_model

    entry = find_model(base_model) if base_model else None
    if status.trained_tokens is not None and entry is not None and entry.training_usd_per_1m is not None:
        status.runtime["cost_usd"] = round(status.trained_tokens / 1_000_000 * entry.training_usd_per_1m, 6)
        status.runtime["price_as_of"] = entry.as_of.isoformat()
    return status


def _find_job(client: VertexClient, local_id: str) -> dict[str, Any] | None:
    """The job carrying our label (checked again here, in case the server ignored the filter)."""
    wanted = label_value(local_id)
    matches = [job for job in client.list_jobs(label_filter(local_id))
               if (job.get("labels") or {}).get(LABEL_KEY) == wanted]
    if not matches:
        return None
    return min(matches, key=lambda job: str(job.get("createTime", "")))


def _write_target(local_id: str, project: str, settings: VertexSettings) -> None:
    target = {"project": project, "region": settings.region, "credentials_file": settings.credentials_file}
    path = job_dir(local_id) / TARGET_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(target), encoding="utf-8")
    tmp.replace(path)


def _read_target(local_id: str) -> tuple[str | None, str, str | None] | None:
    path = job_dir(local_id, create=False) / TARGET_FILE
    try:
        target = json.loads(path.read_text(encoding="utf-8"))
        return target.get("project"), str(target["region"]), target.get("credentials_file")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
