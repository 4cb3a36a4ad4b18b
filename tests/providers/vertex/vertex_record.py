"""Re-record cassettes/vertex/*.yaml against the live Vertex AI API - one command, real credentials.

    .venv/bin/python tests/providers/vertex/vertex_record.py --project MY_PROJECT --bucket gs://MY_BUCKET \\
        [--region us-central1] [--flow submit_succeeded --flow job_cancelled ...] [--poll 60] \\
        [--untunable-region europe-north1] [--readonly-bucket gs://A_BUCKET_YOU_CANNOT_WRITE]

Credentials are found in Google's usual order (GOOGLE_APPLICATION_CREDENTIALS, or
``gcloud auth application-default login``). The bucket should be in the region. COST: submit_succeeded
runs a real (small) tuning job to the end - typically an hour or more - and job_failed / job_cancelled
start two more; the other flows make no job.

Every recording goes through ``vertex_cassette_tools.Normaliser``: the project id and number, regions,
buckets and service-account e-mails become the fixed test values, only Content-Type headers are kept,
OAuth token exchanges are not stored. Polls that repeat the state of the previous poll are dropped so the
cassettes stay short, and each file starts with a "# RECORDED live" banner. The tests read job ids and
counts from the cassettes, so they replay a new recording without being edited.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from vertex_cassette_tools import (  # noqa: E402
    TEST_BUCKET,
    Normaliser,
    flow_job,
    readable_body,
    vertex_json_body,
    write_cassette,
)

CASSETTES = HERE.parents[2] / "cassettes" / "vertex"
FLOWS = ("submit_succeeded", "job_failed", "job_cancelled", "find_by_local_id_found", "find_by_local_id_missing",
         "bucket_missing", "bucket_not_writable", "model_not_tunable")
BANNER = """\
# RECORDED live against Vertex AI on {date} by tests/providers/vertex/vertex_record.py (flow: {flow}).
# Normalised: project "ftrouter-test" (number 123456789012), region us-central1, bucket ftrouter-test-bucket,
# service accounts; only Content-Type headers kept; no Authorization header, no OAuth token exchange.
# Polls that repeated the previous state were dropped.
"""
# Data Vertex rejects while the job runs (the model speaks first): the job ends FAILED.
BAD_TRAIN_LINES = [{"contents": [{"role": "model", "parts": [{"text": "hello"}]},
                                 {"role": "user", "parts": [{"text": "hi"}]}]}] * 20


class Recorder:
    def __init__(self, args: argparse.Namespace, backend_factory: Callable[[], Any] | None = None,
                 sleep: Callable[[float], None] = time.sleep, out_dir: Path = CASSETTES) -> None:
        self.args = args
        self.bucket = args.bucket.removeprefix("gs://").strip("/")
        self.missing_bucket = f"{self.bucket}-ftrouter-missing-{uuid.uuid4().hex[:8]}"
        extra = {self.missing_bucket: TEST_BUCKET}
        if args.readonly_bucket:
            extra[args.readonly_bucket.removeprefix("gs://").strip("/")] = TEST_BUCKET
        if args.untunable_region:
            extra[args.untunable_region] = "europe-north1"
        self.normaliser = Normaliser(project=args.project, region=args.region, bucket=self.bucket, extra=extra)
        self.backend_factory = backend_factory or self._live_backend
        self.sleep = sleep
        self.out_dir = out_dir

    @staticmethod
    def _live_backend() -> Any:
        from ftrouter_vertex import VertexBackend

        return VertexBackend()

    # -- recording ---------------------------------------------------------------------------------

    def record(self, flow: str) -> Path:
        import vcr

        recorder = vcr.VCR(record_mode="all", decode_compressed_response=True,
                           before_record_request=self.normaliser.request,
                           before_record_response=self.normaliser.response,
                           match_on=["method", "scheme", "host", "port", "path", "query", "vertex_json_body"])
        recorder.register_matcher("vertex_json_body", vertex_json_body)
        with tempfile.TemporaryDirectory() as scratch:
            raw = Path(scratch) / f"{flow}.yaml"
            with recorder.use_cassette(str(raw)) as cassette:
                getattr(self, flow)(self.backend_factory())
            interactions = collapse_polls([readable(r, s) for r, s in zip(cassette.requests, cassette.responses,
                                                                           strict=True)])
        path = self.out_dir / f"{flow}.yaml"
        write_cassette(path, interactions, BANNER.format(date=datetime.now(UTC).date().isoformat(), flow=flow))
        return path

    def _job(self, local_id: str, **kwargs: Any) -> Any:
        kwargs.setdefault("region", self.args.region)
        return flow_job(local_id, project=self.args.project, bucket=kwargs.pop("bucket", self.bucket), **kwargs)

    def _poll(self, backend: Any, ref: Any) -> Any:
        deadline = time.monotonic() + self.args.max_hours * 3600
        while time.monotonic() < deadline:
            status = backend.status(ref)
            if status.state.terminal:
                return status
            self.sleep(self.args.poll)
        raise SystemExit(f"{ref.remote_id} did not end within {self.args.max_hours} h; nothing was written")

    # -- the flows (each makes exactly the calls its test makes, in the same order) -----------------

    def submit_succeeded(self, backend: Any) -> None:
        ref = backend.submit(self._job("ftr-k3v9qa"))
        self._poll(backend, ref)
        backend.events(ref)

    def job_failed(self, backend: Any) -> None:
        ref = backend.submit(self._job("ftr-fa1l3d", train_lines=BAD_TRAIN_LINES))
        self._poll(backend, ref)
        backend.events(ref)

    def job_cancelled(self, backend: Any) -> None:
        ref = backend.submit(self._job("ftr-c4nc3l"))
        status = backend.status(ref)
        while status.raw_state != "JOB_STATE_RUNNING" and not status.state.terminal:
            self.sleep(self.args.poll)
            status = backend.status(ref)
        backend.cancel(ref)
        self._poll(backend, ref)
        backend.events(ref)

    def find_by_local_id_found(self, backend: Any) -> None:
        backend.find_by_local_id_in("ftr-c4nc3l", project=self.args.project, region=self.args.region)

    def find_by_local_id_missing(self, backend: Any) -> None:
        backend.find_by_local_id_in("ftr-n0j0b5", project=self.args.project, region=self.args.region)

    def _expect_failure(self, action: Callable[[], Any]) -> None:
        from ftrouter.errors import FtrouterError

        try:
            action()
        except FtrouterError as exc:
            print(f"  recorded the expected failure: {exc}")
            return
        raise SystemExit("the call succeeded; this flow must record a failure")

    def bucket_missing(self, backend: Any) -> None:
        self._expect_failure(lambda: backend.submit(self._job("ftr-b0ck3t", bucket=self.missing_bucket)))

    def bucket_not_writable(self, backend: Any) -> None:
        if not self.args.readonly_bucket:
            raise SystemExit("bucket_not_writable needs --readonly-bucket gs://A_BUCKET_YOU_CANNOT_WRITE")
        bucket = self.args.readonly_bucket.removeprefix("gs://").strip("/")
        self._expect_failure(lambda: backend.submit(self._job("ftr-b0ck3t", bucket=bucket)))

    def model_not_tunable(self, backend: Any) -> None:
        region = self.args.untunable_region
        self._expect_failure(lambda: backend.submit(self._job("ftr-n0tun3", region=region)))


def readable(request: Any, response: dict[str, Any]) -> dict[str, Any]:
    """One vcrpy interaction in the cassettes' readable form."""
    headers = {k: list(v) if isinstance(v, list | tuple) else [v] for k, v in request.headers.items()}
    return {
        "request": {"method": request.method, "uri": request.uri, "body": readable_body(request.body),
                    "headers": headers},
        "response": {"status": dict(response["status"]), "headers": dict(response["headers"]),
                     "body": {"string": readable_body(response["body"].get("string")) or ""}},
    }


def _polled_state(interaction: dict[str, Any]) -> tuple[str, str] | None:
    import json

    request = interaction["request"]
    if request["method"] != "GET" or "/tuningJobs/" not in request["uri"]:
        return None
    try:
        return request["uri"], json.loads(interaction["response"]["body"]["string"]).get("state", "")
    except ValueError:
        return None


def collapse_polls(interactions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop a poll that returned the same job in the same state as the poll just before it (the last
    interaction - the events call - always stays)."""
    kept: list[dict[str, Any]] = []
    for index, interaction in enumerate(interactions):
        state = _polled_state(interaction)
        last = index == len(interactions) - 1
        if state is not None and kept and _polled_state(kept[-1]) == state and not last:
            continue
        kept.append(interaction)
    return kept


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", default=os.environ.get("GOOGLE_CLOUD_PROJECT"), required=False)
    parser.add_argument("--region", default=os.environ.get("GOOGLE_CLOUD_LOCATION", "us-central1"))
    parser.add_argument("--bucket", required=True, help="gs://BUCKET (in the region) for the uploads")
    parser.add_argument("--flow", action="append", choices=FLOWS, help="flows to record (default: all)")
    parser.add_argument("--poll", type=float, default=60.0, help="seconds between status polls")
    parser.add_argument("--max-hours", type=float, default=6.0)
    parser.add_argument("--untunable-region", default="europe-north1",
                        help="a region where gemini-2.5-flash cannot be tuned (model_not_tunable)")
    parser.add_argument("--readonly-bucket", help="a bucket these credentials cannot write (bucket_not_writable)")
    args = parser.parse_args(argv)
    if not args.project:
        parser.error("--project (or GOOGLE_CLOUD_PROJECT) is required")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ.setdefault("FTROUTER_HOME", tempfile.mkdtemp(prefix="ftrouter-record-"))
    recorder = Recorder(args)
    flows = args.flow or [f for f in FLOWS if f != "bucket_not_writable" or args.readonly_bucket]
    from ftrouter.errors import FtrouterError

    for flow in flows:  # in FLOWS order: find_by_local_id_found lists the job job_cancelled made
        print(f"recording {flow} ...")
        try:
            print(f"  wrote {recorder.record(flow)}")
        except FtrouterError as exc:  # e.g. no credentials: one line, and the cassette is left as it was
            raise SystemExit(f"  {flow} not recorded: {exc}") from None


if __name__ == "__main__":
    main()
