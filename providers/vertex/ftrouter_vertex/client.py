"""The remote side: Cloud Storage uploads and Vertex tuning-job calls. Each attempt translates Google's
exceptions into ftrouter's errors at once; the attempts run under ftrouter's one retry layer
(``ftrouter.http``), which retries the transient ones (``RateLimited`` honouring Retry-After,
``ProviderUnavailable``). google-genai and google-cloud-storage retry nothing on their own.

Vertex calls go through google-genai's maintained tuning API (``client.tunings.tune/get/list/cancel``
with ``vertexai=True``), NOT the deprecated ``vertexai.tuning`` module. google-genai 2.x speaks httpx
and google-cloud-storage speaks requests; tests replace either with an injected transport or replay
both from one vcrpy cassette.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ftrouter.errors import BadResponse, FtrouterError
from ftrouter.http import RetryPolicy, call_with_retries, create_once
from ftrouter.redact import register_secret
from ftrouter_vertex.auth import load_credentials
from ftrouter_vertex.errors import MissingProject, translate_storage, translate_vertex
from ftrouter_vertex.request import API_VERSION, TuningRequest

T = TypeVar("T")

MAX_LIST_PAGES = 50
HOW_TO_SET_PROJECT = (
    "set the Google Cloud project with --option project=PROJECT_ID, GOOGLE_CLOUD_PROJECT, "
    "or 'project:' in the Vertex config file"
)


@contextmanager
def _quiet_sdk() -> Iterator[None]:
    """google-genai warns that tuning is 'experimental' on every call and warns again for any state
    value it does not know; ftrouter reports both its own way (the raw state is kept)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tuning implementation is experimental.*")
        warnings.filterwarnings("ignore", message=".*is not a valid JobState.*")
        yield


def job_json(job: Any) -> dict[str, Any]:
    """A google-genai ``TuningJob`` back in its REST form (camelCase), which ``jobview`` reads."""
    data: dict[str, Any] = job.model_dump(mode="json", by_alias=True, exclude_none=True,
                                          exclude={"sdk_http_response"})
    return data


class VertexClient:
    """One project and region. Credentials are resolved on first use, never at construction."""

    def __init__(
        self,
        *,
        project: str | None,
        region: str,
        credentials: Any = None,
        credentials_file: str | None = None,
        httpx_client: Any = None,
        storage_http: Any = None,
        retry: RetryPolicy | None = None,
        timeout_s: float = 120.0,
    ) -> None:
        self.region = region
        self._project = project
        self._credentials = credentials
        self._credentials_file = credentials_file
        self._httpx_client = httpx_client
        self._storage_http = storage_http
        self.retry = retry or RetryPolicy()
        self.timeout_s = timeout_s
        self._genai: Any = None
        self._storage: Any = None
        # `ftrouter jobs` refreshes jobs from a thread pool: credentials and clients are made once.
        self._lock = threading.RLock()

    # -- credentials and project ------------------------------------------------------------------

    def _resolve(self) -> None:
        with self._lock:
            if self._credentials is None:
                self._credentials, adc_project = load_credentials(self._credentials_file)
                self._project = self._project or adc_project
        if not self._project:
            raise MissingProject(f"no Google Cloud project: {HOW_TO_SET_PROJECT}")

    @property
    def project(self) -> str:
        self._resolve()
        assert self._project is not None
        return self._project

    def genai(self) -> Any:
        """The google-genai client (for calls other than tuning: ``ftrouter eval``'s generateContent)."""
        return self._vertex()

    def _vertex(self) -> Any:
        with self._lock:
            if self._genai is None:
                self._genai = self._make_vertex()
            return self._genai

    def _make_vertex(self) -> Any:
        self._resolve()
        from google import genai
        from google.genai import types

        options = types.HttpOptions(api_version=API_VERSION, timeout=int(self.timeout_s * 1000),
                                    httpx_client=self._httpx_client)
        return genai.Client(vertexai=True, project=self._project, location=self.region,
                            credentials=self._credentials, http_options=options)

    def _gcs(self) -> Any:
        with self._lock:
            if self._storage is None:
                self._storage = self._make_gcs()
            return self._storage

    def _make_gcs(self) -> Any:
        self._resolve()
        from google.cloud import storage

        client = storage.Client(project=self._project, credentials=self._credentials, _http=self._storage_http)
        # google-cloud-storage 3.x starts a background thread per bucket to GET its metadata for tracing
        # attributes (unless DISABLE_GCS_PYTHON_CLIENT_OTEL_BUCKET_METADATA is set). We do not trace; the
        # extra request would only cost a call (and it raced with the cassette layer in tests).
        if getattr(client, "_bucket_metadata_cache", None) is not None:
            client._bucket_metadata_cache = None
        return client

    # -- calls ------------------------------------------------------------------------------------

    def _translate(self, action: str, base_model: str | None = None) -> Callable[[Exception], FtrouterError]:
        def translate(exc: Exception) -> FtrouterError:
            self._register_secrets()
            return translate_vertex(exc, action=action, region=self.region, base_model=base_model)

        return translate

    def _register_secrets(self) -> None:
        """The credentials' secrets (the access token once google-auth has one, an authorized user's
        refresh token and client secret) are redacted from every message from now on."""
        for attribute in ("token", "refresh_token", "client_secret"):
            value = getattr(self._credentials, attribute, None)
            register_secret(value if isinstance(value, str) else None)

    def _vertex_call(self, action: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` with retries; every attempt's Google or transport exception leaves it as an ftrouter error."""
        with _quiet_sdk():
            return call_with_retries(fn, self.retry, what=f"Vertex AI: {action}", translate=self._translate(action))

    def upload(self, local_path: Path, bucket: str, object_name: str) -> str:
        """Upload one file; returns its ``gs://`` URI."""
        action = f"upload {local_path.name}"

        def attempt() -> None:
            blob = self._gcs().bucket(bucket).blob(object_name)
            # retry=None: the library's own retry would sleep outside our policy.
            blob.upload_from_filename(str(local_path), content_type="application/jsonl", retry=None,
                                      timeout=self.timeout_s)

        def translate(exc: Exception) -> FtrouterError:
            self._register_secrets()
            return translate_storage(exc, action=action, bucket=bucket)

        call_with_retries(attempt, self.retry, what=f"Cloud Storage: {action}", translate=translate)
        return f"gs://{bucket}/{object_name}"

    def create_job(self, request: TuningRequest, find_existing: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
        """Create the tuning job at most once (``ftrouter.http.create_once``): when an attempt's outcome
        is unknown, ``find_existing`` looks the job up by its label after the backoff wait, before
        anything is re-sent; when that lookup fails too, the create is not sent again."""
        action = "create the tuning job"

        def create() -> dict[str, Any]:
            job = job_json(self._vertex().tunings.tune(**request.sdk_arguments()))
            if not job.get("name"):
                raise BadResponse(f"Vertex AI: {action}: the answer has no job name")
            return job

        with _quiet_sdk():
            return create_once(create, find_existing, self.retry, what=f"Vertex AI: {action}",
                               translate=self._translate(action, request.base_model),
                               sent=request.rest_body())

    def get_job(self, name: str) -> dict[str, Any]:
        return self._vertex_call("get the tuning job", lambda: job_json(self._vertex().tunings.get(name=name)))

    def list_jobs(self, filter_expr: str) -> list[dict[str, Any]]:
        def fetch() -> list[dict[str, Any]]:
            from google.genai import types

            config = types.ListTuningJobsConfig(filter=filter_expr, page_size=100)
            pager = self._vertex().tunings.list(config=config)
            jobs: list[dict[str, Any]] = []
            for _page in range(MAX_LIST_PAGES):
                jobs.extend(job_json(job) for job in pager.page)
                if not pager.config.get("page_token"):
                    break
                pager.next_page()
            return jobs

        return self._vertex_call("list tuning jobs", fetch)

    def cancel_job(self, name: str) -> None:
        self._vertex_call("cancel the tuning job", lambda: self._vertex().tunings.cancel(name=name))
