"""Importing jobs that were created outside ftrouter (``ftrouter import openai``): the generic part.

A provider plugin supplies an *importer* (found like a backend: built in below, or registered under
the ``ftrouter.importers`` entry-point group) that lists the provider's jobs and downloads what can
still be had of one job into a folder. This module decides which jobs are new, gives each a local id
and folder, and writes the registry row — so ``jobs``, ``status`` and ``events`` work on an imported
job like on any other, and its remote id is accepted wherever a job id is.

Importing twice adds nothing: a job whose remote id the registry already has for that backend is
skipped before anything is downloaded, and the registry insert itself refuses a duplicate (two
imports running at once). A download that fails part-way leaves no folder and no row behind.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from ftrouter.errors import NotSupported, UsageError
from ftrouter.jobs.models import JobEvent, JobSpec, JobState, JobStatus
from ftrouter.jobs.paths import job_dir
from ftrouter.jobs.record import JobRecord
from ftrouter.jobs.registry import new_local_id
from ftrouter.plugins import Builtin, PluginGroup

ENTRY_POINT_GROUP = "ftrouter.importers"
BUILTIN_IMPORTERS: dict[str, Builtin] = {
    "openai": Builtin("ftrouter_openai.importing:OpenAIImporter", "pip install -e providers/openai"),
}
IMPORTERS = PluginGroup(ENTRY_POINT_GROUP, BUILTIN_IMPORTERS)


class RemoteJob(BaseModel):
    """One job as the provider lists it; ``skip`` says why it cannot be imported (then it is not)."""

    model_config = ConfigDict(extra="forbid")

    remote_id: str
    raw: dict[str, Any] = Field(default_factory=dict)
    skip: str | None = None


class ImportedJob(BaseModel):
    """What an importer made of one remote job: the spec it was run with, its status, its events,
    the files it downloaded (role -> path) and what it could not download (one message each)."""

    model_config = ConfigDict(extra="forbid")

    remote_id: str
    spec: JobSpec
    status: JobStatus
    created_at: datetime
    events: list[JobEvent] = Field(default_factory=list)
    files: dict[str, str] = Field(default_factory=dict)
    missing: list[str] = Field(default_factory=list)
    facts: dict[str, Any] = Field(default_factory=dict)  # kept in the record's ref_extra (provider fields)


class Importer(Protocol):
    def list_jobs(self, remote_ids: list[str] | None) -> list[RemoteJob]:
        """Every job of the account (all pages), or just ``remote_ids``."""

    def fetch(self, job: RemoteJob, local_id: str, folder: Path) -> ImportedJob:
        """Download what can still be had of ``job`` into ``folder``."""


@dataclass(frozen=True)
class ImportOutcome:
    record: JobRecord
    new: bool  # False: the registry already had this job (nothing was downloaded)


def importer_names() -> list[str]:
    """Every backend whose jobs ftrouter can import (built-in or registered), sorted."""
    return IMPORTERS.names()


def load_importer(backend_name: str, backend: Any) -> Importer:
    """The importer for ``backend_name``, built around the (already configured) backend instance."""
    factory: Callable[[Any], Importer] | None = IMPORTERS.load(backend_name, f"importing from {backend_name!r}")
    if factory is None:
        names = ", ".join(importer_names())
        raise NotSupported(f"ftrouter cannot import jobs from {backend_name!r} (it can from: {names})")
    return factory(backend)


def import_jobs(service: Any, backend_name: str, remote_ids: list[str] | None = None, *,
                on_skip: Callable[[RemoteJob], None] | None = None) -> list[ImportOutcome]:
    """Import the backend's jobs (or ``remote_ids``) into ``service.registry``; jobs already there are
    returned as they are (``new`` False) and nothing is downloaded for them."""
    importer = load_importer(backend_name, service.backend(backend_name))
    registry = service.registry
    outcomes: list[ImportOutcome] = []
    for job in importer.list_jobs(remote_ids):
        if job.skip is not None:
            if on_skip is not None:
                on_skip(job)
            continue
        known = registry.find_remote(backend_name, job.remote_id)
        if known is not None:
            outcomes.append(ImportOutcome(record=known, new=False))
            continue
        outcomes.append(_import_one(service, importer, backend_name, job))
    return outcomes


def _import_one(service: Any, importer: Importer, backend_name: str, job: RemoteJob) -> ImportOutcome:
    local_id = _fresh_id()
    folder = job_dir(local_id)
    try:
        imported = importer.fetch(job, local_id, folder)
        record = JobRecord(id=local_id, backend=backend_name, remote_id=imported.remote_id, state=JobState.UNKNOWN,
                           spec=imported.spec, files=imported.files,
                           ref_extra={**imported.facts, "imported": True, "missing": imported.missing},
                           created_at=imported.created_at, updated_at=imported.created_at)
        stored, new = service.registry.add_imported(record)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if not new:  # another import got there first: its row stands, this download goes
        shutil.rmtree(folder, ignore_errors=True)
        return ImportOutcome(record=stored, new=False)
    service.registry.add_events(local_id, imported.events)
    return ImportOutcome(record=service.registry.record_status(local_id, imported.status), new=True)


def _fresh_id() -> str:
    for _ in range(20):
        local_id = new_local_id()
        if not job_dir(local_id, create=False).exists():
            return local_id
    raise UsageError("could not find a free job id; is FTROUTER_HOME writable?")
