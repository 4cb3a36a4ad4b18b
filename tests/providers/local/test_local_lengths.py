"""Examples longer than the training length are counted with the model's tokenizer and handled as
``--on-long`` says — never dropped silently by TRL (issue 11, item 1); recipes say where they came
from and cannot turn on remote code (issue 17, item 15)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli
from ftrouter_local import LocalBackend
from ftrouter_local.tiny import synthetic_conversations, write_jsonl
from local_helpers import ended, make_spec, wait_until

from ftrouter.errors import DataError, UsageError
from ftrouter.jobs.models import JobState

LONG = "What is one plus two? " * 20  # ~150 tokens with the tiny tokenizer; short examples are <= 42
MAX = 96


def _chat(user: str, answer: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]}


def mixed_data(folder: Path, *, short: int = 60, long_answers: int = 2, long_prompts: int = 1) -> Path:
    rows = synthetic_conversations(short, seed=3)
    rows += [_chat("What is one plus two?", LONG) for _ in range(long_answers)]
    rows += [_chat(LONG, "Three.") for _ in range(long_prompts)]
    return write_jsonl(rows, folder / f"mixed-{short}-{long_answers}-{long_prompts}.jsonl")


def _records(path: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_default_truncates_long_answers_and_drops_prompts_that_fill_the_length(
        backend: LocalBackend, tiny_model: Path, tmp_path: Path) -> None:
    data = mixed_data(tmp_path)
    prepared = backend.prepare(make_spec(tiny_model, data, max_steps=1), "ftr-len001")
    found = prepared.stats["over_max_length"]
    assert (found["max_length"], found["on_long"], found["counted_with"]) == (MAX, "truncate", str(tiny_model))
    assert found["train"] == {"records": 63, "longer_than_max_length": 3, "prompt_alone_too_long": 1,
                              "truncated": 2, "dropped": 1, "kept": 62, "example_lines": [61, 62, 63]}
    assert len(_records(prepared.files["train"])) == 62  # the dropped record is not handed to TRL
    assert any("3 of 63 record(s) are longer than max_length 96" in w and "2 cut to 96 tokens, 1 dropped" in w
               for w in prepared.warnings)


def test_drop_leaves_out_every_long_record(backend: LocalBackend, tiny_model: Path, tmp_path: Path) -> None:
    prepared = backend.prepare(make_spec(tiny_model, mixed_data(tmp_path), max_steps=1, on_long="drop"), "ftr-len002")
    assert prepared.stats["over_max_length"]["train"]["dropped"] == 3
    kept = _records(prepared.files["train"])
    assert len(kept) == 60 and all(r["completion"][0]["content"] != LONG for r in kept)


def test_error_refuses_with_the_lines(backend: LocalBackend, tiny_model: Path, tmp_path: Path) -> None:
    data = mixed_data(tmp_path)
    with pytest.raises(DataError, match=r"3 of 63 record\(s\) are longer than max_length 96 \(lines 61, 62, 63\)") \
            as info:
        backend.prepare(make_spec(tiny_model, data, max_steps=1, on_long="error"), "ftr-len003")
    assert info.value.exit_code == 1 and info.value.path == str(data)


def test_the_default_refuses_to_drop_more_than_a_small_share(backend: LocalBackend, tiny_model: Path,
                                                              tmp_path: Path) -> None:
    data = mixed_data(tmp_path, long_prompts=10)
    with pytest.raises(DataError, match=r"10 of 72 record\(s\) have a prompt that alone fills max_length 96"):
        backend.prepare(make_spec(tiny_model, data, max_steps=1), "ftr-len004")
    # asked for explicitly, truncate drops them and says so
    prepared = backend.prepare(make_spec(tiny_model, data, max_steps=1, on_long="truncate"), "ftr-len005")
    assert prepared.stats["over_max_length"]["train"]["dropped"] == 10


def test_cli_refuses_when_nothing_fits_before_any_worker(capsys: pytest.CaptureFixture[str], tiny_model: Path,
                                                          tmp_path: Path, ftrouter_home: Path) -> None:
    data = mixed_data(tmp_path, short=0, long_answers=0, long_prompts=4)
    code, _, err = run_cli(capsys, "submit", "--backend", "local", "--data", str(data), "--model", str(tiny_model),
                           "--max-length", "96", "--on-long", "truncate")
    assert code == 1
    assert "none of the 4 record(s) fits in max_length 96" in err
    assert not list((ftrouter_home / "jobs").glob("*"))  # nothing started, nothing left
    code, out, _ = run_cli(capsys, "jobs", "--json", "--offline")
    assert json.loads(out) == []


def test_dry_run_json_names_the_count(capsys: pytest.CaptureFixture[str], tiny_model: Path, tmp_path: Path) -> None:
    code, out, err = run_cli(capsys, "submit", "--backend", "local", "--data", str(mixed_data(tmp_path)), "--model",
                             str(tiny_model), "--max-length", "96", "--on-long", "drop", "--dry-run", "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert plan["over_max_length"]["train"]["longer_than_max_length"] == 3
    assert plan["over_max_length"]["on_long"] == "drop"
    code, _, err = run_cli(capsys, "submit", "--backend", "local", "--data", str(mixed_data(tmp_path)), "--model",
                           str(tiny_model), "--on-long", "sometimes", "--dry-run")
    assert code == 2 and "on_long" in err


@pytest.mark.slow
def test_the_trainer_trains_exactly_the_kept_records_and_says_so(backend: LocalBackend, tiny_model: Path,
                                                                 tmp_path: Path) -> None:
    prepared = backend.prepare(make_spec(tiny_model, mixed_data(tmp_path), max_steps=2), "ftr-len006")
    ref = backend.submit(prepared)
    final = wait_until(backend, ref, ended)
    assert final.state is JobState.SUCCEEDED, final.error
    events = backend.events(ref)
    records = [e.data["records"] for e in events if "records" in e.data]
    assert records == [62]
    # prepare's count is an event of the job; the worker's own check (after prepare dropped one) cut two
    assert any("3 of 63 record(s) are longer" in e.message for e in events)
    worker = [e.data["over_max_length"]["train"] for e in events if "over_max_length" in e.data]
    assert worker == [{"records": 62, "longer_than_max_length": 2, "prompt_alone_too_long": 0, "truncated": 2,
                       "dropped": 0, "kept": 62, "example_lines": []}]
    assert not any("TRL left out" in e.message for e in events)


def test_data_inspect_reports_examples_over_the_training_length(capsys: pytest.CaptureFixture[str],
                                                                tiny_model: Path, tmp_path: Path) -> None:
    data = mixed_data(tmp_path)
    code, out, _ = run_cli(capsys, "data", "inspect", str(data), "--model", str(tiny_model), "--max-length", "96",
                           "--json")
    report = json.loads(out)
    assert code == 0 and (report["over_limit"], report["token_limit"]) == (3, 96)
    assert any("over the training length of 96" in p["message"] for p in report["problems"])
    code, out, _ = run_cli(capsys, "data", "inspect", str(data), "--model", str(tiny_model), "--json")
    # the trainer's default (1,024) lowered to the tiny model's 512-position window, as submit lowers it
    assert (json.loads(out)["over_limit"], json.loads(out)["token_limit"]) == (0, 512)


# -- recipes: which file, and no remote code from a file ------------------------------------------------


def test_a_shadowing_recipe_is_named_in_the_plan_and_the_events(backend: LocalBackend, tiny_model: Path,
                                                                chat_data: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = Path(__file__).resolve().parents[3] / "configs" / "recipes"
    local = tmp_path / "configs" / "recipes"
    local.mkdir(parents=True)
    (local / "tiny-cpu.yaml").write_text("description: mine\nepochs: 1\nmax_length: 96\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FTROUTER_RECIPES", "")  # the ordinary lookup: ./configs/recipes, then the checkout's
    spec = make_spec(tiny_model, chat_data, max_steps=1, recipe="tiny-cpu")
    prepared = backend.prepare(spec, "ftr-rec001")
    used = str((local / "tiny-cpu.yaml").resolve())
    assert prepared.requests[0].body["config"]["recipe_file"] == used  # type: ignore[index]
    assert f"recipe 'tiny-cpu': using {used}, which shadows {shipped / 'tiny-cpu.yaml'}" in prepared.warnings
    backend.submit(prepared)
    from ftrouter_local.jobfiles import JobFiles

    events = JobFiles(Path(prepared.files["config"]).parent).read_events(None)
    assert any(e.message.endswith(f"with recipe {used}") for e in events)


def test_a_recipe_cannot_turn_on_remote_code(tmp_path: Path) -> None:
    from ftrouter_local.config import config_from_spec

    recipe = tmp_path / "remote.yaml"
    recipe.write_text("epochs: 1\ntrust_remote_code: true\n")
    spec = make_spec(Path("/models/m"), Path("d.jsonl"), max_steps=1, recipe=str(recipe))
    with pytest.raises(UsageError, match="only with --trust-remote-code on the command line") as info:
        config_from_spec(spec)
    assert info.value.exit_code == 2 and info.value.path == str(recipe)
    allowed = make_spec(Path("/models/m"), Path("d.jsonl"), max_steps=1, recipe=str(recipe), trust_remote_code=True)
    assert config_from_spec(allowed).trust_remote_code is True
    with pytest.raises(UsageError, match="recipe_file"):
        config_from_spec(make_spec(Path("/models/m"), Path("d.jsonl"), max_steps=1, recipe_file="/x.yaml"))


def test_remote_code_needs_the_command_line_flag(capsys: pytest.CaptureFixture[str], tiny_model: Path,
                                                 chat_data: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "remote.yaml"
    recipe.write_text("epochs: 1\ntrust_remote_code: true\n")
    args = ["submit", "--backend", "local", "--data", str(chat_data), "--model", str(tiny_model), "--recipe",
            str(recipe), "--dry-run", "--json"]
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and "--trust-remote-code" in err
    code, out, err = run_cli(capsys, *args, "--trust-remote-code")
    assert code == 0, err
    config = json.loads(out)["requests"][0]["body"]["config"]
    assert config["trust_remote_code"] is True and config["recipe_file"] == str(recipe.resolve())
