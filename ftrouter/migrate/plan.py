"""``ftrouter migrate``: rebuild an imported OpenAI fine-tuning job on another backend.

The plan takes the source job's data (the downloaded training file, or recorded answers with
``--from-recorded``), its method (SFT -> SFT, DPO -> DPO with beta carried) and its hyperparameters
(mapped with a reason each, ``ftrouter.migrate.mapping``), suggests a base model when none is given
(``ftrouter.migrate.suggest``), and keeps a held-out file for the comparison: the imported validation
file, or a 10% split of the training data that the new job does not train on. The new job then goes
through the normal submit path (the target backend's prepare validates, converts and estimates), and
the plan ends with the ``ftrouter eval`` command that compares the old fine-tune with the new job.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ftrouter.errors import PluginMissing, UnknownName, UsageError
from ftrouter.jobs.models import JobSpec, JobState, PreparedJob
from ftrouter.jobs.paths import ftrouter_home
from ftrouter.jobs.record import JobRecord
from ftrouter.migrate.deadlines import deadlines_for
from ftrouter.migrate.mapping import map_hyperparameters
from ftrouter.migrate.suggest import suggest_default, suggest_local
from ftrouter.profiles import installed_profiles, plans_gpus, profile_for

HELD_OUT_FRACTION = 0.1
SPLIT_SEED = 0
NEW_JOB_PLACEHOLDER = "NEW_JOB_ID"
_OPENAI_METHODS = {"supervised": "sft", "dpo": "dpo"}


@dataclass
class MigrationRequest:
    job: str
    to: str
    model: str | None = None
    from_recorded: Path | None = None
    gpu: str | None = None
    gpus: int = 1
    options: dict[str, Any] = field(default_factory=dict)


class MigrationPlan(BaseModel):
    """What ``migrate --json`` prints (``spec`` is the JobSpec submitted, kept out of the JSON)."""

    model_config = ConfigDict(extra="forbid")

    source: dict[str, Any]
    target: dict[str, Any]
    mapping: list[dict[str, Any]]
    estimate: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any]
    deadlines: dict[str, Any]
    job: str | None = None
    eval_command: str | None = None
    notes: list[str] = Field(default_factory=list)
    spec: JobSpec = Field(exclude=True)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def build_plan(record: JobRecord, request: MigrationRequest) -> MigrationPlan:
    """Everything but the estimate and the submission (which run the target backend's prepare)."""
    notes = _check_source(record)
    method = _method(record)
    training, validation, held_out, data_notes = _data(record, request)
    notes += data_notes
    adapter = str(request.options.get("adapter") or "lora")
    mapping = map_hyperparameters(_source_hyperparameters(record), method=method, backend=request.to,
                                  adapter=adapter)
    model, model_why = _model(record, request)
    hyperparameters = dict(mapping.hyperparameters)
    seed = record.spec.seed if profile_for(request.to).migration.takes_seed else None
    if record.spec.seed is not None:
        mapping.row("seed", record.spec.seed, seed, "carried" if seed is not None else
                    f"the {request.to} backend takes no seed")
    spec = JobSpec(backend=request.to, model=model, data=str(training), val=str(validation) if validation else None,
                   method=method, hyperparameters=hyperparameters,  # type: ignore[arg-type]
                   seed=seed, options={**mapping.options, **request.options})
    fine_tuned = record.ref_extra.get("fine_tuned_model") or (record.result.model_id if record.result else None)
    dates = deadlines_for(record.spec.model, record.ref_extra.get("shutdown_date"))
    target = {"backend": request.to, "model": model, "model_why": model_why, "method": method,
              **{k: mapping.target.get(k) for k in ("epochs", "learning_rate", "batch_size")}}
    if method == "dpo":
        target["beta"] = mapping.target.get("beta")
    return MigrationPlan(
        source={"id": record.id, "remote_id": record.remote_id, "state": record.state.value,
                "base_model": record.spec.model, "fine_tuned_model": fine_tuned,
                "method": record.ref_extra.get("openai_method") or ("dpo" if method == "dpo" else "supervised"),
                "hyperparameters": _source_hyperparameters(record)},
        target=target, mapping=mapping.rows,
        data={"training": str(training), "validation": str(validation) if validation else None, "examples": None,
              "held_out": str(held_out[0]) if held_out else None, "held_out_source": held_out[1] if held_out else None},
        deadlines={"new_jobs_until": dates.as_dict()["new_jobs_until"],
                   "base_model_shuts_down": dates.as_dict()["shuts_down_on"], "days_left": dates.days_left()},
        eval_command=_eval_command(held_out[0] if held_out else None, fine_tuned, record.spec.model, None),
        notes=notes, spec=spec)


def run_plan(service: Any, plan: MigrationPlan, *, dry_run: bool,
             on_prepared: Callable[[PreparedJob], None] | None = None) -> MigrationPlan:
    """Estimate (``--dry-run``: prepare only, nothing recorded) or submit the new job."""
    captured: list[PreparedJob] = []

    def keep(prepared: PreparedJob) -> None:
        captured.append(prepared)
        if on_prepared is not None:
            on_prepared(prepared)

    job_id = None
    if dry_run:
        keep(service.plan(plan.spec))
    else:
        job_id = service.submit(plan.spec, on_prepared=keep).id
    prepared = captured[0]
    data = dict(plan.data)
    data["examples"] = (prepared.stats.get("train") or {}).get("examples")
    held_out = Path(plan.data["held_out"]) if plan.data.get("held_out") else None
    return plan.model_copy(update={
        "estimate": prepared.estimate.as_dict(), "data": data, "job": job_id,
        "notes": plan.notes + list(prepared.warnings),
        "eval_command": _eval_command(held_out, plan.source["fine_tuned_model"], plan.source["base_model"], job_id)})


# -- the source ------------------------------------------------------------------------------------------


def _migration_source(backend: str) -> bool:
    try:
        return profile_for(backend).migration_source
    except (UnknownName, PluginMissing):  # a job of a backend no longer installed
        return False


def _check_source(record: JobRecord) -> list[str]:
    if not _migration_source(record.backend):
        raise UsageError(f"{record.id} is a {record.backend} job; migrate moves OpenAI fine-tunes (import them with "
                         "`ftrouter import openai`)", code="not_openai")
    if not record.terminal:
        raise UsageError(f"{record.id} ({record.remote_id}) is still {record.state.value} at OpenAI; migrate it once "
                         f"it has ended (`ftrouter status {record.id} --watch`)", code="job_not_ended")
    if record.state is JobState.SUCCEEDED:
        return []
    reason = f": {record.error.message}" if record.error else ""
    return [f"the source job {record.state.value}{reason}. This plan retrains from its data; there is no fine-tuned "
            "model to compare with, so the eval command compares the new job with the OpenAI base model"]


def _method(record: JobRecord) -> str:
    raw = record.ref_extra.get("openai_method")
    if raw and raw not in _OPENAI_METHODS:
        raise UsageError(f"{record.id} is a {raw} fine-tuning job; migrate carries supervised and DPO jobs only",
                         code="unsupported_method")
    return _OPENAI_METHODS.get(str(raw), record.spec.method) if raw else record.spec.method


def _source_hyperparameters(record: JobRecord) -> dict[str, Any]:
    stored = record.ref_extra.get("hyperparameters")
    if stored:
        return dict(stored)
    hyper = record.spec.hyperparameters
    values = {"n_epochs": hyper.epochs, "batch_size": hyper.batch_size,
              "learning_rate_multiplier": hyper.learning_rate_multiplier, "beta": hyper.beta}
    return {k: ("auto" if v is None else v) for k, v in values.items() if k != "beta" or record.spec.method == "dpo"}


# -- the data ---------------------------------------------------------------------------------------------


def _existing(path: str | None) -> Path | None:
    return Path(path) if path and Path(path).is_file() else None


def _data(record: JobRecord, request: MigrationRequest) -> tuple[Path, Path | None, tuple[Path, str] | None,
                                                                 list[str]]:
    """(training file, validation file for the new job, (held-out file, where it came from), notes)."""
    notes: list[str] = []
    if request.from_recorded is not None:
        if not request.from_recorded.is_file():
            raise UsageError("no such file", path=request.from_recorded, code="file_not_found")
        training = request.from_recorded
        notes.append(f"training data: {training} (--from-recorded), not OpenAI's training file")
    else:
        found = _existing(record.files.get("train"))
        if found is None:
            missing = "; ".join(m for m in record.ref_extra.get("missing") or [] if m.startswith("training file"))
            raise UsageError(
                f"{record.id} ({record.remote_id}) has no training data here"
                + (f" ({missing})" if missing else " (import it with `ftrouter import openai`)")
                + "; pass --from-recorded FILE with the fine-tune's recorded answers or your own copy of the data",
                code="no_training_data")
        training = found
    validation = _existing(record.files.get("val"))
    if validation is not None:
        return training, validation, (validation, "the imported validation file (OpenAI's validation_file); "
                                      "the new job validates on it and does not train on it"), notes
    return _split(record, training, notes)


def _split(record: JobRecord, training: Path, notes: list[str]) -> tuple[Path, Path | None, tuple[Path, str] | None,
                                                                        list[str]]:
    from ftrouter.data import split_file

    folder = ftrouter_home() / "migrations" / record.id / ("recorded" if training != _existing(
        record.files.get("train")) else record.backend)
    result = split_file(training, folder, val=HELD_OUT_FRACTION, seed=SPLIT_SEED)
    if result.counts.get("val", 0) == 0:
        notes.append(f"{training} is too small to hold examples out: no held-out file, no eval command")
        return training, None, None, notes
    held_out = Path(result.files["val"])
    why = (f"a {HELD_OUT_FRACTION:.0%} split of the training data (seed {SPLIT_SEED}) made by migrate in {folder}; "
           f"the new job trains on the other {result.counts['train']} examples and does not see these "
           f"{result.counts['val']}")
    return Path(result.files["train"]), held_out, (held_out, why), notes


# -- the model and the eval command ------------------------------------------------------------------------


def _model(record: JobRecord, request: MigrationRequest) -> tuple[str, str]:
    if request.model:
        return request.model, "given with --model"
    if not profile_for(request.to).migration.suggests_model:
        suggesting = " and ".join(p.name for p in installed_profiles() if p.migration.suggests_model)
        raise UsageError(f"--model is required with --to {request.to} (ftrouter suggests models for {suggesting})",
                         code="missing_model")
    if plans_gpus(request.to):  # an open model that fits the GPUs
        suggestion = suggest_local(record.spec.model, gpu=request.gpu, gpus=request.gpus)
    else:
        suggestion = suggest_default(request.to)
    return suggestion.model, suggestion.why


def _eval_command(held_out: Path | None, fine_tuned: str | None, base_model: str, job_id: str | None) -> str | None:
    if held_out is None:
        return None
    old = fine_tuned or base_model
    parts = ["ftrouter", "eval", "--data", str(held_out), "--model", f"openai:{old}", "--model",
             job_id or NEW_JOB_PLACEHOLDER]
    return " ".join(shlex.quote(part) for part in parts)
