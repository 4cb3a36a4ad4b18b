"""The service's one poller: refreshes active jobs only, backs off while nothing changes, honours
Retry-After, and shares the registry with CLI processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fake_backend import FakeBackend
from fastapi.testclient import TestClient
from servehelp import submit

from ftrouter.errors import RateLimited
from ftrouter.jobs.polling import PollSchedule
from ftrouter.jobs.service import JobService
from ftrouter.serve.poller import Poller

FAKE_CLI = Path(__file__).resolve().parents[1] / "jobs" / "fake_backend.py"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_refreshes_active_jobs_until_they_end_then_leaves_them(client: TestClient, train_file: Path,
                                                              service: JobService) -> None:
    job = submit(client, train_file)
    clock = Clock()
    poller = Poller(service, PollSchedule(initial_s=5, max_s=60), clock=clock)
    states = []
    for _ in range(6):
        poller.tick()
        states.append(service.registry.get(str(job["id"])).state.value)
        clock.now += 5
    assert states == ["running", "running", "succeeded", "succeeded", "succeeded", "succeeded"]
    assert FakeBackend.calls.count("status") == 3  # nothing after the job ended
    assert [e.message for e in service.registry.events(str(job["id"]))][-1] == "job succeeded"


def test_backs_off_while_nothing_changes(client: TestClient, train_file: Path, service: JobService,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    submit(client, train_file)
    clock = Clock()
    asked_at: list[float] = []
    frozen = FakeBackend()._status({"id": "x", "status": "queued", "step": 0, "fail": False})

    def status(self: FakeBackend, ref: object) -> object:
        asked_at.append(clock.now - 1000)
        return frozen

    monkeypatch.setattr(FakeBackend, "status", status)
    monkeypatch.setattr(FakeBackend, "events", lambda self, ref, after=None: [])
    poller = Poller(service, PollSchedule(initial_s=5, max_s=60, factor=2), clock=clock)
    while clock.now < 1200:
        clock.now += poller.tick()  # (the poller also wakes every idle_s to look for new jobs)
    assert asked_at == [0, 5, 15, 35, 75, 135, 195]


def test_waits_as_long_as_retry_after_asks(client: TestClient, train_file: Path, service: JobService,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    job = submit(client, train_file)
    clock = Clock()
    asked_at: list[float] = []

    def limited(self: FakeBackend, ref: object) -> None:
        asked_at.append(clock.now - 1000)
        raise RateLimited("429", retry_after=42)

    monkeypatch.setattr(FakeBackend, "status", limited)
    poller = Poller(service, PollSchedule(initial_s=5), clock=clock)
    while clock.now < 1100:
        clock.now += poller.tick()
    assert asked_at == [0, 42, 84]
    assert "429" in (service.registry.get(str(job["id"])).refresh_error or "")


def test_a_job_submitted_by_the_cli_is_picked_up_and_the_cli_sees_the_refresh(service: JobService,
                                                                             train_file: Path) -> None:
    proc = subprocess.run([sys.executable, str(FAKE_CLI), "submit", "--backend", "fake", "--data", str(train_file),
                           "--model", "tiny", "--json"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    Poller(service, clock=Clock()).tick()
    shown = subprocess.run([sys.executable, str(FAKE_CLI), "jobs", "--offline", "--json"], capture_output=True,
                           text=True, timeout=60)
    assert '"state": "running"' in shown.stdout


def test_one_broken_job_does_not_stop_the_others(client: TestClient, train_file: Path, service: JobService,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    broken = submit(client, train_file, suffix="broken")
    healthy = submit(client, train_file, suffix="healthy")
    real_status = FakeBackend.status

    def status(self: FakeBackend, ref: object) -> object:
        if ref.local_id == broken["id"]:  # type: ignore[attr-defined]
            raise FileNotFoundError("a plugin bug")
        return real_status(self, ref)  # type: ignore[arg-type]

    monkeypatch.setattr(FakeBackend, "status", status)
    Poller(service, clock=Clock()).tick()
    assert service.registry.get(str(healthy["id"])).state.value == "running"
    assert service.registry.get(str(broken["id"])).refresh_error == "FileNotFoundError: a plugin bug"
