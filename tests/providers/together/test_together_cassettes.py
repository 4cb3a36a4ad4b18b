"""Replay the authored cassettes (cassettes/together/, see author_cassettes.py) through the adapter with
its real httpx transport: vcrpy answers, the network guard stays on, every interaction must be played
in order, and a request that differs from the cassette (path or JSON body) fails."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from together_flows import FLOWS
from together_shared import TEST_KEY

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "openai"))
import vcr_support

from ftrouter.jobs.models import JobState

CASSETTES = Path(__file__).resolve().parents[3] / "cassettes" / "together"


def replay(name: str) -> dict[str, Any]:
    import vcr
    from ftrouter_together import TogetherBackend

    from ftrouter.http import RetryPolicy

    player = vcr.VCR(record_mode="none", **vcr_support.vcr_config())
    vcr_support.configure(player)
    with player.use_cassette(str(CASSETTES / f"{name}.yaml"), serializer="yaml") as cassette:
        result = FLOWS[name](TogetherBackend(api_key=TEST_KEY, retry=RetryPolicy(attempts=1)), lambda *_: None)
        assert cassette.all_played, f"{name}: interactions never played"
    return result


def test_sft_lora_job_runs_to_success() -> None:
    result = replay("sft_lora_job_runs_to_success")
    assert result["states"] == [JobState.PENDING, JobState.RUNNING, JobState.SUCCEEDED]
    assert result["running"].progress.step == 10 and result["running"].metrics["train_loss"] == 0.9
    assert result["done"].result.model_id == "acme/gpt-oss-20b-support-ftr-tgsft1"
    assert result["ref"].extra["estimate"]["estimated_total_price"] == 2.5
    assert [e.type for e in result["events"]][-1] == "state"


def test_dpo_full_job_with_validation() -> None:
    result = replay("dpo_full_job_with_validation")
    assert result["ref"].extra["validation_file"] and result["running"].state is JobState.RUNNING


def test_failed_job_reports_the_error() -> None:
    status = replay("failed_job_reports_the_error")["status"]
    assert status.state is JobState.FAILED and "too few tokens" in status.error.message


def test_cancel_a_job() -> None:
    assert replay("cancel_a_job")["cancelled"].raw_state == "cancel_requested"


def test_find_a_job_by_its_local_id() -> None:
    result = replay("find_a_job_by_its_local_id")
    assert result["found"].remote_id == result["ref"].remote_id and result["missing"] is None


def test_a_changed_request_does_not_replay(monkeypatch: pytest.MonkeyPatch) -> None:
    import ftrouter_together.requests as requests

    from ftrouter.errors import BackendError

    monkeypatch.setattr(requests, "job_suffix", lambda spec, local_id: f"changed-{local_id}")
    with pytest.raises(BackendError, match="JSON bodies differ"):  # vcrpy's refusal, as the adapter reports it
        replay("cancel_a_job")
