"""The generic import path: an importer that fails part-way leaves nothing behind, the registry never
holds the same remote job twice, and the deadlines of OpenAI fine-tunes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from ftrouter.errors import NotSupported, ProviderUnavailable
from ftrouter.jobs import imports
from ftrouter.jobs.imports import ImportedJob, RemoteJob, import_jobs
from ftrouter.jobs.models import JobSpec, JobState, JobStatus
from ftrouter.jobs.record import JobRecord
from ftrouter.jobs.registry import Registry
from ftrouter.jobs.service import JobService
from ftrouter.migrate.deadlines import deadlines_for
from ftrouter.plugins import Builtin

NOW = datetime(2026, 11, 27, tzinfo=UTC)


class FlakyImporter:
    """Lists two jobs; fetching the second fails once after it wrote a file."""

    def __init__(self, backend: Any) -> None:
        self.failures = 1

    def list_jobs(self, remote_ids: list[str] | None) -> list[RemoteJob]:
        return [RemoteJob(remote_id="r-1"), RemoteJob(remote_id="r-2"), RemoteJob(remote_id="r-3", skip="no")]

    def fetch(self, job: RemoteJob, local_id: str, folder: Path) -> ImportedJob:
        (folder / "partial.jsonl").write_text("{}\n")
        if job.remote_id == "r-2" and FlakyImporter.failures:
            FlakyImporter.failures -= 1
            raise ProviderUnavailable("dropped")
        return ImportedJob(remote_id=job.remote_id, spec=JobSpec(backend="fake", model="m", data="d"),
                           status=JobStatus(state=JobState.SUCCEEDED), created_at=NOW)


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> JobService:
    monkeypatch.setitem(imports.BUILTIN_IMPORTERS, "fake", Builtin(f"{__name__}:FlakyImporter", "(test importer)"))
    FlakyImporter.failures = 1
    return JobService(Registry(), backend_factory=lambda name: object())  # type: ignore[arg-type,return-value]


def test_a_failed_download_leaves_no_row_and_no_folder(service: JobService, ftrouter_home: Path) -> None:
    skipped: list[str] = []
    with pytest.raises(ProviderUnavailable):
        import_jobs(service, "fake", on_skip=lambda job: skipped.append(job.remote_id))
    assert service.registry.count() == 1 and len(list((ftrouter_home / "jobs").iterdir())) == 1
    outcomes = import_jobs(service, "fake", on_skip=lambda job: skipped.append(job.remote_id))
    assert [(o.record.remote_id, o.new) for o in outcomes] == [("r-1", False), ("r-2", True)]
    assert skipped == ["r-3"] and service.registry.count() == 2
    assert service.registry.get("r-2").state is JobState.SUCCEEDED


def test_the_registry_refuses_a_second_row_for_the_same_remote_job() -> None:
    registry = Registry()
    record = JobRecord(id="ftr-aaaaaa", backend="openai", remote_id="ftjob-x", state=JobState.SUCCEEDED,
                       spec=JobSpec(backend="openai", model="m", data="d"), created_at=NOW, updated_at=NOW)
    assert registry.add_imported(record)[1] is True
    stored, new = registry.add_imported(record.model_copy(update={"id": "ftr-bbbbbb"}))
    assert not new and stored.id == "ftr-aaaaaa" and registry.count() == 1
    assert registry.find_remote("openai", "ftjob-x") is not None and registry.find_remote("vertex", "ftjob-x") is None


def test_an_unknown_provider_cannot_be_imported(service: JobService) -> None:
    with pytest.raises(NotSupported, match="cannot import jobs from 'nowhere'"):
        import_jobs(service, "nowhere")


def test_deadlines_prefer_the_models_api_over_the_catalog() -> None:
    catalog = deadlines_for("ft:gpt-4o-mini-2024-07-18:org:suffix:abc")
    assert catalog.shuts_down_on == date(2027, 1, 14) and catalog.new_jobs_until == date(2027, 1, 6)
    assert catalog.source == "catalog" and catalog.days_left(date(2026, 11, 27)) == 48
    reported = deadlines_for("gpt-4o-mini-2024-07-18", "2026-12-31")
    assert reported.shuts_down_on == date(2026, 12, 31) and reported.source == "models API"
    unknown = deadlines_for("davinci-002")
    assert unknown.shuts_down_on is None and unknown.days_left() is None and unknown.source == "unknown"
