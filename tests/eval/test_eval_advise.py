"""``ftrouter advise TASK.yaml --eval RUN``: a stored eval run gives the measured prompting score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import run_cli

from ftrouter.errors import UsageError
from ftrouter.eval.advise_scores import scores_from_run
from ftrouter.eval.store import save_run

TASK = Path(__file__).resolve().parents[2] / "configs" / "tasks" / "invoice-extraction.yaml"


def stored(models: dict[str, tuple[float, bool]], metrics: tuple[str, ...] = ("json_fields", "exact")) -> str:
    summary = {"data": "eval.jsonl", "examples": 120, "comparisons": [], "models": [
        {"model": name, "metrics": {metrics[0]: value, metrics[1]: 0.1}} for name, (value, _) in models.items()]}
    details = {"metrics": list(metrics), "per_class": {}, "settings": {},
               "tuned": {name: tuned for name, (_, tuned) in models.items()}}
    return save_run(summary, details, [])


def test_the_best_untuned_headline_score_is_the_prompting_score() -> None:
    run = stored({"openai:gpt-4.1-mini": (0.62, False), "openai:gpt-4.1": (0.7, False),
                  "ftr-abc123": (0.93, True)})
    scores = scores_from_run(run)
    assert scores.prompting == 0.7 and scores.eval_set_size == 120 and scores.target is None


def test_a_run_of_tuned_models_only_is_refused() -> None:
    with pytest.raises(UsageError, match="no prompting baseline"):
        scores_from_run(stored({"ftr-abc123": (0.93, True)}))


def test_advise_reads_a_run(capsys: pytest.CaptureFixture[str]) -> None:
    run = stored({"openai:gpt-4.1-mini": (0.5, False)})
    code, out, err = run_cli(capsys, "advise", str(TASK), "--eval", run, "--json")
    assert code == 0, err
    assert "(0.5 vs 0.95)" in json.dumps(json.loads(out))  # the run's score replaced the profile's 0.71
    code, _, err = run_cli(capsys, "advise", str(TASK), "--eval", "ev-nosuch")
    assert code == 2 and "no eval run" in err
