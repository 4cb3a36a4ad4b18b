"""``prepare`` (all that ``submit --dry-run`` runs): the real data and cost engines, no credentials, no network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ftrouter_vertex import VertexBackend
from ftrouter_vertex import gemini_file as gemini_file_module
from ftrouter_vertex.gemini_file import read_gemini_file
from ftrouter_vertex.request import upload_url

from ftrouter.errors import EXIT_INVALID, EXIT_USAGE, DataError, NotSupported, UnknownName, UsageError, ValidationFailed
from ftrouter.jobs.models import Hyperparameters, JobSpec


def chat_rows(n: int, *, start: int = 0) -> list[dict[str, Any]]:
    return [{"messages": [{"role": "system", "content": "You are a terse support agent."},
                          {"role": "user", "content": f"How do I export report number {i}?"},
                          {"role": "assistant", "content": f"Open Reports, pick report {i}, then Export."}]}
            for i in range(start, start + n)]


def jsonl(path: Path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def spec(data: str, **kwargs: Any) -> JobSpec:
    kwargs.setdefault("model", "gemini-2.5-flash")
    return JobSpec(backend="vertex", data=data, **kwargs)


@pytest.fixture
def offline_backend(no_google_credentials: None, tmp_path: Path) -> VertexBackend:
    """Nothing injected: no credentials exist, so any remote step would fail - prepare must not need one."""
    return VertexBackend(env={}, config_file=tmp_path / "none.yaml")


def test_prepare_converts_estimates_and_plans_without_credentials(offline_backend: VertexBackend,
                                                                  tmp_path: Path) -> None:
    data = jsonl(tmp_path / "support.jsonl", chat_rows(40))
    val = jsonl(tmp_path / "support-val.jsonl", chat_rows(5, start=100))
    prepared = offline_backend.prepare(spec(data, val=val, hyperparameters=Hyperparameters(epochs=3),
                                            options={"bucket": "gs://stage-bucket/runs", "project": "my-project-1"}),
                                       "ftr-pr3p01")
    train = Path(prepared.files["train"])
    lines = [json.loads(line) for line in train.read_text().splitlines()]
    assert len(lines) == 40 and lines[0]["contents"][0]["role"] == "user"
    assert lines[0]["systemInstruction"] == {"parts": [{"text": "You are a terse support agent."}]}
    assert [c["role"] for c in lines[0]["contents"]] == ["user", "model"]

    stats = prepared.stats
    assert stats["examples"] == 40 and stats["val_examples"] == 5 and stats["source_format"] == "openai"
    assert stats["gemini"]["train_examples"] == 40 and stats["gemini"]["train_with_system_instruction"] == 40
    assert stats["gemini"]["val_examples"] == 5
    assert stats["gemini"]["train_bytes"] == train.stat().st_size

    estimate = prepared.estimate
    assert estimate.backend == "vertex" and estimate.model == "gemini-2.5-flash" and estimate.epochs == 3
    assert estimate.billed_tokens == stats["tokens_total"] * 3
    assert estimate.cost_usd is not None and estimate.cost_usd > 0

    uploads, create = prepared.requests[:-1], prepared.requests[-1]
    # the URL google-cloud-storage really uses (as in the cassettes); the object name is in the note
    assert [u.url for u in uploads] == [
        "https://storage.googleapis.com/upload/storage/v1/b/stage-bucket/o?uploadType=multipart"] * 2
    assert [u.note.split(" to ")[-1] for u in uploads] == [
        f"gs://stage-bucket/runs/ftrouter/ftr-pr3p01/{role}.jsonl" for role in ("train", "val")]
    assert upload_url("b", 9 * 1024 * 1024).endswith("?uploadType=resumable")  # big files: a resumable session
    assert create.url == ("https://us-central1-aiplatform.googleapis.com/v1/projects/my-project-1/locations/"
                          "us-central1/tuningJobs")
    assert create.body["supervisedTuningSpec"] == {
        "trainingDatasetUri": "gs://stage-bucket/runs/ftrouter/ftr-pr3p01/train.jsonl",
        "validationDatasetUri": "gs://stage-bucket/runs/ftrouter/ftr-pr3p01/val.jsonl",
        "hyperParameters": {"epochCount": "3"}}
    assert create.body["labels"] == {"ftrouter_job_id": "ftr-pr3p01", "created_by": "ftrouter"}
    assert prepared.warnings == []


def test_dry_run_without_project_or_bucket_warns_and_shows_placeholders(offline_backend: VertexBackend,
                                                                        tmp_path: Path) -> None:
    prepared = offline_backend.prepare(spec(jsonl(tmp_path / "d.jsonl", chat_rows(20)), seed=7), "ftr-pr3p02")
    assert "/projects/<project>/" in prepared.requests[-1].url
    assert "/b/<bucket>/" in prepared.requests[0].url
    joined = " ".join(prepared.warnings)
    assert "no project set yet" in joined and "no staging bucket" in joined and "--seed is not a Vertex" in joined


def test_adapter_size_from_option_or_lora_rank(offline_backend: VertexBackend, tmp_path: Path) -> None:
    data = jsonl(tmp_path / "d.jsonl", chat_rows(20))
    by_rank = offline_backend.prepare(spec(data, hyperparameters=Hyperparameters(lora_r=8)), "ftr-pr3p03")
    assert by_rank.requests[-1].body["supervisedTuningSpec"]["hyperParameters"] == {"adapterSize": "ADAPTER_SIZE_EIGHT"}
    by_option = offline_backend.prepare(spec(data, hyperparameters=Hyperparameters(lora_r=8),
                                             options={"adapter_size": 16}), "ftr-pr3p04")
    assert by_option.requests[-1].body["supervisedTuningSpec"]["hyperParameters"]["adapterSize"] == \
        "ADAPTER_SIZE_SIXTEEN"
    with pytest.raises(UsageError, match="adapter size 5"):
        offline_backend.prepare(spec(data, options={"adapter_size": 5}), "ftr-pr3p05")


def test_too_few_examples_for_vertex(offline_backend: VertexBackend, tmp_path: Path) -> None:
    data = jsonl(tmp_path / "small.jsonl", chat_rows(12))
    with pytest.raises(ValidationFailed) as caught:
        offline_backend.prepare(spec(data), "ftr-pr3p06")
    assert caught.value.exit_code == EXIT_INVALID and caught.value.code == "too_few_examples"
    assert str(caught.value).startswith(f"{data}: too_few_examples: 12 examples")


def test_roles_that_do_not_alternate_name_the_line(offline_backend: VertexBackend, tmp_path: Path) -> None:
    rows = chat_rows(20)
    rows[6]["messages"].insert(2, {"role": "user", "content": "and another question"})
    data = jsonl(tmp_path / "roles.jsonl", rows)
    with pytest.raises(ValidationFailed) as caught:
        offline_backend.prepare(spec(data), "ftr-pr3p07")
    assert caught.value.path == data and caught.value.line == 7


@pytest.mark.parametrize("kwargs,error,fragment", [
    ({"model": "gpt-4.1-mini-2025-04-14"}, UsageError, "use --backend openai"),
    ({"model": "gemini-9-ultra"}, UnknownName, "unknown model"),
    ({"method": "dpo"}, NotSupported, "--method sft"),
    ({"adapter": "full"}, NotSupported, "managed adapters"),
])
def test_what_vertex_cannot_do_is_a_usage_error(offline_backend: VertexBackend, tmp_path: Path,
                                                kwargs: dict[str, Any], error: type[Exception], fragment: str) -> None:
    data = jsonl(tmp_path / "d.jsonl", chat_rows(20))
    with pytest.raises(error, match=fragment) as caught:
        offline_backend.prepare(spec(data, **kwargs), "ftr-pr3p08")
    assert caught.value.exit_code == EXIT_USAGE  # type: ignore[attr-defined]


# -- the converted-file checks ---------------------------------------------------------------------


def gemini_line(*roles: str) -> dict[str, Any]:
    return {"contents": [{"role": r, "parts": [{"text": "x"}]} for r in roles]}


@pytest.mark.parametrize("roles,code", [
    (("model", "user", "model"), "roles_out_of_order"),
    (("user", "user", "model"), "roles_out_of_order"),
    (("user", "model", "user"), "last_turn_not_assistant"),
])
def test_converted_file_must_alternate(tmp_path: Path, roles: tuple[str, ...], code: str) -> None:
    path = tmp_path / "g.jsonl"
    jsonl(path, [gemini_line("user", "model"), gemini_line(*roles)])
    with pytest.raises(DataError) as caught:
        read_gemini_file(path)
    assert caught.value.code == code and caught.value.line == 2 and caught.value.path == str(path)


def test_validation_set_size_and_file_size_caps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "g.jsonl"
    jsonl(path, [gemini_line("user", "model")] * 6)
    with pytest.raises(DataError, match="at most 5"):
        read_gemini_file(path, max_examples=5, role="val")
    monkeypatch.setattr(gemini_file_module, "MAX_FILE_BYTES", 10)
    with pytest.raises(DataError, match="at most 1 GB") as caught:
        read_gemini_file(path)
    assert caught.value.code == "file_too_large"
