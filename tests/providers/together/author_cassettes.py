"""Write the AUTHORED cassettes in cassettes/together/.

Run: ``PYTHONPATH=... .venv/bin/python tests/providers/together/author_cassettes.py``.

The machines this project is built on cannot reach api.together.ai, so these cassettes were not
recorded: each flow in ``together_flows.py`` runs the real adapter against ``fake_together.py`` (responses
written from Together's published OpenAPI spec, togethercomputer/openapi of 2026-04-28, vendored in
tests/schemas/together-openapi.subset.json) while vcrpy writes what was sent and answered;
``test_together_cassette_schema.py`` validates every body against the spec. With a key and network,
``together_record.py`` replaces them with live recordings of the same flows (which then say so instead).
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "openai")]

import vcr  # noqa: E402
import vcr_support  # noqa: E402  (tests/providers/openai: the same scrubbing, matching and YAML form)
from fake_together import FakeTogether  # noqa: E402
from together_flows import FLOWS  # noqa: E402

CASSETTES = HERE.parents[2] / "cassettes" / "together"
HEADER = """\
# AUTHORED, NOT RECORDED. Written by tests/providers/together/author_cassettes.py: the real adapter ran
# against an in-memory fake whose answers follow Together's published OpenAPI spec (togethercomputer/openapi,
# 2026-04-28; tests/schemas/together-openapi.subset.json), because the machines this project was built on
# cannot reach api.together.ai. Every body validates against the spec (test_together_cassette_schema.py).
"""


def main() -> None:
    from ftrouter_together import TogetherBackend

    from ftrouter.http import RetryPolicy

    CASSETTES.mkdir(parents=True, exist_ok=True)
    recorder = vcr.VCR(record_mode="all", **vcr_support.vcr_config())
    vcr_support.configure(recorder)
    for name, flow in FLOWS.items():
        path = CASSETTES / f"{name}.yaml"
        path.unlink(missing_ok=True)
        fake = FakeTogether()
        moves = {"run": fake.run, "complete": fake.complete, "error": partial(
            fake.error_out, message="Training data has too few tokens for the batch size")}
        backend = TogetherBackend(api_key="tg-authoring", transport=fake.transport(),
                                  base_url="https://api.together.ai/v1", retry=RetryPolicy(attempts=1))
        with recorder.use_cassette(str(path), serializer="yaml"):
            flow(backend, lambda job, move, moves=moves: moves[move](job))
        path.write_text(HEADER + path.read_text(encoding="utf-8"), encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
