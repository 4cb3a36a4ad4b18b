"""``ftrouter import openai``: read the organisation's fine-tuning jobs and download what can still be
had of each before OpenAI shuts the fine-tunes down (research/migration.md §3, "export checklist").

Per job, into its ftrouter folder::

    data/train.jsonl, data/val.jsonl      GET /files/{id}/content of training_file / validation_file
    openai/metrics.csv                    GET /files/{id}/content of result_files (the step metrics CSV)
    openai/job.json                       the job object: method, resolved hyperparameters, seed, trained_tokens
    openai/events.json                    every event (all pages), oldest first
    openai/checkpoints.json               every checkpoint still kept (OpenAI keeps the last 3 epochs)
    openai/model.json                     GET /models/{fine_tuned_model}: its shutdown_date when announced

OpenAI refuses some downloads (a deleted file: 404; a purpose it does not serve: 400 "Not allowed to
download files of purpose ..."). Such a job is imported with what exists, and each thing that could
not be had is named in ``missing``. Reinforcement jobs are listed but not imported: ftrouter has no
method to carry them to, and their o4-mini base shut down on 2026-10-23.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ftrouter.data.atomic import atomic_writer
from ftrouter.errors import InvalidRequest, NotFound
from ftrouter.jobs.imports import ImportedJob, RemoteJob
from ftrouter.jobs.models import Hyperparameters, JobSpec
from ftrouter_openai.backend import OpenAIBackend, _price
from ftrouter_openai.errors import redact
from ftrouter_openai.states import job_status, to_event

log = logging.getLogger("ftrouter.openai")

PAGE = 100
MAX_PAGES = 1000  # 100,000 jobs / events / checkpoints: a bound, not a limit anyone meets
_METHODS = {"supervised": "sft", "dpo": "dpo"}
_NOT_DOWNLOADABLE = "not allowed to download"
MISSING_HINT = ("use your own copy of the data, or record the fine-tune's answers on your prompts while it "
                "still serves")


class OpenAIImporter:
    """Lists and downloads OpenAI fine-tuning jobs through an ``OpenAIBackend``'s client and retries."""

    def __init__(self, backend: OpenAIBackend) -> None:
        self.backend = backend

    @property
    def _jobs(self) -> Any:
        return self.backend.client.fine_tuning.jobs

    # -- listing -------------------------------------------------------------------------------------

    def list_jobs(self, remote_ids: list[str] | None) -> list[RemoteJob]:
        if remote_ids:
            raws = [self._retrieve(rid) for rid in dict.fromkeys(remote_ids)]
        else:
            raws = self._all_pages("listing the fine-tuning jobs", lambda **kw: self._jobs.list(**kw))
        return [_remote_job(raw) for raw in raws]

    def _retrieve(self, remote_id: str) -> dict[str, Any]:
        def read() -> dict[str, Any]:
            return dict(self._jobs.retrieve(remote_id).to_dict())

        return self.backend._call(f"reading job {remote_id}", read)

    def _all_pages(self, what: str, list_page: Any) -> list[dict[str, Any]]:
        """Every item of a cursor-paginated list (``after`` = the last id of the previous page)."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            kwargs: dict[str, Any] = {"limit": PAGE, **({"after": cursor} if cursor else {})}

            def read_page(kw: dict[str, Any] = kwargs) -> Any:
                return list_page(**kw)

            page = self.backend._call(what, read_page)
            batch = [item.to_dict() for item in page.data]
            items.extend(batch)
            if not page.has_more or not batch:
                break
            cursor = str(batch[-1]["id"])
        return items

    # -- one job -------------------------------------------------------------------------------------

    def fetch(self, job: RemoteJob, local_id: str, folder: Path) -> ImportedJob:
        raw = job.raw
        remote_id = job.remote_id
        meta = folder / "openai"
        meta.mkdir(parents=True, exist_ok=True)
        _write_json(meta / "job.json", raw)
        raw_events = self._all_pages("reading the job's events",
                                     lambda **kw: self._jobs.list_events(remote_id, **kw))  # newest first
        events = [to_event(event) for event in reversed(raw_events)]
        _write_json(meta / "events.json", [event.model_dump(mode="json") for event in events])
        checkpoints = self._all_pages("reading the job's checkpoints",
                                      lambda **kw: self._jobs.checkpoints.list(remote_id, **kw))
        _write_json(meta / "checkpoints.json", checkpoints)
        files: dict[str, str] = {"job": str(meta / "job.json"), "events": str(meta / "events.json"),
                                 "checkpoints": str(meta / "checkpoints.json")}
        missing: list[str] = []
        downloads = [("train", raw.get("training_file"), folder / "data" / "train.jsonl", "training file"),
                     ("val", raw.get("validation_file"), folder / "data" / "val.jsonl", "validation file")]
        for number, file_id in enumerate(raw.get("result_files") or [], start=1):
            name = "metrics.csv" if number == 1 else f"metrics-{number}.csv"
            downloads.append(("metrics" if number == 1 else f"metrics_{number}", file_id, meta / name,
                              "result metrics file"))
        for role, file_id, target, label in downloads:
            if not file_id:
                continue
            problem = self._download(str(file_id), target)
            if problem is None:
                files[role] = str(target)
            else:
                missing.append(f"{label} {file_id}: {problem}")
        shutdown_date = self._model_shutdown(raw.get("fine_tuned_model"), meta, files, missing)
        status = job_status(raw, events=raw_events, checkpoints=checkpoints,
                            training_usd_per_1m=_price(raw.get("model")))
        finished = _when(raw.get("finished_at"))
        if finished is not None:
            status = status.model_copy(update={"updated_at": finished})
        return ImportedJob(
            remote_id=remote_id, spec=_spec(raw, files), status=status,
            created_at=_when(raw.get("created_at")) or datetime.now(UTC), events=events, files=files,
            missing=missing, facts=_facts(raw, checkpoints, shutdown_date))

    def _download(self, file_id: str, target: Path) -> str | None:
        """Stream a file's content to ``target`` (all or nothing); the reason when OpenAI refuses it."""
        target.parent.mkdir(parents=True, exist_ok=True)
        content = self.backend.client.files.with_streaming_response.content

        def fetch() -> None:
            import openai

            try:
                with content(file_id) as response, atomic_writer(target) as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
            except openai.BadRequestError as exc:
                # Said before the generic translation: its wording ("not allowed ... fine-tune") would
                # otherwise read as the fine-tuning wind-down refusal.
                if _NOT_DOWNLOADABLE in str(exc.message).lower():
                    raise InvalidRequest(redact(str(exc.message), (self.backend._api_key or "",)),
                                         code="download_refused") from None
                raise

        try:
            self.backend._call(f"downloading {file_id}", fetch)
        except NotFound as exc:
            return f"deleted at OpenAI or never existed ({exc.message}); {MISSING_HINT}"
        except InvalidRequest as exc:
            if _NOT_DOWNLOADABLE not in exc.message.lower():
                raise
            return f"OpenAI does not allow downloading it ({exc.message}); {MISSING_HINT}"
        log.info("downloaded %s to %s", file_id, target)
        return None

    def _model_shutdown(self, model_id: Any, meta: Path, files: dict[str, str], missing: list[str]) -> str | None:
        """The fine-tuned model's ``shutdown_date`` from ``GET /models/{id}`` (None when not announced)."""
        if not model_id:
            return None
        models = self.backend.client.models
        try:
            model = self.backend._call(f"reading model {model_id}", lambda: models.retrieve(str(model_id)).to_dict())
        except NotFound:
            missing.append(f"model {model_id}: not found at OpenAI (deleted?); its deadlines come from the catalog")
            return None
        _write_json(meta / "model.json", model)
        files["model"] = str(meta / "model.json")
        value = model.get("shutdown_date")
        return str(value) if value else None


# -- mapping OpenAI's job object ------------------------------------------------------------------------


def _remote_job(raw: dict[str, Any]) -> RemoteJob:
    kind = method_type(raw)
    skip = None
    if kind not in _METHODS:
        skip = (f"{kind} fine-tuning: ftrouter has no {kind} method to carry it to (reinforcement fine-tuning's "
                "o4-mini base shut down on 2026-10-23)")
    return RemoteJob(remote_id=str(raw["id"]), raw=raw, skip=skip)


def method_type(raw: dict[str, Any]) -> str:
    """``supervised``, ``dpo`` or ``reinforcement``; jobs from before ``method`` existed are supervised."""
    method = raw.get("method") or {}
    return str(method.get("type") or "supervised")


def resolved_hyperparameters(raw: dict[str, Any]) -> dict[str, Any]:
    """The hyperparameters the job ran with: ``method.<type>.hyperparameters`` over the deprecated
    top-level ``hyperparameters`` (values may still be ``"auto"`` before the files were validated)."""
    kind = method_type(raw)
    nested = ((raw.get("method") or {}).get(kind) or {}).get("hyperparameters") or {}
    return {**(raw.get("hyperparameters") or {}), **nested}


def _number(value: Any, kind: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None  # "auto" or absent
    return kind(value)


def _spec(raw: dict[str, Any], files: dict[str, str]) -> JobSpec:
    hyper = resolved_hyperparameters(raw)
    epochs, batch = _number(hyper.get("n_epochs"), int), _number(hyper.get("batch_size"), int)
    multiplier, beta = _number(hyper.get("learning_rate_multiplier"), float), _number(hyper.get("beta"), float)
    seed = raw.get("seed")
    return JobSpec(
        backend="openai", model=str(raw.get("model") or ""),
        data=files.get("train") or f"openai:{raw.get('training_file')}",
        val=files.get("val") or (f"openai:{raw['validation_file']}" if raw.get("validation_file") else None),
        method=_METHODS.get(method_type(raw), "sft"),  # type: ignore[arg-type]
        hyperparameters=Hyperparameters(
            epochs=epochs if epochs and 1 <= epochs <= 50 else None,
            batch_size=batch if batch and batch >= 1 else None,
            learning_rate_multiplier=multiplier if multiplier and multiplier > 0 else None,
            beta=beta if beta and 0 < beta <= 2 else None),
        seed=seed if isinstance(seed, int) and 0 <= seed <= 2_147_483_647 else None,
    )


def _facts(raw: dict[str, Any], checkpoints: list[dict[str, Any]], shutdown_date: str | None) -> dict[str, Any]:
    return {
        "training_file": raw.get("training_file"),
        "validation_file": raw.get("validation_file"),
        "result_files": list(raw.get("result_files") or []),
        "fine_tuned_model": raw.get("fine_tuned_model"),
        "openai_method": method_type(raw),
        "hyperparameters": resolved_hyperparameters(raw),
        "trained_tokens": raw.get("trained_tokens"),
        "checkpoints": [c.get("fine_tuned_model_checkpoint") for c in
                        sorted(checkpoints, key=lambda c: c.get("step_number") or 0)],
        "shutdown_date": shutdown_date,
        "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _when(timestamp: Any) -> datetime | None:
    if isinstance(timestamp, int | float) and not isinstance(timestamp, bool) and timestamp > 0:
        return datetime.fromtimestamp(timestamp, UTC)
    return None


def _write_json(path: Path, value: Any) -> None:
    with atomic_writer(path) as out:
        out.write((json.dumps(value, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))

