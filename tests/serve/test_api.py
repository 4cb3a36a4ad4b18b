"""The /v1 API: same operations and JSON as the CLI, errors as JSON with mapped statuses, auth, limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import run_cli
from fake_backend import FakeBackend
from fastapi.testclient import TestClient
from servehelp import TOKEN, submit

from ftrouter.errors import AuthError, ProviderUnavailable, RateLimited
from ftrouter.jobs.service import JobService
from ftrouter.serve.app import create_app
from ftrouter.serve.settings import ServeSettings

ROOT = Path(__file__).resolve().parents[2]
CHAT = ROOT / "configs" / "examples" / "chat.jsonl"
TASK = ROOT / "configs" / "tasks" / "invoice-extraction.yaml"


# -- auth ------------------------------------------------------------------------------------------


def test_health_needs_no_token_but_every_other_v1_route_does(authed: TestClient) -> None:
    assert authed.get("/v1/health").json()["status"] == "ok"
    for method, path in [("GET", "/v1/jobs"), ("GET", "/v1/jobs/ftr-xxxxxx"), ("POST", "/v1/jobs"),
                         ("POST", "/v1/estimate"), ("POST", "/v1/compare"), ("POST", "/v1/advise"),
                         ("POST", "/v1/jobs/ftr-xxxxxx/cancel"), ("GET", "/v1/jobs/ftr-xxxxxx/events")]:
        response = authed.request(method, path)
        assert response.status_code == 401, (method, path)
        assert response.json()["error"]["code"] == "unauthorized"
    wrong = authed.get("/v1/jobs", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert authed.get("/v1/jobs", headers={"Authorization": f"Bearer {TOKEN}"}).json() == []


def test_dashboard_with_a_token_asks_to_sign_in_and_sets_a_strict_cookie(authed: TestClient) -> None:
    first = authed.get("/", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/login"
    assert authed.post("/login", data={"token": "wrong"}, follow_redirects=False).status_code == 401
    signed = authed.post("/login", data={"token": TOKEN}, follow_redirects=False)
    assert signed.status_code == 303
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert authed.get("/").status_code == 200  # the cookie now travels with the client


def test_non_loopback_host_without_a_token_is_refused_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "serve", "--host", "0.0.0.0", "--port", "1")
    assert code == 2
    assert "FTROUTER_API_TOKEN" in err and "Traceback" not in err


# -- jobs ------------------------------------------------------------------------------------------


def test_submit_records_the_job_and_the_cli_sees_it(client: TestClient, train_file: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    job = submit(client, train_file, suffix="web")
    assert job["state"] == "pending" and job["remote_id"] == "fakejob-" + str(job["id"]).removeprefix("ftr-")
    assert client.get(f"/v1/jobs/{job['id']}").json() == job
    assert [row["id"] for row in client.get("/v1/jobs").json()] == [job["id"]]
    code, out, _ = run_cli(capsys, "jobs", "--json", "--offline")
    assert code == 0
    assert json.loads(out) == [job]  # the same registry, the same JSON


def test_dry_run_returns_the_plan_and_records_nothing(client: TestClient, train_file: Path,
                                                     service: JobService) -> None:
    response = client.post("/v1/jobs", json={"backend": "fake", "model": "tiny", "data": str(train_file),
                                             "dry_run": True})
    assert response.status_code == 200
    plan = response.json()
    assert plan["stats"] == {"examples": 5} and plan["requests"][0]["url"] == "fake://jobs"
    assert service.registry.count() == 0
    assert "submit" not in FakeBackend.calls


def test_upload_is_saved_on_the_server_and_validated_like_cli_input(client: TestClient, train_file: Path,
                                                                    service: JobService) -> None:
    spec = json.dumps({"backend": "fake", "model": "tiny"})
    with train_file.open("rb") as f:
        response = client.post("/v1/jobs", data={"spec": spec}, files={"data": ("../../evil name.jsonl", f)})
    assert response.status_code == 201, response.text
    stored = Path(service.registry.get(response.json()["id"]).spec.data)
    assert stored.name == "data-evil_name.jsonl" and stored.read_bytes() == train_file.read_bytes()
    empty = client.post("/v1/jobs", data={"spec": spec}, files={"data": ("empty.jsonl", b"")})
    assert empty.status_code == 422
    assert empty.json()["error"]["code"] == "invalid_data"
    bad_spec = client.post("/v1/jobs", data={"spec": json.dumps({"model": "tiny"})}, files={"data": ("t.jsonl", b"x")})
    assert bad_spec.status_code == 422 and bad_spec.json()["error"]["message"].startswith("backend:")
    assert service.registry.count() == 1
    assert [p.name for p in (Path(service.registry.path).parent / "uploads").iterdir()] == [stored.parent.name]


def test_submit_errors_are_json_with_mapped_statuses(client: TestClient, train_file: Path) -> None:
    missing = client.post("/v1/jobs", json={"backend": "fake", "model": "tiny", "data": "/no/such/file.jsonl"})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "file_not_found"
    bad = client.post("/v1/jobs", json={"backend": "fake", "model": "tiny", "data": str(train_file),
                                         "hyperparameters": {"epochs": 0}})
    assert bad.status_code == 422 and "hyperparameters.epochs" in bad.json()["error"]["message"]
    unknown = client.post("/v1/jobs", json={"backend": "nope", "model": "tiny", "data": str(train_file)})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_name"
    not_json = client.post("/v1/jobs", content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "invalid_json"
    assert client.get("/v1/jobs/ftr-zzzzzz").status_code == 404


def test_actions_cancel_and_unsupported_pause(client: TestClient, train_file: Path) -> None:
    job = submit(client, train_file)
    paused = client.post(f"/v1/jobs/{job['id']}/pause")
    assert paused.status_code == 400 and paused.json()["error"]["code"] == "not_supported"
    cancelled = client.post(f"/v1/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"


@pytest.mark.parametrize(("error", "status", "code"), [
    (ProviderUnavailable("503 after retries"), 502, "provider_unavailable"),
    (AuthError("invalid api key"), 403, "auth_error"),
    (RateLimited("slow down", retry_after=30), 429, "rate_limited"),
])
def test_provider_failures_map_to_http_statuses(client: TestClient, train_file: Path,
                                                monkeypatch: pytest.MonkeyPatch, error: Exception, status: int,
                                                code: str) -> None:
    job = submit(client, train_file)

    def fail(self: FakeBackend, ref: object) -> None:
        raise error

    monkeypatch.setattr(FakeBackend, "cancel", fail)
    response = client.post(f"/v1/jobs/{job['id']}/cancel")
    assert response.status_code == status and response.json()["error"]["code"] == code
    if status == 429:
        assert response.headers["retry-after"] == "30"


def test_an_unexpected_error_is_a_json_500_without_traceback(service: JobService, train_file: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with TestClient(create_app(ServeSettings(poll=False), service=service), raise_server_exceptions=False) as c:
        job = submit(c, train_file)

        def crash(self: FakeBackend, ref: object) -> None:
            raise RuntimeError("secret internal detail")

        monkeypatch.setattr(FakeBackend, "cancel", crash)
        response = c.post(f"/v1/jobs/{job['id']}/cancel")
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_error", "message": "internal error: RuntimeError"}}


def test_request_bodies_are_size_limited(service: JobService, train_file: Path) -> None:
    settings = ServeSettings(poll=False, max_json_bytes=2_000, max_upload_bytes=4_000)
    with TestClient(create_app(settings, service=service)) as c:
        big = c.post("/v1/jobs", json={"backend": "fake", "model": "x" * 3_000, "data": str(train_file)})
        assert big.status_code == 413 and big.json()["error"]["code"] == "body_too_large"
        upload = c.post("/v1/jobs", data={"spec": "{}"}, files={"data": ("a.jsonl", b"x" * 5_000)})
        assert upload.status_code == 413

        def chunks():  # no Content-Length: counted as it arrives
            yield b'{"backend": "fake", "model": "'
            for _ in range(10):
                yield b"y" * 500
            yield b'"}'

        chunked = c.post("/v1/jobs", content=chunks(), headers={"content-type": "application/json"})
        assert chunked.status_code == 413
    assert service.registry.count() == 0


def test_events_json_and_sse_stream_that_ends_with_the_job(service: JobService, train_file: Path) -> None:
    from ftrouter.jobs.polling import PollSchedule
    from ftrouter.serve.poller import Poller

    poller = Poller(service, PollSchedule(initial_s=0.01, max_s=0.02), idle_s=0.02)
    settings = ServeSettings(sse_interval_s=0.01)
    with TestClient(create_app(settings, service=service, poller=poller)) as c:
        job = submit(c, train_file)
        with c.stream("GET", f"/v1/jobs/{job['id']}/events", headers={"Accept": "text/event-stream"}) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            text = "".join(stream.iter_text())
        events = c.get(f"/v1/jobs/{job['id']}/events").json()
    kinds = [line.removeprefix("event: ") for line in text.splitlines() if line.startswith("event: ")]
    assert kinds[-1] == "end" and kinds.count("job-event") == len(events) == 4
    assert '"state":"succeeded"' in text.split("event: end")[1]
    assert [e["message"] for e in events] == ["step 1", "step 2", "step 3", "job succeeded"]


def test_reads_never_call_the_backend(client: TestClient, train_file: Path) -> None:
    job = submit(client, train_file)
    FakeBackend.calls.clear()
    for _ in range(20):
        client.get("/v1/jobs")
        client.get(f"/v1/jobs/{job['id']}")
        client.get(f"/v1/jobs/{job['id']}/events")
        client.get("/")
    assert FakeBackend.calls == []  # only the poller asks backends


# -- advice and cost: the same JSON as the CLI -----------------------------------------------------


def test_advise_equals_the_cli_json(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    profile = yaml.safe_load(TASK.read_text())
    response = client.post("/v1/advise", json=profile, params={"today": "2026-11-01"})
    assert response.status_code == 200, response.text
    code, out, _ = run_cli(capsys, "advise", str(TASK), "--json", "--today", "2026-11-01")
    assert code == 0
    assert response.json() == json.loads(out)
    bad = client.post("/v1/advise", json={**profile, "task_type": "juggling"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_profile"


def test_estimate_and_compare_equal_the_cli_json(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    estimate = client.post("/v1/estimate", json={"data": str(CHAT), "backend": "openai"})
    assert estimate.status_code == 200, estimate.text
    code, out, _ = run_cli(capsys, "estimate", "--data", str(CHAT), "--backend", "openai", "--json")
    assert code == 0 and estimate.json() == json.loads(out)

    body = {"data": str(CHAT), "backend": "openai", "monthly_requests": 5000, "assumptions": {"today": "2026-11-01"}}
    compared = client.post("/v1/compare", json=body)
    assert compared.status_code == 200, compared.text
    code, out, _ = run_cli(capsys, "compare", "--data", str(CHAT), "--backend", "openai", "--monthly-requests",
                           "5000", "--set", "today=2026-11-01", "--json")
    assert code == 0 and compared.json() == json.loads(out)
    html = client.post("/v1/compare", json=body, params={"format": "html"})
    assert html.headers["content-type"].startswith("text/html") and "<svg" in html.text
    typo = client.post("/v1/compare", json={**body, "assumptions": {"mfuu": 0.3}})
    assert typo.status_code == 400 and typo.json()["error"]["code"] == "bad_assumption"


def test_openapi_documents_the_routes_and_the_submit_body(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path in ("/v1/health", "/v1/advise", "/v1/estimate", "/v1/compare", "/v1/jobs", "/v1/jobs/{job}",
                 "/v1/jobs/{job}/cancel", "/v1/jobs/{job}/pause", "/v1/jobs/{job}/resume", "/v1/jobs/{job}/events",
                 "/v1/evals", "/v1/evals/{run}"):
        assert path in schema["paths"], path
    assert "SubmitRequest" in schema["components"]["schemas"]
    assert "Hyperparameters" in schema["components"]["schemas"]
    assert "EvalRequest" in schema["components"]["schemas"]
    assert schema["paths"]["/v1/evals"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/EvalRequest"}


def test_help_does_not_import_the_web_stack() -> None:
    import subprocess
    import sys

    code = ("import sys; from ftrouter.cli.app import main\n"
            "try: main(['--help'])\nexcept SystemExit: pass\n"
            "print(','.join(m for m in ('fastapi', 'uvicorn', 'starlette', 'jinja2') if m in sys.modules), "
            "file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stderr.strip() == ""


def test_a_loopback_service_refuses_foreign_host_headers(service: JobService) -> None:
    from ftrouter.serve.settings import loopback_hosts

    settings = ServeSettings(poll=False, allowed_hosts=loopback_hosts("127.0.0.1"))
    with TestClient(create_app(settings, service=service), base_url="http://127.0.0.1:8000") as c:
        assert c.get("/v1/jobs").status_code == 200
        assert c.get("/v1/jobs", headers={"Host": "localhost:8000"}).status_code == 200
        assert c.get("/v1/jobs", headers={"Host": "[::1]:8000"}).status_code == 200
        assert c.get("/v1/jobs", headers={"Host": "[::1]"}).status_code == 200
        refused = c.get("/v1/jobs", headers={"Host": "attacker.example:8000"})
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "bad_host"


def test_serve_without_the_extra_says_how_to_install_it(capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "fastapi" else real_find_spec(name, *a))
    code, _, err = run_cli(capsys, "serve")
    assert code == 2
    assert "pip install 'ftrouter[serve]'" in err and "Traceback" not in err


def test_event_stream_of_a_removed_job_ends_with_an_error_event(client: TestClient, train_file: Path,
                                                                service: JobService,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from ftrouter.errors import JobNotFound

    job = submit(client, train_file)
    real_get = service.registry.get
    calls = iter(range(100))

    def vanishing(job_id: str) -> object:
        if next(calls) >= 2:  # the route's lookup and the stream's first read see it; then it is gone
            raise JobNotFound(f"no job {job_id!r} in the registry")
        return real_get(job_id)

    monkeypatch.setattr(service.registry, "get", vanishing)
    with client.stream("GET", f"/v1/jobs/{job['id']}/events", headers={"Accept": "text/event-stream"}) as stream:
        text = "".join(stream.iter_text())
    assert "event: status" in text
    assert text.rstrip().splitlines()[-2:] == ["event: error", 'data: {"code":"job_not_found","message":"no job '
                                               f"'{job['id']}' in the registry\"}}"]
