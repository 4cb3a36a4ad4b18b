"""Benchmark: ``ftrouter eval`` on 2,000 examples against a loopback OpenAI-compatible server that
answers every request after 100 ms, at ``--concurrency 32``.

The ideal is the waiting alone, 2,000 / 32 x 0.1 s = 6.25 s, plus the command's fixed work (start-up,
reading, metrics, the stored run, the report), measured in the same run as a rerun of the same command
answered entirely from the cache. Target: wall time within 1.5x of that ideal; the ratio is printed.
Memory: the peak RSS of the command at 500 and at 2,000 examples (fresh caches both), printed with the
growth per 1,000 examples, which should be small and made of the kept answers, not of requests.

The server runs in its own process (tests/eval/loopback_openai.py) so its threads do not share the
client's GIL; everything binds to 127.0.0.1.

    python benchmarks/bench_eval_concurrency.py [--examples 2000] [--concurrency 32] [--delay 0.1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "tests" / "eval" / "loopback_openai.py"
TARGET = 1.5


def child(argv: list[str]) -> None:
    """Run the CLI in this process and report its peak RSS (KiB on Linux) on the last stderr line."""
    from ftrouter.cli.app import main

    try:
        main(argv)
    finally:
        print(f"peak_rss_kib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)


def write_eval(path: Path, n: int) -> Path:
    with path.open("w") as f:
        for i in range(n):
            f.write(json.dumps({"messages": [{"role": "user", "content": f"question {i}: what is {i} + 1?"},
                                             {"role": "assistant", "content": f"question {i}: what is {i} + 1?"}]})
                    + "\n")
    return path


def run_eval(data: Path, base_url: str, concurrency: int, home: Path) -> tuple[float, int, dict[str, object]]:
    env = {**os.environ, "FTROUTER_HOME": str(home), "PYTHONPATH": os.pathsep.join(
        [str(ROOT), str(ROOT / "providers" / "openai"), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, __file__, "--child", "eval", "--data", str(data), "--model", f"openai:m@{base_url}",
           "--concurrency", str(concurrency), "--json"]
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"ftrouter eval failed ({done.returncode}): {done.stderr[-2000:]}")
    rss = int(done.stderr.strip().splitlines()[-1].split("=")[1])
    return wall, rss, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--small", type=int, default=500, help="examples of the second memory point")
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, str(SERVER), str(args.delay)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            data = write_eval(root / "eval.jsonl", args.examples)
            wall, rss_big, doc = run_eval(data, base_url, args.concurrency, root / "home")
            fixed, _, cached_doc = run_eval(data, base_url, args.concurrency, root / "home")
            small = write_eval(root / "small.jsonl", args.small)
            _, rss_small, _ = run_eval(small, base_url, args.concurrency, root / "home-small")
        model = doc["models"][0]  # type: ignore[index]
        assert model["errors"] == 0 and cached_doc["models"][0]["cached"] == args.examples  # type: ignore[index]
    finally:
        server.kill()
        server.wait()
    waiting = args.examples / args.concurrency * args.delay
    ideal = waiting + fixed
    ratio = wall / ideal
    growth = (rss_big - rss_small) / 1024 / ((args.examples - args.small) / 1000)
    print(f"examples {args.examples}, concurrency {args.concurrency}, server delay {args.delay * 1000:.0f} ms")
    print(f"wall {wall:.2f} s; ideal {ideal:.2f} s = waiting {waiting:.2f} s + fixed work {fixed:.2f} s "
          "(a rerun from the cache)")
    print(f"ratio {ratio:.2f} (target <= {TARGET}): {'OK' if ratio <= TARGET else 'MISSED'}")
    print(f"sending alone: {wall - fixed:.2f} s against {waiting:.2f} s of waiting: {(wall - fixed) / waiting:.2f}x")
    print(f"peak RSS: {rss_small / 1024:.0f} MiB at {args.small} examples, {rss_big / 1024:.0f} MiB at "
          f"{args.examples}: {growth:.1f} MiB per 1,000 examples")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    else:
        main()
