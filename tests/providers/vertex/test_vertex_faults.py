"""Faults that are hard to record, injected through google-genai's httpx client and a requests session
for Cloud Storage: 429/503 then success, Retry-After (and one over the cap), connection drops, 401/403,
quota, a create whose answer was lost. Retries are ftrouter's own layer (``ftrouter.http``); its sleep is
recorded, never slept."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import requests
from ftrouter_vertex import VertexBackend
from google.auth.transport.requests import AuthorizedSession
from google.oauth2.credentials import Credentials

from ftrouter.errors import (
    EXIT_AUTH,
    EXIT_INVALID,
    EXIT_PROVIDER,
    AuthError,
    BadResponse,
    Conflict,
    InvalidRequest,
    ProviderUnavailable,
    QuotaError,
    RateLimited,
    SubmitUnconfirmed,
)
from ftrouter.http import RetryPolicy
from ftrouter.jobs.models import JobState, RemoteRef

from .conftest import TEST_TOKEN

NAME = "projects/123456789012/locations/us-central1/tuningJobs/42"
REF = RemoteRef(backend="vertex", remote_id="42", local_id="ftr-f4u1t5",
                extra={"name": NAME, "project": "ftrouter-test", "region": "us-central1"})
RUNNING = {"name": NAME, "state": "JOB_STATE_RUNNING", "createTime": "2026-11-21T09:00:00Z",
           "labels": {"ftrouter_job_id": "ftr-f4u1t5"}}

Handler = Callable[[httpx.Request], httpx.Response]


def google_error(code: int, status: str, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(code, json={"error": {"code": code, "status": status, "message": message}},
                          headers=headers)


class Script:
    """Answers requests from a list, in order, and remembers them."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def backend_with(make_backend: Any, handler: Handler, **kwargs: Any) -> VertexBackend:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return make_backend(httpx_client=client, **kwargs)  # type: ignore[no-any-return]


def test_429_then_503_then_success(make_backend: Any, sleeps: Any) -> None:
    script = Script(google_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted, please slow down."),
                    google_error(503, "UNAVAILABLE", "The service is currently unavailable."),
                    httpx.Response(200, json=RUNNING))
    status = backend_with(make_backend, script).status(REF)
    assert status.state is JobState.RUNNING
    assert len(script.requests) == 3
    assert len(sleeps.waits) == 2 and all(0 < w <= 30 for w in sleeps.waits)
    assert script.requests[-1].headers["authorization"] == f"Bearer {TEST_TOKEN}"


def test_retry_after_is_honoured(make_backend: Any, sleeps: Any) -> None:
    script = Script(google_error(429, "RESOURCE_EXHAUSTED", "Too many requests.", {"Retry-After": "7"}),
                    google_error(429, "RESOURCE_EXHAUSTED", "Too many requests.", {"Retry-After": "120"}),
                    httpx.Response(200, json=RUNNING))
    assert backend_with(make_backend, script).status(REF).state is JobState.RUNNING
    assert sleeps.waits == [7.0, 120.0]  # exactly as asked, up to the policy's max_retry_after_s (120 s)
    assert len(script.requests) == 3


def test_retry_after_over_the_cap_is_not_retried(make_backend: Any, sleeps: Any) -> None:
    """A server asking for more than max_retry_after_s is not retried early: the caller gets the ask."""
    script = Script(google_error(429, "RESOURCE_EXHAUSTED", "Too many requests.", {"Retry-After": "3600"}),
                    httpx.Response(200, json=RUNNING))
    with pytest.raises(RateLimited) as caught:
        backend_with(make_backend, script).status(REF)
    assert caught.value.retry_after == 3600.0 and caught.value.exit_code == EXIT_PROVIDER
    assert len(script.requests) == 1 and sleeps.waits == []


def test_5xx_that_never_ends_is_provider_unavailable(make_backend: Any, sleeps: Any) -> None:
    script = Script(google_error(503, "UNAVAILABLE", "The service is currently unavailable."))
    with pytest.raises(ProviderUnavailable) as caught:
        backend_with(make_backend, script).status(REF)
    assert caught.value.exit_code == EXIT_PROVIDER
    assert len(script.requests) == 5 and len(sleeps.waits) == 4
    assert "after retries" in str(caught.value)


def test_rate_limit_that_never_ends_is_rate_limited(make_backend: Any) -> None:
    script = Script(google_error(429, "RESOURCE_EXHAUSTED", "Too many requests.", {"Retry-After": "2"}))
    with pytest.raises(RateLimited) as caught:
        backend_with(make_backend, script).status(REF)
    assert caught.value.retry_after == 2.0


def test_quota_is_a_quota_error(make_backend: Any, make_prepared: Any, sleeps: Any) -> None:
    script = Script(google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric "
                                 "'aiplatform.googleapis.com/concurrent_tuning_jobs' and limit 'Concurrent tuning "
                                 "jobs per region' of service 'aiplatform.googleapis.com'."))
    with pytest.raises(QuotaError) as caught:
        backend_with(make_backend, script).status(REF)
    assert caught.value.exit_code == EXIT_PROVIDER and "Quota exceeded" in str(caught.value)


def test_dropped_connections_are_retried(make_backend: Any, sleeps: Any) -> None:
    script = Script(httpx.ConnectError("connection refused"), httpx.ReadTimeout("timed out"),
                    httpx.Response(200, json=RUNNING))
    assert backend_with(make_backend, script).status(REF).state is JobState.RUNNING
    assert len(sleeps.waits) == 2


def test_timeouts_that_never_end_are_provider_unavailable(make_backend: Any) -> None:
    script = Script(httpx.ReadTimeout("timed out"))
    with pytest.raises(ProviderUnavailable, match="could not reach Vertex AI"):
        backend_with(make_backend, script).status(REF)
    assert len(script.requests) == 5


@pytest.mark.parametrize("code,status", [(401, "UNAUTHENTICATED"), (403, "PERMISSION_DENIED")])
def test_auth_failures_are_not_retried(make_backend: Any, sleeps: Any, code: int, status: str) -> None:
    script = Script(google_error(code, status, "Request had invalid authentication credentials."))
    with pytest.raises(AuthError) as caught:
        backend_with(make_backend, script).status(REF)
    assert caught.value.exit_code == EXIT_AUTH
    assert len(script.requests) == 1 and sleeps.waits == []
    assert "ya29" not in str(caught.value)


def test_adapter_size_refusal_is_an_invalid_request_not_an_untunable_model(make_backend: Any,
                                                                          make_prepared: Any) -> None:
    # The wording Vertex used, as quoted in googleapis/python-genai#908.
    script = Script(google_error(400, "INVALID_ARGUMENT", "The adapter size is not supported for this base model."))
    backend = backend_with(make_backend, script, storage_http=FakeStorage(ok_upload))
    with pytest.raises(InvalidRequest) as caught:
        backend.submit(make_prepared("ftr-4d4pt3"))
    assert caught.value.exit_code == EXIT_INVALID and caught.value.code == "invalid_request"
    assert "adapter size" in str(caught.value)


def test_unknown_state_is_unknown_with_the_raw_value(make_backend: Any) -> None:
    script = Script(httpx.Response(200, json={**RUNNING, "state": "JOB_STATE_SOMETHING_NEW"}))
    status = backend_with(make_backend, script).status(REF)
    assert status.state is JobState.UNKNOWN and status.raw_state == "JOB_STATE_SOMETHING_NEW"


# -- create whose answer was lost -----------------------------------------------------------------


def ok_upload(request: requests.PreparedRequest) -> tuple[int, dict[str, Any]]:
    return 200, {"kind": "storage#object", "name": "x", "bucket": "ftrouter-test-bucket", "generation": "1"}


class FakeStorage(AuthorizedSession):
    """The authorized requests session google-cloud-storage uses, answering from a function (no sockets)."""

    def __init__(self, answer: Callable[[requests.PreparedRequest], tuple[int, dict[str, Any]]]) -> None:
        super().__init__(Credentials(token="ya29.test-storage-token"))
        self.answer = answer
        self.seen: list[requests.PreparedRequest] = []

        class Adapter(requests.adapters.BaseAdapter):
            def send(inner, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
                self.seen.append(request)
                code, body = self.answer(request)
                response = requests.Response()
                response.status_code, response.request, response.url = code, request, request.url or ""
                response._content = json.dumps(body).encode()
                response.headers["Content-Type"] = "application/json"
                return response

            def close(inner) -> None:
                pass

        self.mount("https://", Adapter())


def test_create_whose_answer_was_lost_is_not_sent_twice(make_backend: Any, make_prepared: Any) -> None:
    """503 on create, but the job exists: the retry finds it by its label instead of creating another."""
    created = {**RUNNING, "state": "JOB_STATE_PENDING", "labels": {"ftrouter_job_id": "ftr-10st1d"}}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return google_error(503, "UNAVAILABLE", "The service is currently unavailable.")
        assert 'labels.ftrouter_job_id="ftr-10st1d"' in str(request.url.params.get("filter"))
        return httpx.Response(200, json={"tuningJobs": [created]})

    seen: list[httpx.Request] = []
    backend = backend_with(make_backend, lambda r: (seen.append(r), handler(r))[1],
                           storage_http=FakeStorage(ok_upload))
    ref = backend.submit(make_prepared("ftr-10st1d"))
    assert ref.remote_id == "42" and ref.local_id == "ftr-10st1d"
    assert [r.method for r in seen] == ["POST", "GET"]


def test_create_is_not_resent_until_the_lookup_answers(make_backend: Any, make_prepared: Any, sleeps: Any) -> None:
    """The lookup before a retried create has its own retries; the create is never re-sent on a guess."""
    created = {**RUNNING, "state": "JOB_STATE_PENDING", "labels": {"ftrouter_job_id": "ftr-10st2d"}}
    script = Script(google_error(503, "UNAVAILABLE", "The service is currently unavailable."),
                    httpx.ReadTimeout("timed out"),
                    httpx.Response(200, json={"tuningJobs": [created]}))
    backend = backend_with(make_backend, script, storage_http=FakeStorage(ok_upload))
    ref = backend.submit(make_prepared("ftr-10st2d"))
    assert ref.remote_id == "42" and ref.local_id == "ftr-10st2d"
    assert [r.method for r in script.requests] == ["POST", "GET", "GET"]
    assert len(sleeps.waits) == 2


def test_create_retried_when_nothing_was_created(make_backend: Any, make_prepared: Any) -> None:
    posts = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={})
        posts.append(request)
        if len(posts) == 1:
            return google_error(503, "UNAVAILABLE", "unavailable")
        return httpx.Response(200, json={**RUNNING, "state": "JOB_STATE_PENDING"})

    backend = backend_with(make_backend, handler, storage_http=FakeStorage(ok_upload))
    assert backend.submit(make_prepared("ftr-r3try0")).remote_id == "42"
    assert len(posts) == 2
    assert json.loads(posts[0].content) == json.loads(posts[1].content)


def test_storage_503_then_success(make_backend: Any, make_prepared: Any, sleeps: Any) -> None:
    answers = [(503, {"error": {"code": 503, "message": "Backend Error"}})]

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, Any]]:
        return answers.pop(0) if answers else ok_upload(request)

    storage = FakeStorage(answer)
    script = Script(httpx.Response(200, json={**RUNNING, "state": "JOB_STATE_PENDING"}))
    ref = backend_with(make_backend, script, storage_http=storage).submit(make_prepared("ftr-st0r3a"))
    assert ref.remote_id == "42"
    assert len(storage.seen) == 3  # train twice (503, then 200), then val
    assert len(sleeps.waits) == 1


def test_storage_dropped_connection_then_success(make_backend: Any, make_prepared: Any, sleeps: Any) -> None:
    drops = [requests.ConnectionError("connection reset by peer")]

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, Any]]:
        if drops:
            raise drops.pop(0)
        return ok_upload(request)

    storage = FakeStorage(answer)
    script = Script(httpx.Response(200, json={**RUNNING, "state": "JOB_STATE_PENDING"}))
    ref = backend_with(make_backend, script, storage_http=storage).submit(make_prepared("ftr-st0r3b"))
    assert ref.remote_id == "42"
    assert len(storage.seen) == 3  # train twice (dropped, then 200), then val
    assert len(sleeps.waits) == 1


def test_storage_403_is_not_retried(make_backend: Any, make_prepared: Any, sleeps: Any) -> None:
    storage = FakeStorage(lambda request: (403, {"error": {"code": 403, "message": "denied"}}))
    script = Script(httpx.Response(200, json={**RUNNING, "state": "JOB_STATE_PENDING"}))
    with pytest.raises(AuthError) as caught:
        backend_with(make_backend, script, storage_http=storage).submit(make_prepared("ftr-st0r3c"))
    assert caught.value.code == "bucket_not_writable" and caught.value.exit_code == EXIT_AUTH
    assert len(storage.seen) == 1 and sleeps.waits == [] and script.requests == []


def test_the_core_policy_with_real_sleep_is_the_default(tmp_path: Any) -> None:
    import time

    default = VertexBackend(env={}, config_file=tmp_path / "none.yaml").client("p", "us-central1").retry
    assert isinstance(default, RetryPolicy) and default.sleep is time.sleep
    assert default.max_retry_after_s == 120.0
    policy = RetryPolicy(attempts=2)
    assert VertexBackend(retry=policy, env={}, config_file=tmp_path / "none.yaml").client("p", "r").retry is policy


def test_lost_create_with_a_failing_lookup_is_never_sent_again(make_backend: Any, make_prepared: Any,
                                                               sleeps: Any) -> None:
    """503 on create and the lookup by label fails too (500 on every try): one create, SubmitUnconfirmed
    carrying what was sent — the same rule as the OpenAI adapter (ftrouter.http.create_once)."""
    posts: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            posts.append(request)
            return google_error(503, "UNAVAILABLE", "The service is currently unavailable.")
        return google_error(500, "INTERNAL", "Internal error encountered.")

    backend = backend_with(make_backend, handler, storage_http=FakeStorage(ok_upload))
    with pytest.raises(SubmitUnconfirmed) as caught:
        backend.submit(make_prepared("ftr-10st3d"))
    assert len(posts) == 1 and caught.value.exit_code == EXIT_PROVIDER
    assert caught.value.sent["labels"]["ftrouter_job_id"] == "ftr-10st3d"


def test_create_answered_without_a_job_name_is_looked_up_not_resent(make_backend: Any, make_prepared: Any) -> None:
    posts: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            posts.append(request)
            return httpx.Response(200, json={})
        return httpx.Response(200, json={})  # the lookup: no such job

    backend = backend_with(make_backend, handler, storage_http=FakeStorage(ok_upload))
    with pytest.raises(BadResponse, match="no job name"):
        backend.submit(make_prepared("ftr-n0nam3"))
    assert len(posts) == 1


def test_retry_after_http_date_with_minus_0000_and_409_policy(make_backend: Any, sleeps: Any) -> None:
    script = Script(google_error(429, "RESOURCE_EXHAUSTED", "Too many requests.",
                                 {"Retry-After": "Sun, 06 Nov 1994 08:49:37 -0000"}),
                    httpx.Response(200, json=RUNNING))
    assert backend_with(make_backend, script).status(REF).state is JobState.RUNNING
    assert len(sleeps.waits) == 1
    conflict = Script(google_error(409, "ABORTED", "The operation was aborted."))
    with pytest.raises(Conflict):
        backend_with(make_backend, conflict).status(REF)
    assert len(conflict.requests) == 1


def test_a_token_fragment_in_googles_message_is_redacted(make_backend: Any) -> None:
    fragment = TEST_TOKEN[5:19]  # no "ya29." prefix to recognise it by
    script = Script(google_error(400, "INVALID_ARGUMENT", f"credential {fragment} is malformed"))
    with pytest.raises(InvalidRequest) as caught:
        backend_with(make_backend, script).status(REF)
    assert fragment not in str(caught.value) and "[redacted]" in str(caught.value)
