"""The live re-recording path (together_record.py), exercised offline: a Together-like fake with real-looking
ids, an account name, user ids, e-mail addresses, a W&B URL, someone else's job and a message quoting the key
stands in for Together behind an injected transport, at a TOGETHER_BASE_URL that is not Together's; "time"
passes when the recorder sleeps between polls. The cassettes it writes must hold only the flows' own calls,
normalised and secret-free, and must replay through the tests' own replay and checks."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import test_together_cassette_schema as schema
import yaml
from fake_together import FakeTogether, event
from together_flows import FLOWS
from together_normalise import ACCOUNT, EMAIL, USER, WANDB_URL, Normaliser, file_placeholder, job_placeholder
from together_record import Recorder, RecordingFailed, parse_args, without_assistant_turns
from together_replay import replay_and_check, replies
from together_shared import DATA, TEST_KEY

PROXY = "https://together-proxy.example/v1"
REAL_ACCOUNT = "jdoe42"
REAL_USER = "user_2JqReaLPersON77"
REAL_EMAIL = "jane.doe@corp.example"
PRIVATE = (REAL_ACCOUNT, REAL_USER, REAL_EMAIL, TEST_KEY, "together-proxy", "jane-doe", "ft-7d1c", "file-93a0",
           "ft-foreign", "other-team", "someone-elses")


class LiveLike(FakeTogether):
    """The fake, answering like a real account would: uuid ids, the owner in every job, a W&B URL."""

    def __init__(self) -> None:
        super().__init__()
        self.trainable: dict[str, bool] = {}
        self.jobs["ft-foreign-0000"] = {
            "id": "ft-foreign-0000", "status": "completed", "created_at": "2026-11-01T00:00:00Z",
            "updated_at": "2026-11-01T00:00:00Z", "model": "openai/gpt-oss-20b", "training_file": "file-elsewhere",
            "suffix": "someone-elses", "model_output_name": "other-team/gpt-oss-20b-someone-elses", "events": []}

    def _upload(self, request: httpx.Request) -> httpx.Response:
        answer = json.loads(super()._upload(request).content)
        real = f"file-93a0{len(self.files):04d}-5b2e-4c1d-9f00-7e6a1b2c3d4e"
        self.files[real] = {**self.files.pop(answer["id"]), "id": real}
        self.trainable[real] = b'"role": "assistant"' in request.content
        return httpx.Response(200, json=self.files[real])

    def _create(self, body: dict[str, Any]) -> httpx.Response:
        job = self.jobs.pop(json.loads(super()._create(body).content)["id"])
        job["id"] = f"ft-7d1c{len(self.jobs):04d}-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
        job["model_output_name"] = job["model_output_name"].replace("acme/", f"{REAL_ACCOUNT}/")
        job["events"].append(event("wandb_init", f"W&B run for {REAL_EMAIL}, key {TEST_KEY}", 1))
        self.jobs[job["id"]] = job
        return httpx.Response(200, json=self.truncated(job))

    def truncated(self, job: dict[str, Any]) -> dict[str, Any]:
        return {**super().truncated(job), "user_id": REAL_USER, "owner_address": REAL_EMAIL}

    def full(self, job: dict[str, Any]) -> dict[str, Any]:
        return {**super().full(job), "wandb_url": "https://wandb.ai/jane-doe/secret-project/runs/x1"}

    def tick(self) -> None:
        """Time passes: every job still in the queue or training moves on one stage."""
        for job_id, job in list(self.jobs.items()):
            if job["status"] == "pending" and not self.trainable.get(job["training_file"], True):
                self.error_out(job_id, "No trainable tokens: every example's loss is masked")
            elif job["status"] == "pending":
                self.run(job_id)
            elif job["status"] == "running":
                self.complete(job_id)


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch) -> LiveLike:
    monkeypatch.setenv("TOGETHER_BASE_URL", PROXY)
    return LiveLike()


def recorder(live: LiveLike, out: Path, **kwargs: Any) -> Recorder:
    from ftrouter_together import TogetherBackend

    return Recorder(lambda retry: TogetherBackend(api_key=TEST_KEY, transport=live.transport(), retry=retry),
                    out_dir=out, secrets=(TEST_KEY,), sleep=lambda seconds: live.tick(), say=lambda line: None,
                    label="against an in-memory fake (offline self-test)", **kwargs)


def job_reads(path: Path) -> int:
    return sum(1 for r in replies(path) if r.method == "GET" and re.fullmatch(r"/fine-tunes/[^/]+", r.path))


def test_every_flow_records_normalised_and_replays(live: LiveLike, tmp_path: Path) -> None:
    rec = recorder(live, tmp_path)
    for name in FLOWS:
        path = rec.record(name)
        replay_and_check(name, tmp_path)  # the tests' own replay and checks, on the new cassette
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# RECORDED against an in-memory fake (offline self-test) on ")
        leaked = [word for word in PRIVATE if word in text] + re.findall(r"(?i)authorization|bearer", text)
        assert not leaked, f"{name}: {leaked}"
        assert all(r.method and r.status == 200 for r in replies(path))
        schema.test_bodies_follow_the_published_schemas(path)  # placeholders keep every body valid

    sft = tmp_path / "sft_lora_job_runs_to_success.yaml"
    polled = sum(1 for r in live.requests if r.method == "GET" and re.fullmatch(r"/v1/fine-tunes/ft-[^/]+", r.url.path))
    assert job_reads(sft) == 3 and polled > 3 * len(FLOWS)  # the polls reached the fake, not the cassette
    text = sft.read_text(encoding="utf-8")
    for value in (job_placeholder(1), file_placeholder(1), f'"{ACCOUNT}/gpt-oss-20b-support-ftr-tgsft1"',
                  f'"user_id": "{USER}"', f'"owner_address": "{EMAIL}"', f'"wandb_url": "{WANDB_URL}"',
                  "https://api.together.ai/v1/fine-tunes/"):
        assert value in text, value


def test_only_the_flows_own_job_is_listed(live: LiveLike, tmp_path: Path) -> None:
    path = recorder(live, tmp_path).record("find_a_job_by_its_local_id")
    [listing] = [r.body for r in replies(path) if r.method == "GET" and r.path == "/fine-tunes"][:1]
    assert [job["id"] for job in listing["data"]] == [job_placeholder(1)]
    assert len(live.jobs) == 2  # the foreign job was there to be listed


def test_the_failing_flow_uploads_data_without_assistant_turns(live: LiveLike, tmp_path: Path) -> None:
    path = recorder(live, tmp_path).record("failed_job_reports_the_error")
    [upload] = [i["request"]["body"] for i in yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]
                if i["request"]["uri"].endswith("/files/upload")]
    assert 'filename="chat_train.jsonl"' in upload and '"assistant"' not in upload and '"user"' in upload
    assert "# The job was given failing data" in path.read_text(encoding="utf-8")


def test_jobs_left_running_are_cancelled_unrecorded(live: LiveLike, tmp_path: Path) -> None:
    path = recorder(live, tmp_path).record("dpo_full_job_with_validation")
    [job] = [j for j in live.jobs.values() if j["suffix"] == "ftr-tgdpo1"]
    assert job["status"] == "cancel_requested"
    assert not any(r.path.endswith("/cancel") for r in replies(path))


def test_a_failing_job_that_succeeds_writes_nothing(live: LiveLike, tmp_path: Path) -> None:
    accepted = tmp_path / "accepted.jsonl"
    accepted.write_text((DATA / "chat_train.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(RecordingFailed, match="ended completed, not error: Together accepted the failing data"):
        recorder(live, tmp_path, failing_data=accepted).record("failed_job_reports_the_error")
    assert not list(tmp_path.glob("*.yaml"))


def test_a_job_that_never_gets_there_times_out(live: LiveLike, tmp_path: Path) -> None:
    live.tick = lambda: None  # type: ignore[method-assign]  # Together's queue never moves
    clock = iter(range(0, 10_000, 60))
    with pytest.raises(RecordingFailed, match="was not running after 5 min"):
        recorder(live, tmp_path, timeout=300, clock=lambda: float(next(clock))).record("dpo_full_job_with_validation")
    assert not list(tmp_path.glob("*.yaml")) and all(j["status"] != "pending" for j in live.jobs.values())


def test_a_recording_the_tests_would_refuse_is_not_written(live: LiveLike, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import together_record

    def refuse(name: str, cassettes: Path) -> None:
        raise AssertionError("train_loss differs")

    monkeypatch.setattr(together_record, "replay_and_check", refuse)
    with pytest.raises(RecordingFailed, match=r"does not replay as the tests do .*train_loss differs"):
        recorder(live, tmp_path).record("cancel_a_job")
    assert not list(tmp_path.glob("*.yaml"))


def test_the_normaliser_drops_secrets_headers_and_the_proxy_url() -> None:
    interaction = {"request": {"method": "GET", "uri": f"{PROXY}/fine-tunes", "body": None, "headers": {}},
                   "response": {"status": {"code": 200}, "headers": {"Set-Cookie": ["s=1"]},
                                "body": {"string": json.dumps({"data": [], "note": "key tg-other-secret"})}}}
    [clean] = Normaliser(base_url=PROXY, secrets=("tg-other-secret",))([interaction])
    assert clean["request"]["uri"] == "https://api.together.ai/v1/fine-tunes" and clean["response"]["headers"] == {}
    assert "tg-other-secret" not in json.dumps(clean)


def test_without_assistant_turns_keeps_the_prompts() -> None:
    rows = [json.loads(line) for line in without_assistant_turns(DATA / "chat_train.jsonl").splitlines()]
    assert len(rows) == 10 and all(m["role"] in ("system", "user") for row in rows for m in row["messages"])


def test_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from together_record import main

    assert parse_args(["--flow", "cancel_a_job", "--model", "m/x"]).model == "m/x"
    with pytest.raises(SystemExit):
        parse_args(["--failing-data", str(tmp_path / "missing.jsonl")])
    assert main(["--flow", "cancel_a_job"]) == 4  # no TOGETHER_API_KEY: nothing is sent
    assert "TOGETHER_API_KEY is not set" in capsys.readouterr().err


def test_a_refused_flow_is_one_line_with_its_exit_code(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    import together_record

    from ftrouter.errors import UsageError

    def refused(self: Recorder, name: str) -> Path:
        raise UsageError("uploading chat_train.jsonl: Together answered: no trainable examples (400)")

    monkeypatch.setenv("TOGETHER_API_KEY", "tg-fake.record.only")
    monkeypatch.setattr(together_record.Recorder, "record", refused)
    assert together_record.main(["--flow", "failed_job_reports_the_error"]) == 2
    err = capsys.readouterr().err
    assert "failed_job_reports_the_error not recorded: " in err and "no trainable examples" in err
    assert "--failing-data FILE" in err
    assert "Traceback" not in err
