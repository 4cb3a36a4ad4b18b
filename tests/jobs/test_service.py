"""Submit / refresh / reconcile / watch / cancel, against the fake backend, with an injected clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_backend import FakeBackend

from ftrouter.errors import (
    AuthError,
    DataError,
    NotSupported,
    ProviderUnavailable,
    RateLimited,
    RegistryError,
    SubmitUnconfirmed,
    UsageError,
)
from ftrouter.jobs.models import JobSpec, JobState, RemoteRef
from ftrouter.jobs.polling import PollSchedule
from ftrouter.jobs.registry import Registry
from ftrouter.jobs.service import JobService


def _service(sleeps: list[float] | None = None, backend: FakeBackend | None = None) -> JobService:
    record = sleeps if sleeps is not None else []
    factory = (lambda name: backend) if backend is not None else None
    return JobService(Registry(), sleep=record.append, backend_factory=factory)  # type: ignore[arg-type]


def _spec(train_file: Path, **options: object) -> JobSpec:
    return JobSpec(backend="fake", model="tiny", data=str(train_file), options=dict(options))


def _remote_jobs(home: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in sorted((home / "fake-remote").glob("*.json"))]


def test_row_is_written_before_the_remote_create(train_file: Path) -> None:
    seen: list[JobState] = []

    class Checking(FakeBackend):
        def submit(self, prepared):  # type: ignore[no-untyped-def]
            seen.append(Registry().get(prepared.local_id).state)
            return super().submit(prepared)

    service = _service(backend=Checking())
    record = service.submit(_spec(train_file))
    assert seen == [JobState.SUBMITTING]
    assert record.state is JobState.PENDING and record.remote_id == "fakejob-" + record.id[4:]
    assert record.estimate.as_dict() == {"usd": 0.05}
    assert Path(record.files["train"]).is_file()


def test_dry_run_plans_without_a_row_or_files(train_file: Path, ftrouter_home: Path) -> None:
    service = _service()
    prepared = service.plan(_spec(train_file))
    assert prepared.stats == {"examples": 5} and prepared.requests[0].url == "fake://jobs"
    assert service.registry.count() == 0
    assert not list((ftrouter_home / "jobs").glob("*/train.jsonl"))
    assert FakeBackend.calls == []


def test_watch_follows_the_job_to_the_end_with_backoff(train_file: Path) -> None:
    sleeps: list[float] = []
    service = _service(sleeps)
    record = service.submit(_spec(train_file))
    updates: list[tuple[JobState, int]] = []
    final = service.watch(record.id, lambda r, ev: updates.append((r.state, len(ev))),
                          PollSchedule(initial_s=2, max_s=10))
    assert final.state is JobState.SUCCEEDED and final.result and final.result.model_id
    assert [u[0] for u in updates] == [JobState.RUNNING, JobState.RUNNING, JobState.SUCCEEDED]
    assert sum(n for _, n in updates) == 4  # every event arrives exactly once
    assert sleeps == [2, 2]  # something changed every time: the interval stays at the start value
    assert final.actual["trained_tokens"] == 1234 and final.actual["tokens_per_second"] == 822.7
    assert [e.message for e in service.registry.events(record.id)][-1] == "job succeeded"
    calls_before = len(FakeBackend.calls)
    assert service.refresh(record.id)[0].state is JobState.SUCCEEDED
    assert len(FakeBackend.calls) == calls_before  # an ended job is not asked again


def test_watch_backs_off_while_nothing_changes_and_honours_retry_after(train_file: Path) -> None:
    class Slow(FakeBackend):
        n = 0

        def status(self, ref):  # type: ignore[no-untyped-def]
            self.n += 1
            if self.n == 2:
                raise RateLimited("slow down", retry_after=7)
            if self.n < 5:
                return self._status({"id": ref.remote_id, "status": "queued", "step": 0})
            return super().status(ref)

    sleeps: list[float] = []
    service = _service(sleeps, Slow())
    record = service.submit(_spec(train_file))
    service.watch(record.id, lambda r, ev: None, PollSchedule(initial_s=2, max_s=5, factor=2))
    assert sleeps[:4] == [2, 7, 4, 5]  # changed (first), Retry-After, unchanged x2 (capped at 5)


def test_watch_gives_up_after_repeated_failures(train_file: Path) -> None:
    class Down(FakeBackend):
        def status(self, ref):  # type: ignore[no-untyped-def]
            raise ProviderUnavailable("503")

    sleeps: list[float] = []
    service = _service(sleeps, Down())
    record = service.submit(_spec(train_file))
    with pytest.raises(ProviderUnavailable):
        service.watch(record.id, lambda r, ev: None, PollSchedule(initial_s=1, max_s=8, max_failures=4))
    assert sleeps == [2, 4, 8]


def test_lost_create_answer_is_reconciled_without_a_duplicate(train_file: Path, ftrouter_home: Path) -> None:
    service = _service()
    record = service.submit(_spec(train_file, lose_answer=True))
    assert record.state is JobState.PENDING and record.remote_id
    assert len(_remote_jobs(ftrouter_home)) == 1
    assert FakeBackend.calls == ["submit", "find"]


def test_definitive_submit_error_fails_the_job_without_lookup(train_file: Path) -> None:
    class NoKey(FakeBackend):
        def submit(self, prepared):  # type: ignore[no-untyped-def]
            raise AuthError("OPENAI_API_KEY is not set")

    service = _service(backend=NoKey())
    with pytest.raises(AuthError):
        service.submit(_spec(train_file))
    [record] = service.registry.list_jobs()
    assert record.state is JobState.FAILED and record.error and record.error.code == "auth_error"
    assert "find" not in FakeBackend.calls


def test_prepare_error_leaves_no_row(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    service = _service()
    with pytest.raises(DataError):
        service.submit(_spec(empty))
    assert service.registry.count() == 0


def _stuck_row(service: JobService, train_file: Path, *, submitter: str) -> str:
    """A row left in `submitting` by a process that died (submitter = host:pid of a dead process)."""
    backend = service.backend("fake")
    prepared = backend.prepare(_spec(train_file), "ftr-stuck2")
    service.registry.create(prepared)
    import sqlite3

    with sqlite3.connect(service.registry.path) as conn:
        conn.execute("UPDATE jobs SET submitter = ? WHERE local_id = ?", (submitter, prepared.local_id))
    return prepared.local_id


def _dead_submitter() -> str:
    import socket
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return f"{socket.gethostname()}:{proc.stdout.strip()}"


def test_crash_after_remote_create_is_reconciled(train_file: Path, ftrouter_home: Path) -> None:
    service = _service()
    local_id = _stuck_row(service, train_file, submitter=_dead_submitter())
    FakeBackend().submit(service.backend("fake").prepare(_spec(train_file), local_id))  # created remotely
    record, _ = service.refresh(local_id)
    assert record.remote_id == "fakejob-stuck2" and record.state is JobState.RUNNING
    assert len(_remote_jobs(ftrouter_home)) == 1


def test_crash_before_remote_create_fails_the_row(train_file: Path) -> None:
    service = _service()
    local_id = _stuck_row(service, train_file, submitter=_dead_submitter())
    record, _ = service.refresh(local_id)
    assert record.state is JobState.FAILED and record.error and record.error.code == "submit_interrupted"


def test_row_of_a_live_submitter_is_left_alone(train_file: Path) -> None:
    import os
    import socket

    service = _service()
    local_id = _stuck_row(service, train_file, submitter=f"{socket.gethostname()}:{os.getppid()}")
    record, _ = service.refresh(local_id)
    assert record.state is JobState.SUBMITTING and "find" not in FakeBackend.calls


def test_refresh_many_keeps_going_when_one_backend_fails(train_file: Path) -> None:
    class Flaky(FakeBackend):
        def status(self, ref: RemoteRef):  # type: ignore[no-untyped-def]
            if ref.remote_id.endswith(self.bad):
                raise ProviderUnavailable("gateway timeout")
            return super().status(ref)

    backend = Flaky()
    service = _service(backend=backend)
    records = [service.submit(_spec(train_file)) for _ in range(4)]
    backend.bad = records[0].id[4:]  # type: ignore[attr-defined]
    refreshed = {r.id: r for r in service.refresh_many(service.registry.list_jobs())}
    assert refreshed[records[0].id].refresh_error and "gateway timeout" in refreshed[records[0].id].refresh_error
    assert refreshed[records[0].id].state is JobState.PENDING
    assert all(refreshed[r.id].state is JobState.RUNNING for r in records[1:])


def test_cancel_resume_and_unsupported_pause(train_file: Path) -> None:
    service = _service()
    record = service.submit(_spec(train_file))
    assert service.cancel(record.id).state is JobState.CANCELLED
    assert service.resume(record.id).state is JobState.PENDING
    with pytest.raises(NotSupported, match="cannot pause"):
        service.pause(record.id)


def test_pausing_an_ended_job_is_refused_and_keeps_its_state(train_file: Path) -> None:
    service = _service()
    record = service.submit(_spec(train_file))
    service.cancel(record.id)
    with pytest.raises(UsageError, match="already ended") as caught:
        service.pause(record.id)
    assert caught.value.code == "job_ended"
    assert service.registry.get(record.id).state is JobState.CANCELLED


# -- unsettled submissions, leftovers, redaction (issues 11 and 17) -------------------------------


def test_lost_answer_and_failed_lookup_records_unknown_and_the_next_refresh_settles_it(
        train_file: Path, ftrouter_home: Path) -> None:
    service = _service()
    FakeBackend.lookup_down = True
    with pytest.raises(SubmitUnconfirmed, match="recorded as 'unknown'") as caught:
        service.submit(_spec(train_file, lose_answer=True))
    assert caught.value.exit_code == 3
    [record] = service.registry.list_jobs()
    assert record.state is JobState.UNKNOWN and record.remote_id is None and record.unsettled
    assert record.error and record.error.code == "submit_unconfirmed"
    assert FakeBackend.calls == ["submit", "find"]  # never submitted twice
    with pytest.raises(ProviderUnavailable):  # still unreachable: it stays unknown, nothing is re-sent
        service.refresh(record.id)
    assert service.registry.get(record.id).state is JobState.UNKNOWN
    FakeBackend.lookup_down = False
    record, _ = service.refresh(record.id)
    assert record.remote_id == "fakejob-" + record.id[4:] and record.state is JobState.RUNNING
    assert FakeBackend.calls.count("submit") == 1 and len(_remote_jobs(ftrouter_home)) == 1


def test_a_backend_that_confirms_creates_is_not_asked_again_after_a_failure(train_file: Path) -> None:
    class Confirming(FakeBackend):
        confirms_creates = True

        def submit(self, prepared):  # type: ignore[no-untyped-def]
            raise ProviderUnavailable("upload: cannot reach the provider")

    service = _service(backend=Confirming())
    with pytest.raises(ProviderUnavailable):
        service.submit(_spec(train_file))
    [record] = service.registry.list_jobs()
    assert record.state is JobState.FAILED and record.error and record.error.code == "provider_unavailable"
    assert "find" not in FakeBackend.calls


def test_unusable_registry_leaves_no_job_folder(train_file: Path, ftrouter_home: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Registry, prepared: object) -> None:
        raise RegistryError("cannot open the job registry: disk I/O error")

    monkeypatch.setattr(Registry, "create", broken)
    with pytest.raises(RegistryError):
        _service().submit(_spec(train_file))
    assert not any((ftrouter_home / "jobs").iterdir()) if (ftrouter_home / "jobs").exists() else True
    assert FakeBackend.calls == []


def test_key_fragments_never_reach_the_registry(train_file: Path, ftrouter_home: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    key = "Zq8vN2kLw4Rt7YpB3mXc9HdF6sJa1GeU"  # fake, no usual prefix
    monkeypatch.setenv("OPENAI_API_KEY", key)

    class Leaky(FakeBackend):
        def submit(self, prepared):  # type: ignore[no-untyped-def]
            raise AuthError(f"the key ...{key[5:19]}... is not valid here")

        def status(self, ref):  # type: ignore[no-untyped-def]
            raise ProviderUnavailable(f"proxy said: token {key[-10:]} refused")

    service = _service(backend=Leaky())
    with pytest.raises(AuthError):
        service.submit(_spec(train_file))
    [record] = service.registry.list_jobs()
    assert record.error and "[redacted]" in record.error.message and key[5:19] not in record.error.message
    stored = b"".join(p.read_bytes() for p in ftrouter_home.rglob("*") if p.is_file()).decode("utf-8", "replace")
    assert all(key[i:i + 8] not in stored for i in range(len(key) - 7))
