"""Re-record cassettes/together/*.yaml against the live Together AI API - one command, a real key.

    TOGETHER_API_KEY=... .venv/bin/python tests/providers/together/together_record.py \\
        [--flow sft_lora_job_runs_to_success --flow cancel_a_job ...] [--model openai/gpt-oss-20b] \\
        [--poll 30] [--timeout-min 240] [--failing-data FILE]

The flows are ``together_flows.py``'s, run with the real adapter (``TOGETHER_BASE_URL`` honoured). Where a
flow moves its job along (``advance``), the recorder polls the real job until it gets there, printing each
poll; those polls - and the clean-up cancels after a flow - are not stored, so the cassette holds exactly
the flow's own calls and replays with ``together_replay`` (the tests' replay) unchanged.

COST (Together bills tokens processed; each flow prints Together's own estimate for its job):
sft_lora_job_runs_to_success trains a small LoRA job (10 short examples, 2 epochs) to the end - queue plus
training, bounded by --timeout-min; dpo_full_job_with_validation is cancelled as soon as it runs (a
cancelled job pays its completed steps); the cancel and find flows cancel their job straight after creating
it, normally while it is still queued.

failed_job_reports_the_error needs data that Together accepts at upload and create but fails in the job.
Nothing can force that, and it is not documented: by default the flow uploads the same conversations
with every assistant turn removed (so, with prompts masked, nothing is left to train on), under the
file name the replay sends. Whether Together fails such a job has NOT been verified (these machines
cannot reach it); pass ``--failing-data FILE`` to try other data. The recorder writes the cassette
only when the job really ends in ``error``.

Every recording is normalised (``together_normalise.Normaliser``: ids, account, user ids, e-mails, W&B,
the key, other jobs), replayed and checked like the tests do, and only then replaces the cassette, with
a "# RECORDED live" banner. Anything that goes wrong leaves the existing cassette as it was.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [p for p in (str(HERE), str(HERE.parent / "openai")) if p not in sys.path]

import vcr_support  # noqa: E402
from test_together_flows import MODEL  # noqa: E402
from together_flows import FLOWS  # noqa: E402
from together_normalise import API, Normaliser, created_jobs  # noqa: E402
from together_replay import CASSETTES, replay_and_check  # noqa: E402
from together_shared import DATA  # noqa: E402

from ftrouter.errors import FtrouterError  # noqa: E402
from ftrouter.http import RetryPolicy  # noqa: E402
from ftrouter.jobs.models import JobState, RemoteRef  # noqa: E402

FAILING_FLOW = "failed_job_reports_the_error"
TARGETS = {"run": JobState.RUNNING, "complete": JobState.SUCCEEDED, "error": JobState.FAILED}
BANNER = """\
# RECORDED {label} on {date}
# by tests/providers/together/together_record.py (flow: {flow}; model: {model}).
# Normalised: job and file ids, the account name, user ids and e-mail addresses replaced with fixed
# placeholders, W&B URLs and keys redacted, other jobs dropped from list answers, the endpoint written
# as {api}; only content-type (and retry-after) headers kept. The polls that waited for the job to move
# on are not stored.
"""
BackendFactory = Callable[[RetryPolicy], Any]  # a TogetherBackend with this retry policy


class RecordingFailed(Exception):
    """The flow could not be recorded as it must replay; nothing was written."""


def without_assistant_turns(source: Path) -> str:
    """``source``'s conversations with every assistant turn removed: nothing left to train on."""
    lines = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            row["messages"] = [m for m in row["messages"] if m.get("role") != "assistant"]
            lines.append(json.dumps(row))
    return "\n".join(lines) + "\n"


class Recorder:
    def __init__(self, backend_factory: BackendFactory, *, model: str = MODEL, poll: float = 30.0,
                 timeout: float = 4 * 3600, failing_data: Path | None = None, secrets: tuple[str, ...] = (),
                 base_url: str | None = None, out_dir: Path = CASSETTES, label: str = "live against Together AI",
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 say: Callable[[str], None] = print) -> None:
        from ftrouter_together.client import base_url as configured_url

        self.backend_factory = backend_factory
        self.model, self.poll, self.timeout, self.failing_data = model, poll, timeout, failing_data
        self.normaliser = Normaliser(base_url=configured_url(base_url), secrets=secrets)
        self.out_dir, self.label = out_dir, label
        self.sleep, self.clock, self.say = sleep, clock, say
        self.recording = True  # False while advance polls: vcrpy then stores nothing

    # -- recording ---------------------------------------------------------------------------------

    def record(self, name: str) -> Path:
        """Record flow ``name`` and, once it replays and passes its check, write it to ``out_dir``."""
        with tempfile.TemporaryDirectory(prefix="ftrouter-together-") as scratch:
            folder = Path(scratch)
            raw = folder / "raw.yaml"
            try:
                result = self._run(name, raw, folder)
            finally:
                self._clean_up(raw)
            estimate = (result["ref"].extra.get("estimate") or {}).get("estimated_total_price")
            self.say(f"  Together estimated this job at ${estimate}")
            candidate = folder / "replayed" / f"{name}.yaml"
            try:
                interactions = self.normaliser(_load(raw))
            except ValueError as exc:  # a secret it could not place: nothing is written
                raise RecordingFailed(str(exc)) from None
            self._write(candidate, name, interactions)
            self._verify(name, candidate)
            target = self.out_dir / f"{name}.yaml"
            target.parent.mkdir(parents=True, exist_ok=True)
            staged = target.with_suffix(".tmp")
            staged.write_text(candidate.read_text(encoding="utf-8"), encoding="utf-8")
            staged.replace(target)  # atomically: a half-written cassette never replaces a good one
        return target

    def _run(self, name: str, raw: Path, folder: Path) -> dict[str, Any]:
        import vcr

        config = {**vcr_support.vcr_config(), "before_record_request": self._before_record_request}
        recorder = vcr.VCR(record_mode="all", **config)
        vcr_support.configure(recorder)
        # One attempt per recorded call: a retried one would leave an answer the replay never asks for.
        # The polls are not recorded, so they retry as usual and survive a blip during a long wait.
        backend = self.backend_factory(RetryPolicy(attempts=1))
        poller = self.backend_factory(RetryPolicy(sleep=self.sleep))
        data_dir = self._failing_dir(folder) if name == FAILING_FLOW else DATA
        with recorder.use_cassette(str(raw), serializer="yaml"):
            return FLOWS[name](backend, partial(self._advance, poller), model=self.model, data_dir=data_dir)

    def _before_record_request(self, request: Any) -> Any:
        return vcr_support.before_record_request(request) if self.recording else None

    @contextmanager
    def unrecorded(self) -> Iterator[None]:
        self.recording = False
        try:
            yield
        finally:
            self.recording = True

    def _failing_dir(self, folder: Path) -> Path:
        """A data folder whose chat_train.jsonl (the name the replay uploads) holds the failing data."""
        data_dir = folder / "failing-data"
        data_dir.mkdir()
        text = (self.failing_data.read_text(encoding="utf-8") if self.failing_data
                else without_assistant_turns(DATA / "chat_train.jsonl"))
        (data_dir / "chat_train.jsonl").write_text(text, encoding="utf-8")
        return data_dir

    # -- advance: wait for the real job ------------------------------------------------------------

    def _advance(self, poller: Any, remote_id: str, move: str) -> None:
        want = TARGETS[move]
        ref = RemoteRef(backend="together", remote_id=remote_id, local_id="recording")
        deadline = self.clock() + self.timeout
        with self.unrecorded():
            while True:
                status = poller.status(ref)
                self.say(f"  {remote_id}: {status.raw_state} (waiting for {want.value})")
                if status.state is want and status.raw_state != "cancel_requested":
                    if status.error is not None:
                        self.say(f"  Together's error: {status.error.message}")
                    return
                if status.state.terminal:
                    raise RecordingFailed(_ended_early(remote_id, status.raw_state, move))
                if self.clock() >= deadline:
                    raise RecordingFailed(f"{remote_id} was not {want.value} after {self.timeout / 60:.0f} min "
                                          "(--timeout-min)")
                self.sleep(self.poll)

    def _clean_up(self, raw: Path) -> None:
        """Cancel what the flow left running (not recorded: the cassette is closed by now)."""
        if not raw.exists():
            return
        poller = self.backend_factory(RetryPolicy(sleep=self.sleep))
        for remote_id in created_jobs(_load(raw)):
            ref = RemoteRef(backend="together", remote_id=remote_id, local_id="recording")
            try:
                status = poller.status(ref)
                if not status.state.terminal and status.raw_state != "cancel_requested":
                    poller.cancel(ref)
                    self.say(f"  cancelled {remote_id} (left {status.raw_state} by the flow)")
            except FtrouterError as exc:
                self.say(f"  could not cancel {remote_id}: {exc}; cancel it yourself")

    # -- writing ------------------------------------------------------------------------------------

    def _write(self, path: Path, name: str, interactions: list[dict[str, Any]]) -> None:
        header = BANNER.format(label=self.label, date=datetime.now(UTC).date().isoformat(), flow=name,
                               model=self.model, api=API)
        if name == FAILING_FLOW:
            source = self.failing_data.name if self.failing_data else "chat_train.jsonl without its assistant turns"
            header += f"# The job was given failing data ({source}), uploaded as chat_train.jsonl.\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + vcr_support.ReadableYaml.serialize({"version": 1, "interactions": interactions}),
                        encoding="utf-8")

    def _verify(self, name: str, candidate: Path) -> None:
        try:
            replay_and_check(name, candidate.parent)
        except (AssertionError, FtrouterError) as exc:
            raise RecordingFailed(f"the recording does not replay as the tests do ({type(exc).__name__}: {exc}); "
                                  "usually the job moved on between the last poll and the flow's own call - "
                                  "record the flow again") from None


def _ended_early(remote_id: str, raw_state: str | None, move: str) -> str:
    if move == "error":
        return (f"{remote_id} ended {raw_state}, not error: Together accepted the failing data - "
                "choose data it rejects with --failing-data FILE")
    if move == "run":
        return f"{remote_id} ended {raw_state} before a poll saw it running - try a shorter --poll"
    return f"{remote_id} ended {raw_state} while the flow waited for it to complete"


def _load(path: Path) -> list[dict[str, Any]]:
    import yaml

    return list((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("interactions") or [])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--flow", action="append", choices=list(FLOWS), help="flows to record (default: all)")
    parser.add_argument("--model", default=MODEL, help=f"base model to fine-tune (default {MODEL})")
    parser.add_argument("--poll", type=float, default=30.0, help="seconds between status polls (default 30)")
    parser.add_argument("--timeout-min", type=float, default=240.0, help="longest wait for one job (default 240)")
    parser.add_argument("--failing-data", type=Path, help="JSONL for the failed-job flow: data Together fails")
    args = parser.parse_args(argv)
    if args.failing_data is not None and not args.failing_data.is_file():
        parser.error(f"--failing-data {args.failing_data}: no such file")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    key = os.environ.get("TOGETHER_API_KEY", "").strip()
    if not key:
        print("TOGETHER_API_KEY is not set: export a Together AI API key to record", file=sys.stderr)
        return 4
    from ftrouter_together import TogetherBackend

    recorder = Recorder(lambda retry: TogetherBackend(api_key=key, retry=retry), model=args.model, poll=args.poll,
                        timeout=args.timeout_min * 60, failing_data=args.failing_data,
                        secrets=(key, os.environ.get("WANDB_API_KEY", "").strip()))
    for name in args.flow or list(FLOWS):
        print(f"recording {name} ...")
        try:
            print(f"  wrote {recorder.record(name)}")
        except RecordingFailed as exc:
            print(f"  {name} not recorded: {exc}", file=sys.stderr)
            return 1
        except FtrouterError as exc:  # one line, and the cassette is left as it was
            hint = (" (if Together refused the failing data itself, this flow needs data that fails inside the "
                    "job: try --failing-data FILE)") if name == FAILING_FLOW else ""
            print(f"  {name} not recorded: {exc}{hint}", file=sys.stderr)
            return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
