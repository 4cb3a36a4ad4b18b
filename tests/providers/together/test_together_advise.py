"""With the Together plugin installed, advice ranks it like any backend: an open-model task whose model
fits no stated GPU can still be fine-tuned, on Together (before, no backend was left)."""

from __future__ import annotations

from pathlib import Path

import pytest
from clirun import run_cli

PROFILE = """\
task: pull fields out of invoices
task_type: extraction
failures: [format]
examples: 800
eval_set_size: 100
model_family: open
model_size_b: 70
gpu_memory_gb: 24
"""


def test_open_70b_without_a_fitting_gpu_goes_to_together(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    task = tmp_path / "task.yaml"
    task.write_text(PROFILE, encoding="utf-8")
    code, out, err = run_cli(capsys, "advise", str(task), "--json")
    assert code == 0, err
    advice = json.loads(out)
    assert advice["recommendation"] == "finetune"
    assert advice["backends"] == ["together"] and advice["method"] == "managed"
    assert {b["backend"] for b in advice["backend_details"]} >= {"together", "local", "vertex", "openai"}
