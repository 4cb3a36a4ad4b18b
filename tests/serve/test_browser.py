"""A real browser against a real server: headless Chromium (Debian's ``chromium`` package) loads the
jobs page served by uvicorn on loopback, finds the job, follows its link and finds the loss chart.

Skips only when no chromium binary is installed (CI installs it: see the README).
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from servehelp import submit

from ftrouter.jobs.models import JobEvent
from ftrouter.jobs.service import JobService
from ftrouter.serve.app import create_app
from ftrouter.serve.poller import Poller
from ftrouter.serve.settings import ServeSettings

CHROMIUM = next((path for name in ("chromium", "chromium-browser", "google-chrome")
                 if (path := shutil.which(name))), None)
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium)")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(service: JobService) -> Iterator[str]:
    port = _free_port()
    app = create_app(ServeSettings(poll=False), service=service)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(10)


def _dom(url: str, profile: Path) -> str:
    assert CHROMIUM is not None
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_browser_sees_the_job_and_its_loss_chart(server: str, service: JobService, train_file: Path,
                                                 tmp_path: Path) -> None:
    with TestClient(create_app(ServeSettings(poll=False), service=service)) as client:
        job_id = str(submit(client, train_file, model="tiny-browser-model")["id"])
    poller = Poller(service)
    for _ in range(3):  # the fake backend ends the job after three refreshes: the pages stop reloading
        poller.tick()
        poller.wake()
    service.registry.add_events(job_id, [
        JobEvent(id=f"m{step}", created_at=datetime(2026, 1, 1, 0, step, tzinfo=UTC), message=f"step {step}",
                 type="metrics", data={"step": step, "loss": 2.0 / step,
                                       **({"eval_loss": 2.2 / step} if step % 2 else {})})
        for step in range(1, 6)])
    assert service.registry.get(job_id).state.value == "succeeded"

    jobs_page = _dom(server + "/", tmp_path / "profile")
    assert "tiny-browser-model" in jobs_page and "succeeded" in jobs_page
    link = re.search(r'<a href="(/jobs/[^"]+)">' + re.escape(job_id) + "</a>", jobs_page)
    assert link is not None, jobs_page[:2000]

    detail = _dom(server + link.group(1), tmp_path / "profile")
    chart = re.search(r'<figure id="loss-chart">.*?</figure>', detail, re.S)
    assert chart is not None, detail[:2000]
    assert chart.group(0).count("<polyline") == 2  # training and validation loss
    assert 'id="events"' in detail


def _console(url: str, profile: Path) -> tuple[str, str]:
    """The DOM and Chromium's log, where the console reports scripts a Content-Security-Policy refused."""
    assert CHROMIUM is not None
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--enable-logging=stderr", "--v=0", f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, proc.stderr


def test_browser_runs_the_eval_reports_filter_script_and_nothing_injected(
        server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from clirun import run_cli
    from loopback_openai import LoopbackOpenAI

    data = tmp_path / "eval.jsonl"
    data.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"},
                                                     {"role": "assistant", "content": f"a{i}"}]}) + "\n"
                            for i in range(2)))
    hostile = "<script>document.title='pwned'</script>"
    with LoopbackOpenAI(answer=lambda messages: hostile) as fake:
        code, _, err = run_cli(capsys, "eval", "--data", str(data), "--model", f"openai:m@{fake.base_url}")
    assert code == 0, err
    run_id = err.split("stored as ")[1].split()[0]

    listing = _dom(server + "/evals", tmp_path / "profile")
    link = re.search(r'<a href="(/evals/[^"]+)">' + re.escape(run_id) + "</a>", listing)
    assert link is not None, listing[:2000]
    report, log = _console(server + link.group(1), tmp_path / "profile")
    assert 'id="disagree"' in report and "pwned" not in report.split("<body>")[0]  # the title is untouched
    assert "Content Security Policy" not in log, log[-2000:]  # the report's own script was allowed to run
