"""Replaying a Together cassette and checking what the adapter made of it, shared by
``test_together_cassettes.py`` (the cassettes in cassettes/together/) and ``together_record.py`` (which
replays every new recording before it replaces one, so a recording the tests would refuse is never written).

The checks take what a live run changes - ids, step, loss, price, the output model name, the events -
from the cassette's own answers, so a new recording replays with the tests unchanged; each still compares
what the adapter returned with what the cassette says, and fails when the two differ.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

HERE = Path(__file__).resolve().parent
if str(HERE.parent / "openai") not in sys.path:
    sys.path.insert(0, str(HERE.parent / "openai"))

import vcr_support  # noqa: E402  (tests/providers/openai: the same scrubbing, matching and YAML form)
from together_flows import FLOWS  # noqa: E402
from together_shared import TEST_KEY  # noqa: E402

from ftrouter.jobs.models import JobState  # noqa: E402

CASSETTES = HERE.parents[2] / "cassettes" / "together"
API = "https://api.together.ai/v1"  # every cassette is written against this URL (the recorder rewrites others)
_JOB = re.compile(r"/fine-tunes/[^/]+")


@dataclass(frozen=True)
class Reply:
    """One interaction of a cassette: the request's method, path (after /v1) and query, the answer."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    body: Any


def replies(path: Path) -> list[Reply]:
    import yaml

    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for item in doc["interactions"]:
        request, response = item["request"], item["response"]
        url = urlsplit(request["uri"])
        text = response["body"]["string"]
        out.append(Reply(request["method"], url.path.removeprefix("/v1"), parse_qs(url.query),
                         response["status"]["code"], json.loads(text) if text else None))
    return out


def cassette_model(path: Path) -> str:
    """The base model a cassette's flow ran with (its first request reads that model's limits)."""
    limits = next(r for r in replies(path) if r.path == "/fine-tunes/models/limits")
    return limits.query["model_name"][0]


def replay(name: str, cassettes: Path = CASSETTES) -> dict[str, Any]:
    """Run flow ``name`` against its cassette: every interaction must be played, in order; a request
    that differs from the cassette (path or JSON body) fails."""
    import vcr
    from ftrouter_together import TogetherBackend

    from ftrouter.http import RetryPolicy

    path = cassettes / f"{name}.yaml"
    player = vcr.VCR(record_mode="none", **vcr_support.vcr_config())
    vcr_support.configure(player)
    with player.use_cassette(str(path), serializer="yaml") as cassette:
        backend = TogetherBackend(api_key=TEST_KEY, base_url=API, retry=RetryPolicy(attempts=1))
        result = FLOWS[name](backend, lambda *_: None, model=cassette_model(path))
        assert cassette.all_played, f"{name}: interactions never played"
    return result


# -- what the cassette says ------------------------------------------------------------------------


def _job_reads(rs: list[Reply]) -> list[int]:
    """Indexes of the job reads (GET /fine-tunes/{id}), in order."""
    return [i for i, r in enumerate(rs) if r.method == "GET" and _JOB.fullmatch(r.path)]


def _first(rs: list[Reply], method: str, tail: str, start: int = 0) -> Reply:
    return next(r for r in rs[start:] if r.method == method and r.path.endswith(tail))


def _newest_metrics(snapshots: list[dict[str, Any]]) -> dict[str, float]:
    newest = snapshots[-1] if snapshots else {}
    return {k.replace("/", "_"): v for k, v in newest.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def _newest_step(events: list[dict[str, Any]]) -> int | None:
    steps = [e["step"] for e in events if isinstance(e.get("step"), int) and e["step"]]
    return steps[-1] if steps else None


def _last_error_message(events: list[dict[str, Any]]) -> str:
    errors = [e for e in events if e.get("type") == "job_error" or e.get("level") == "error"]
    return str(errors[-1]["message"])


# -- the checks, one per flow ----------------------------------------------------------------------


def check_sft(result: dict[str, Any], path: Path) -> None:
    rs = replies(path)
    reads = _job_reads(rs)
    assert result["states"] == [JobState.PENDING, JobState.RUNNING, JobState.SUCCEEDED]
    running, done = result["running"], result["done"]
    assert [running.raw_state, done.raw_state] == [rs[reads[1]].body["status"], rs[reads[2]].body["status"]]
    assert running.metrics == _newest_metrics(_first(rs, "GET", "/metrics", reads[1]).body["metrics"])
    assert running.progress.step == _newest_step(rs[reads[1]].body["events"])
    assert done.result.model_id == rs[reads[2]].body["model_output_name"]
    assert done.trained_tokens == rs[reads[2]].body.get("token_count")
    estimate = _first(rs, "POST", "/fine-tunes/estimate-price").body
    assert result["ref"].extra["estimate"]["estimated_total_price"] == estimate["estimated_total_price"]
    events = _first(rs, "GET", "/events").body["data"]
    assert [e.id for e in result["events"]] == [e["hash"] for e in events]
    assert "state" in {e.type for e in result["events"]}  # job_start / job_complete at least


def check_dpo(result: dict[str, Any], path: Path) -> None:
    rs = replies(path)
    uploads = [r.body["id"] for r in rs if r.path == "/files/upload"]
    assert [result["ref"].extra["training_file"], result["ref"].extra["validation_file"]] == uploads
    running = result["running"]
    assert running.state is JobState.RUNNING and running.raw_state == rs[_job_reads(rs)[-1]].body["status"]


def check_failed(result: dict[str, Any], path: Path) -> None:
    rs = replies(path)
    job = rs[_job_reads(rs)[-1]].body
    status = result["status"]
    assert status.state is JobState.FAILED and status.error is not None
    assert status.error.message == _last_error_message(job["events"])


def check_cancel(result: dict[str, Any], path: Path) -> None:
    answer = _first(replies(path), "POST", "/cancel").body
    cancelled = result["cancelled"]
    assert cancelled.raw_state == answer["status"] and cancelled.raw_state in ("cancel_requested", "cancelled")


def check_find(result: dict[str, Any], path: Path) -> None:
    listed = [job["id"] for job in _first(replies(path), "GET", "/fine-tunes").body["data"]]
    assert result["found"].remote_id == result["ref"].remote_id and result["found"].remote_id in listed
    assert result["missing"] is None


CHECKS: dict[str, Callable[[dict[str, Any], Path], None]] = {
    "sft_lora_job_runs_to_success": check_sft, "dpo_full_job_with_validation": check_dpo,
    "failed_job_reports_the_error": check_failed, "cancel_a_job": check_cancel,
    "find_a_job_by_its_local_id": check_find}


def replay_and_check(name: str, cassettes: Path = CASSETTES) -> dict[str, Any]:
    result = replay(name, cassettes)
    CHECKS[name](result, cassettes / f"{name}.yaml")
    return result
