"""Benchmark: peak memory of ``inspect_file`` stays flat as the file grows (target: < 300 MB on 1 GB).

For each size it generates a chat file (the generator of bench_data_inspect.py), runs
``ftrouter.data.inspect_file`` in a fresh process and reports that process's peak RSS and the largest
peak RSS of its worker processes (big files are inspected by forked workers, which share the
tokenizer's memory copy-on-write). As a reference, in the same run, it measures the naive approach
(``json.loads`` every line into one list) on the files up to ``--reference-max-mb``; the printed ratio
is reference RSS / ftrouter RSS.

    python benchmarks/bench_data_memory.py                 # 32, 64, 128, 256 MB
    python benchmarks/bench_data_memory.py --gb            # adds a 1 GB file (about 1 minute to generate)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_data_inspect import generate

BYTES_PER_EXAMPLE = 2_800  # what the generator writes on average with its defaults

FTROUTER = """
import resource, sys
from ftrouter.data import inspect_file
report = inspect_file(sys.argv[1], model="gpt-4.1-mini-2025-04-14")
me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{me:.0f} {workers:.0f} {report.examples} {report.tokens.total}")
"""

REFERENCE = """
import json, resource, sys
rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
print(f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} {len(rows)}")
"""


def _run(script: str, path: Path) -> list[str]:
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True)
    return out.stdout.split()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[32, 64, 128, 256])
    parser.add_argument("--gb", action="store_true", help="also measure a 1 GB file")
    parser.add_argument("--reference-max-mb", type=int, default=256)
    args = parser.parse_args(argv)
    sizes = [*args.sizes_mb, *([1024] if args.gb else [])]

    print(f"{'file MB':>8} {'examples':>9} {'ftrouter RSS MB':>16} {'worker RSS MB':>14} {'naive RSS MB':>13} "
          f"{'ratio':>6}")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for mb in sizes:
            path = Path(tmp) / f"chat-{mb}.jsonl"
            generate(path, mb * 1024 * 1024 // BYTES_PER_EXAMPLE, system_words=300)
            real_mb = path.stat().st_size / 1024 / 1024
            me, workers, examples, _ = _run(FTROUTER, path)
            peak = max(float(me), float(workers))
            worst = max(worst, peak)
            naive, ratio = "-", "-"
            if mb <= args.reference_max_mb:
                naive = _run(REFERENCE, path)[0]
                ratio = f"{float(naive) / float(me):.1f}x"
            print(f"{real_mb:8.0f} {int(examples):9,} {float(me):16.0f} {float(workers):14.0f} {naive:>13} "
                  f"{ratio:>6}", flush=True)
            path.unlink()
    print(f"largest single-process peak: {worst:.0f} MB (target < 300 MB on 1 GB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
