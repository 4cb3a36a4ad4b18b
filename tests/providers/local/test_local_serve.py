"""A local job submitted over HTTP (``ftrouter serve``) runs in the same detached worker as one
submitted with the CLI: the CLI follows it to the end, and the dashboard draws its real loss curve."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import run_cli
from ftrouter_local import LocalBackend

pytest.importorskip("fastapi")
pytestmark = pytest.mark.slow


def test_a_job_submitted_over_http_runs_in_the_detached_worker(capsys: pytest.CaptureFixture[str],
                                                               backend: LocalBackend, tiny_model: Path,
                                                               chat_data: Path) -> None:
    from fastapi.testclient import TestClient

    from ftrouter.serve.app import create_app
    from ftrouter.serve.settings import ServeSettings

    spec = {"backend": "local", "model": str(tiny_model), "data": str(chat_data),
            "hyperparameters": {"max_steps": 30, "learning_rate": 0.003, "batch_size": 8},
            "options": {"logging_steps": 5, "activation_checkpointing": False, "max_length": 96,
                        "save_steps": 1000}}
    with TestClient(create_app(ServeSettings(poll=False))) as client:
        response = client.post("/v1/jobs", json=spec)
        assert response.status_code == 201, response.text
        job = response.json()
        assert job["backend"] == "local" and job["remote_id"] == job["id"]

        code, out, err = run_cli(capsys, "status", job["id"], "--watch", "--interval", "0.3", "--json")
        assert code == 0, err
        final = json.loads(out)
        assert final["state"] == "succeeded" and final["progress"]["step"] == 30

        page = client.get(f"/jobs/{job['id']}")
        assert page.status_code == 200
        assert '<figure id="loss-chart">' in page.text and 'data-series="training loss"' in page.text
        assert client.get(f"/v1/jobs/{job['id']}").json()["state"] == "succeeded"
