"""/v1/evals and the eval dashboard against the loopback OpenAI-compatible fake: a POST runs the CLI's
eval in the background and the stored run reads back as the CLI's JSON; auth, bad data, credentials,
and the side-by-side report escaped and served under its own script policy."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli
from fastapi.testclient import TestClient
from loopback_openai import LoopbackOpenAI
from servehelp import TOKEN

HOSTILE = "<script>alert(1)</script>"


def eval_file(tmp_path: Path, n: int = 4, name: str = "eval.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"},
                                                     {"role": "assistant", "content": f"answer {i}"}]}) + "\n"
                            for i in range(n)))
    return path


def answer(messages: list[dict[str, Any]]) -> str:
    i = int(messages[-1]["content"][1:])
    return HOSTILE if i == 0 else f"answer {i}"


def wait_stored(client: TestClient, location: str, timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = client.get(location)
        if response.status_code == 200:
            body: dict[str, Any] = response.json()
            return body
        assert response.status_code == 202, response.text
        assert response.json()["state"] in ("queued", "running")
        time.sleep(0.05)
    raise AssertionError(f"{location} still running after {timeout_s} s")


def start(client: TestClient, body: dict[str, Any]) -> tuple[str, str]:
    response = client.post("/v1/evals", json=body)
    assert response.status_code == 202, response.text
    run_id = response.json()["id"]
    assert response.headers["location"] == f"/v1/evals/{run_id}"
    return run_id, response.headers["location"]


def test_post_runs_in_the_background_and_reads_back_as_the_cli_json(
        client: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = eval_file(tmp_path)
    gate = threading.Event()

    def gated(messages: list[dict[str, Any]]) -> str:
        gate.wait(20)  # holds the run at "running" until the test has looked at it
        return answer(messages)

    with LoopbackOpenAI(answer=gated) as server:
        spec = f"openai:m@{server.base_url}"
        run_id, location = start(client, {"data": str(data), "models": [spec], "concurrency": 1})
        running = client.get(location)
        assert running.status_code == 202 and running.json()["state"] in ("queued", "running")
        assert running.json()["progress"] == {"done": 0, "total": 4} and running.headers["retry-after"]
        assert client.get(f"/evals/{run_id}").status_code == 200  # the dashboard's progress page
        gate.set()
        served = wait_stored(client, location)
        # the CLI on the same data and model: every answer now comes from the cache, the metrics are the same
        code, out, err = run_cli(capsys, "eval", "--data", str(data), "--model", spec, "--json")
    assert code == 0, err
    cli = json.loads(out)
    assert served["models"][0]["metrics"] == cli["models"][0]["metrics"]
    assert served["models"][0]["metrics"]["normalized"] == pytest.approx(3 / 4, abs=1e-6)
    assert cli["models"][0]["cached"] == 4 and server.state.requests == 4
    code, out, _ = run_cli(capsys, "evals", "show", run_id, "--json")
    assert code == 0 and json.loads(out) == served  # the stored run is the CLI's, byte for byte in JSON
    code, out, _ = run_cli(capsys, "evals", "--json")
    assert code == 0 and client.get("/v1/evals").json() == json.loads(out)
    assert [r["id"] for r in json.loads(out)][1] == run_id  # the CLI's own run is newer


def test_an_uploaded_eval_file_and_the_report_formats(client: TestClient, tmp_path: Path) -> None:
    data = eval_file(tmp_path, 3)
    with LoopbackOpenAI(answer=answer) as server:
        spec = {"models": [f"openai:m@{server.base_url}"], "limit": 2}
        with data.open("rb") as f:
            response = client.post("/v1/evals", data={"spec": json.dumps(spec)},
                                   files={"data": ("my eval.jsonl", f, "application/jsonl")})
        assert response.status_code == 202, response.text
        served = wait_stored(client, response.headers["location"])
    assert served["examples"] == 2 and served["data"].endswith("my_eval.jsonl")
    run_id = response.json()["id"]
    md = client.get(f"/v1/evals/{run_id}?format=md")
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert client.get(f"/v1/evals/{run_id}?format=csv").headers["content-type"].startswith("text/csv")
    assert client.get(f"/v1/evals/{run_id}?format=pdf").status_code == 400


def test_model_output_is_escaped_and_only_the_reports_own_script_may_run(client: TestClient,
                                                                         tmp_path: Path) -> None:
    data = eval_file(tmp_path, 2)
    with LoopbackOpenAI(answer=answer) as server:
        run_id, location = start(client, {"data": str(data), "models": [f"openai:m@{server.base_url}"]})
        wait_stored(client, location)
    for url in (f"/evals/{run_id}", f"/v1/evals/{run_id}?format=html"):
        page = client.get(url)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert HOSTILE not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "'sha256-" in csp and "'unsafe-inline'" not in csp.split("script-src")[1]
    listing = client.get("/evals")
    assert listing.status_code == 200 and f'href="/evals/{run_id}"' in listing.text
    assert 'href="/evals"' in client.get("/").text  # linked from the jobs pages


def test_report_policy_hashes_match_the_renderers_script() -> None:
    import base64
    import hashlib
    import re

    from ftrouter.eval.render import _SCRIPT
    from ftrouter.serve.evals import report_csp

    digest = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
    handler = base64.b64encode(hashlib.sha256(b"applyFilter()").digest()).decode()
    csp = report_csp()
    assert f"'sha256-{digest}'" in csp and f"'sha256-{handler}'" in csp and "'unsafe-hashes'" in csp
    assert len(re.findall(r"'sha256-", csp)) == 2  # nothing else is allowed to run


@pytest.mark.parametrize(("content", "where"), [
    ('{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}\n'
     '{"messages": [{"role": "user", "content": "no reference"}]}\n', ":2"),
    ("{not json\n", ":1"),
])
def test_bad_data_is_422_naming_file_and_line(client: TestClient, tmp_path: Path, content: str, where: str) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text(content)
    response = client.post("/v1/evals", json={"data": str(data), "models": ["openai:m@http://127.0.0.1:9/v1"]})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert f"{data}{where}" in error["message"] and error["path"] == str(data)
    assert client.get("/v1/evals").json() == []


def test_an_uploaded_bad_file_is_422_and_its_upload_is_removed(client: TestClient) -> None:
    from ftrouter.serve.operations import uploads_dir

    response = client.post("/v1/evals", data={"spec": json.dumps({"models": ["openai:m@http://127.0.0.1:9/v1"]})},
                           files={"data": ("e.jsonl", b'{"text": "x"}\n', "application/jsonl")})
    assert response.status_code == 422 and "e.jsonl:1" in response.json()["error"]["message"]
    assert not any(uploads_dir().iterdir())


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"models": ["openai:gpt-4.1-mini-2025-04-14"]}, 403, None),  # no OPENAI_API_KEY on the server
    ({"models": ["nosuch:m"]}, 400, "bad_model_spec"),
    ({"models": ["openai:m@http://127.0.0.1:9/v1"], "metrics": ["judge"]}, 400, "bad_option"),
    ({"models": []}, 422, "invalid_request"),
    ({"models": ["openai:m@http://127.0.0.1:9/v1"], "limit": 0}, 422, "invalid_request"),
    ({"models": ["openai:m@http://127.0.0.1:9/v1"], "val": "x"}, 422, "invalid_request"),
])
def test_option_and_credential_errors_answer_at_once(client: TestClient, tmp_path: Path, body: dict[str, Any],
                                                     status: int, code: str | None) -> None:
    response = client.post("/v1/evals", json={"data": str(eval_file(tmp_path)), **body})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    if code is not None:
        assert error["code"] == code
    if status == 403:
        assert "OPENAI_API_KEY" in error["message"]


def test_a_run_whose_every_request_fails_reports_the_provider_error(client: TestClient, tmp_path: Path) -> None:
    with LoopbackOpenAI(fail_when=lambda messages: 400) as server:
        run_id, location = start(client, {"data": str(eval_file(tmp_path, 2)),
                                          "models": [f"openai:m@{server.base_url}"]})
        deadline = time.monotonic() + 30
        while (response := client.get(location)).status_code == 202 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert response.status_code == 502, response.text
    assert response.json()["error"]["code"] == "all_requests_failed" and response.json()["error"]["run"] == run_id
    assert client.get(f"/evals/{run_id}").status_code == 502


def test_unknown_run_is_404(client: TestClient) -> None:
    assert client.get("/v1/evals/ev-nosuch").status_code == 404
    assert client.get("/v1/evals/ev-nosuch").json()["error"]["code"] == "run_not_found"
    assert client.get("/evals/ev-nosuch").status_code == 404


def test_eval_routes_need_the_token(authed: TestClient, tmp_path: Path) -> None:
    for method, path in [("POST", "/v1/evals"), ("GET", "/v1/evals"), ("GET", "/v1/evals/ev-nosuch")]:
        response = authed.request(method, path)
        assert response.status_code == 401, (method, path)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert authed.get("/v1/evals", headers=headers).json() == []
    assert authed.get("/evals", follow_redirects=False).headers["location"] == "/login"
    assert authed.get("/evals/ev-nosuch", follow_redirects=False).status_code == 303


def test_stopping_the_service_ends_a_running_eval_after_its_batch_in_flight(tmp_path: Path) -> None:
    from ftrouter.serve.app import create_app
    from ftrouter.serve.settings import ServeSettings

    gate = threading.Event()

    def gated(messages: list[dict[str, Any]]) -> str:
        gate.wait(20)
        return "x"

    app = create_app(ServeSettings(poll=False))
    with LoopbackOpenAI(answer=gated) as server:
        with TestClient(app) as client:
            run_id, _ = start(client, {"data": str(eval_file(tmp_path, 6)), "models": [f"openai:m@{server.base_url}"],
                                       "concurrency": 1})
            while server.state.requests == 0:  # the first request is in flight, held by the gate
                time.sleep(0.01)
        gate.set()  # the client's lifespan has ended: the service is stopping
        deadline = time.monotonic() + 20
        while (run := app.state.evals.get(run_id)).state != "failed" and time.monotonic() < deadline:
            time.sleep(0.01)
    assert run.error is not None and run.error.code == "service_stopped"
    assert server.state.requests < 6  # the rest of the run was not sent


def test_a_jobs_page_links_the_eval_runs_of_its_model(client: TestClient, train_file: Path) -> None:
    from servehelp import submit

    from ftrouter.eval.store import save_run

    job_id = str(submit(client, train_file)["id"])
    assert 'id="no-job-evals"' in client.get(f"/jobs/{job_id}").text
    other = save_run({"data": "e.jsonl", "examples": 3, "models": [{"model": "openai:m"}], "comparisons": []},
                     {"metrics": []}, [])
    mine = save_run({"data": "e.jsonl", "examples": 3, "models": [{"model": "openai:m"}, {"model": job_id}],
                     "comparisons": []}, {"metrics": []}, [])
    page = client.get(f"/jobs/{job_id}").text
    assert f'<a href="/evals/{mine}">' in page and other not in page


def test_a_bug_in_a_background_run_is_a_500_without_traceback(client: TestClient, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from ftrouter.eval import session

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(session, "run_prepared", broken)
    run_id, location = start(client, {"data": str(eval_file(tmp_path, 2)), "models": ["openai:m@http://127.0.0.1:9/v1"]})
    deadline = time.monotonic() + 20
    while (response := client.get(location)).status_code == 202 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert response.status_code == 500
    assert response.json()["error"] == {"code": "internal_error", "message": "internal error: RuntimeError",
                                        "run": run_id, "state": "failed"}
