"""Benchmark: ``ftrouter advise configs/tasks/<x>.yaml --json`` wall time, against the CLI's own start.

For every example profile, runs the command as a fresh process several times and takes the median
wall time; in the same run it times ``ftrouter --version`` (the interpreter plus the CLI's imports:
the floor no command can go below) and prints, per profile, the advise time, its ratio to that
reference, and whether it meets the target (0.35 s). CPU time is printed too: on a machine shared
with other work, wall time rises with the load while CPU time stays close to the unloaded wall time.
Also checks that no heavy module (torch, transformers, a provider SDK, rich) is imported on the
``--json`` path.

    python benchmarks/bench_advise.py [--repeat 7] [--target 0.35]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TASKS = ROOT / "configs" / "tasks"
HEAVY = ("torch", "transformers", "trl", "peft", "openai", "google.genai", "vertexai", "rich")
CLI = [sys.executable, "-m", "ftrouter"]


def timed(args: list[str], repeat: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of running ``args`` as a fresh process.

    CPU time barely moves when other work shares the machine; wall time is what the target is about.
    """
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def heavy_imports(profile: Path) -> list[str]:
    script = ("import sys\nfrom ftrouter.cli.app import main\n"
              "try:\n    main(['advise', sys.argv[1], '--json'])\nexcept SystemExit:\n    pass\n"
              f"print(','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", script, str(profile)], capture_output=True, text=True, check=True)
    return [m for m in done.stderr.strip().split(",") if m]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--target", type=float, default=0.35)
    args = parser.parse_args()
    reference, reference_cpu = timed([*CLI, "--version"], args.repeat)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"reference `ftrouter --version`: {reference:.3f} s wall, {reference_cpu:.3f} s CPU "
          f"(median of {args.repeat})")
    print(f"{'profile':34} {'wall s':>7} {'x ref':>6} {'CPU s':>6} {'x ref':>6}  target {args.target:.2f} s wall")
    worst = 0.0
    for profile in sorted(TASKS.glob("*.yaml")):
        seconds, cpu = timed([*CLI, "advise", str(profile), "--json"], args.repeat)
        worst = max(worst, seconds)
        verdict = "ok" if seconds < args.target else "SLOW"
        print(f"{profile.name:34} {seconds:7.3f} {seconds / reference:6.2f} {cpu:6.3f} {cpu / reference_cpu:6.2f}  "
              f"{verdict}")
    heavy = heavy_imports(TASKS / "invoice-extraction.yaml")
    print(f"worst {worst:.3f} s = {worst / reference:.2f} x reference; heavy imports on the --json path: "
          f"{', '.join(heavy) or 'none'}")
    return 0 if worst < args.target and not heavy else 1


if __name__ == "__main__":
    sys.exit(main())
