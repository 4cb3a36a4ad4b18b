"""Benchmark: ``ftrouter serve`` under concurrent clients, on loopback only.

1. ``GET /v1/jobs`` with 1,000 jobs in the registry (50 unfinished, the rest ended) under 50 concurrent
   clients: requests/s, p50 and p99 latency, errors. In the same run and under the same load it times
   ``GET /v1/health`` (routing, auth and JSON with no registry work: the floor) and prints the ratio;
   ``GET /v1/jobs?all=true`` (all 1,000 records per answer) is timed too.
2. A load test: 600 concurrent reads (job list, one job, its events) and 10 concurrent submits through
   the test fake backend (tests/jobs/fake_backend.py: it creates nothing outside FTROUTER_HOME). Checks
   no errors and no lost rows (every submitted job is in the registry and in the list).

The server runs in its own process (uvicorn, the poller on) on 127.0.0.1 and a free port; its state
lives in a temporary FTROUTER_HOME that is removed afterwards. Everything is bounded by --timeout.

    python benchmarks/bench_serve.py [--requests 1000] [--clients 50] [--timeout 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

ROOT = Path(__file__).resolve().parent.parent
FAKE = ROOT / "tests" / "jobs"
JOBS, ACTIVE = 1000, 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed_registry(train: Path) -> None:
    """1,000 jobs as the CLI would leave them: 50 unfinished (the poller keeps refreshing them), the rest
    ended, each with 3 events."""
    from ftrouter.jobs.models import JobEvent, JobSpec, JobState, JobStatus, PreparedJob, Progress, RemoteRef
    from ftrouter.jobs.paths import ftrouter_home
    from ftrouter.jobs.registry import Registry

    registry = Registry()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(JOBS):
        local_id = f"ftr-b{n:05d}"
        spec = JobSpec(backend="fake", model="tiny", data=str(train))
        registry.create(PreparedJob(spec=spec, local_id=local_id, estimate={"cost_usd": 0.05}))
        registry.attach_remote(local_id, RemoteRef(backend="fake", remote_id=f"bench-{n}", local_id=local_id))
        state = JobState.RUNNING if n < ACTIVE else JobState.SUCCEEDED
        if n < ACTIVE:  # the fake backend's copy, held (paused) so the poller refreshes it for the whole run
            remote = ftrouter_home() / "fake-remote" / f"bench-{n}.json"
            remote.parent.mkdir(parents=True, exist_ok=True)
            remote.write_text(json.dumps({"id": f"bench-{n}", "local_id": local_id, "status": "paused", "step": 2,
                                          "fail": False, "events": []}))
        registry.record_status(local_id, JobStatus(state=state, progress=Progress(step=2, total_steps=3),
                                                   metrics={"loss": 0.5}, runtime={"cost_usd": 0.04}))
        registry.add_events(local_id, [JobEvent(id=f"e{i}", created_at=start + timedelta(minutes=i),
                                                message=f"step {i}", type="metrics", data={"step": i, "loss": 1 / i})
                                       for i in range(1, 4)])


def serve(port: int) -> None:
    """The server process: the fake backend registered by name, then ``ftrouter serve``'s app."""
    sys.path.insert(0, str(FAKE))
    from fake_backend import register

    register()
    from ftrouter.serve.server import run
    from ftrouter.serve.settings import ServeSettings

    run(ServeSettings(poll=True), "127.0.0.1", port)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def hammer(client: httpx.AsyncClient, path: str, total: int, clients: int) -> dict[str, float]:
    """``total`` GETs of ``path`` from ``clients`` concurrent workers: rate, latencies, errors."""
    latencies: list[float] = []
    errors = 0
    queue = iter(range(total))

    async def worker() -> None:
        nonlocal errors
        for _ in queue:
            began = time.perf_counter()
            try:
                response = await client.get(path)
                ok = response.status_code == 200
                why = f"{response.status_code} {response.text[:200]}"
            except Exception as exc:
                ok, why = False, f"{type(exc).__name__}: {exc}"
            if not ok and errors < 3:
                print(f"error: GET {path}: {why}", file=sys.stderr)
            latencies.append(time.perf_counter() - began)
            errors += not ok

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    wall = time.perf_counter() - began
    return {"rps": total / wall, "p50_ms": percentile(latencies, 0.50) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000, "errors": errors}


async def load_test(client: httpx.AsyncClient, train: Path) -> dict[str, float]:
    """600 concurrent reads and 10 concurrent submits at once."""
    reads = [client.get(path) for path in (["/v1/jobs", "/v1/jobs/ftr-b00007", "/v1/jobs/ftr-b00007/events"]
                                           * 200)]
    submits = [client.post("/v1/jobs", json={"backend": "fake", "model": "tiny", "data": str(train),
                                             "suffix": f"load-{n}"}) for n in range(10)]
    began = time.perf_counter()
    answers = await asyncio.gather(*reads, *submits, return_exceptions=True)
    wall = time.perf_counter() - began
    failed = [a for a in answers if isinstance(a, BaseException) or a.status_code not in (200, 201)]
    for answer in failed[:3]:
        why = repr(answer) if isinstance(answer, BaseException) else f"{answer.status_code} {answer.text[:200]}"
        print(f"error: {why}", file=sys.stderr)
    created = [a.json()["id"] for a in answers[len(reads):] if not isinstance(a, BaseException)
               and a.status_code == 201]
    listed = {row["id"] for row in (await client.get("/v1/jobs", params={"all": "true"})).json()}
    from ftrouter.jobs.registry import Registry

    lost = [job for job in created if job not in listed]
    return {"wall_s": wall, "errors": len(failed), "submitted": len(created), "rows": Registry().count(),
            "lost": len(lost)}


async def run(port: int, args: argparse.Namespace, train: Path) -> None:
    import httpx

    limits = httpx.Limits(max_connections=700, max_keepalive_connections=700)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=120) as client:
        deadline = time.monotonic() + 30
        while True:
            try:
                if (await client.get("/v1/health")).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start") from None
                await asyncio.sleep(0.2)
        health = await hammer(client, "/v1/health", args.requests, args.clients)
        jobs = await hammer(client, "/v1/jobs", args.requests, args.clients)
        every = await hammer(client, "/v1/jobs?all=true", max(50, args.requests // 10), args.clients)
        print(f"{JOBS:,} jobs in the registry ({ACTIVE} unfinished), {args.clients} concurrent clients, loopback")
        print(f"{'route':<24}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
        for name, total, figures in (("GET /v1/health (floor)", args.requests, health),
                                     ("GET /v1/jobs", args.requests, jobs),
                                     ("GET /v1/jobs?all=true", max(50, args.requests // 10), every)):
            print(f"{name:<24}{total:>9}{figures['rps']:>9.0f}{figures['p50_ms']:>9.1f}{figures['p99_ms']:>9.1f}"
                  f"{figures['errors']:>8.0f}")
        print(f"ratio GET /v1/jobs / health: {health['rps'] / jobs['rps']:.2f}x the time per request")
        load = await load_test(client, train)
        print(f"load test: 600 concurrent reads + 10 concurrent submits in {load['wall_s']:.1f} s: "
              f"{load['errors']} errors, {load['submitted']}/10 submitted, registry rows {load['rows']} "
              f"(expected {JOBS + 10}), lost {load['lost']:.0f}")
        ok = not (health["errors"] or jobs["errors"] or every["errors"] or load["errors"] or load["lost"]
                  or load["rows"] != JOBS + 10)
        print("result:", "OK" if ok else "FAILED")
        if not ok:
            raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # internal: run the server process
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    with tempfile.TemporaryDirectory(prefix="ftrouter-bench-serve-") as home:
        os.environ["FTROUTER_HOME"] = home
        os.environ.pop("FTROUTER_API_TOKEN", None)
        train = Path(home) / "train.jsonl"
        train.write_text("".join(f'{{"messages": [{{"role": "user", "content": "hi {i}"}}]}}\n' for i in range(5)))
        seed_registry(train)
        port = _free_port()
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], env=os.environ.copy())
        try:
            asyncio.run(asyncio.wait_for(run(port, args, train), args.timeout))
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
