"""Replay the cassettes in cassettes/together/ (authored by author_cassettes.py, or recorded live by
together_record.py) through the adapter with its real httpx transport: vcrpy answers, the network guard
stays on, every interaction must be played in order, and a request that differs from the cassette (path
or JSON body) fails. What the adapter returns is compared with the cassette's own answers
(``together_replay``), so a new recording replays with these tests unchanged."""

from __future__ import annotations

import pytest
from together_replay import CASSETTES, replay, replay_and_check, replies


def test_sft_lora_job_runs_to_success() -> None:
    result = replay_and_check("sft_lora_job_runs_to_success")
    assert result["ref"].local_id == "ftr-tgsft1" and result["done"].result.model_id


def test_dpo_full_job_with_validation() -> None:
    replay_and_check("dpo_full_job_with_validation")


def test_failed_job_reports_the_error() -> None:
    assert replay_and_check("failed_job_reports_the_error")["status"].error.message


def test_cancel_a_job() -> None:
    replay_and_check("cancel_a_job")


def test_find_a_job_by_its_local_id() -> None:
    replay_and_check("find_a_job_by_its_local_id")


def test_the_checks_compare_with_the_cassette() -> None:
    """The checks read the cassette's answers: a result that differs from them is refused."""
    from together_replay import check_sft

    result = replay("sft_lora_job_runs_to_success")
    result["running"] = result["running"].model_copy(update={"metrics": {"train_loss": 0.5}})
    with pytest.raises(AssertionError):
        check_sft(result, CASSETTES / "sft_lora_job_runs_to_success.yaml")


def test_the_authored_cassettes_hold_the_fakes_figures() -> None:
    """The authored sft cassette says what the fake was told to say (step 10 of 30, loss 0.9, $2.5)."""
    path = CASSETTES / "sft_lora_job_runs_to_success.yaml"
    if not path.read_text(encoding="utf-8").startswith("# AUTHORED"):
        pytest.skip("a live recording: its figures are Together's")
    result = replay("sft_lora_job_runs_to_success")
    assert result["running"].progress.step == 10 and result["running"].metrics["train_loss"] == 0.9
    assert result["done"].result.model_id == "acme/gpt-oss-20b-support-ftr-tgsft1"
    assert result["ref"].extra["estimate"]["estimated_total_price"] == 2.5
    assert next(r.path for r in replies(path)) == "/fine-tunes/models/limits"


def test_a_changed_request_does_not_replay(monkeypatch: pytest.MonkeyPatch) -> None:
    import ftrouter_together.requests as requests

    from ftrouter.errors import BackendError

    monkeypatch.setattr(requests, "job_suffix", lambda spec, local_id: f"changed-{local_id}")
    with pytest.raises(BackendError, match="JSON bodies differ"):  # vcrpy's refusal, as the adapter reports it
        replay("cancel_a_job")
