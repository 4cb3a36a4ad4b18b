"""Model specs: parsing, registry job ids resolved to their tuned result, and the eval-file reader's
row formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftrouter.errors import DataError, UsageError
from ftrouter.eval.dataset import read_examples
from ftrouter.eval.specs import parse_spec, spec_for
from ftrouter.jobs.models import JobResult, JobSpec, JobState, JobStatus, PreparedJob, RemoteRef
from ftrouter.jobs.registry import Registry


@pytest.mark.parametrize(("raw", "provider", "model", "url", "adapter"), [
    ("openai:gpt-4.1-mini", "openai", "gpt-4.1-mini", None, None),
    ("openai:ft:gpt-4.1-mini-2025-04-14:acme:tickets:AbC123", "openai",
     "ft:gpt-4.1-mini-2025-04-14:acme:tickets:AbC123", None, None),
    ("openai:llama3.1:8b@http://127.0.0.1:11434/v1/", "openai", "llama3.1:8b", "http://127.0.0.1:11434/v1", None),
    ("openai:name@with-at", "openai", "name@with-at", None, None),
    ("hf:/models/base", "hf", "/models/base", None, None),
    ("hf:/models/base+/runs/adapter", "hf", "/models/base", None, "/runs/adapter"),
])
def test_parse(raw: str, provider: str, model: str, url: str | None, adapter: str | None) -> None:
    spec = parse_spec(raw)
    assert (spec.raw, spec.provider, spec.model, spec.base_url, spec.adapter) == (raw, provider, model, url, adapter)


@pytest.mark.parametrize("raw", ["gpt-4o", "openai:", "nosuch:model", "openai:@http://x"])
def test_bad_specs_are_usage_errors(raw: str) -> None:
    with pytest.raises(UsageError):
        parse_spec(raw)


def _job(local_id: str, backend: str, model: str, result: JobResult | None, data: Path) -> None:
    registry = Registry()
    spec = JobSpec(backend=backend, model=model, data=str(data))
    registry.create(PreparedJob(spec=spec, local_id=local_id))
    registry.attach_remote(local_id, RemoteRef(backend=backend, remote_id=f"r-{local_id}", local_id=local_id))
    state = JobState.SUCCEEDED if result else JobState.RUNNING
    registry.record_status(local_id, JobStatus(state=state, result=result))


def test_job_ids_become_their_tuned_models(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    _job("ftr-openai1", "openai", "gpt-4.1-mini-2025-04-14", JobResult(model_id="ft:gpt-4.1-mini:acme::X1"), data)
    _job("ftr-local01", "local", "/models/base", JobResult(adapter_path="/runs/ftr-local01/adapter"), data)
    _job("ftr-running", "openai", "gpt-4.1-mini-2025-04-14", None, data)
    remote = spec_for("ftr-openai1")
    assert (remote.provider, remote.model, remote.job, remote.tuned) == ("openai", "ft:gpt-4.1-mini:acme::X1",
                                                                         "ftr-openai1", True)
    local = spec_for("ftr-local01")
    assert (local.provider, local.model, local.adapter, local.raw) == ("hf", "/models/base",
                                                                      "/runs/ftr-local01/adapter", "ftr-local01")
    with pytest.raises(UsageError, match="no tuned model yet"):
        spec_for("ftr-running")


def test_a_full_fine_tune_job_is_its_saved_model_not_base_plus_adapter(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    whole, adapter = tmp_path / "full-output", tmp_path / "lora-output"
    whole.mkdir()
    (whole / "config.json").write_text("{}")
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    _job("ftr-full001", "local", "/models/base", JobResult(adapter_path=str(whole)), data)
    _job("ftr-lora001", "local", "/models/base", JobResult(adapter_path=str(adapter)), data)
    full = spec_for("ftr-full001")
    assert (full.provider, full.model, full.adapter, full.job) == ("hf", str(whole), None, "ftr-full001")
    lora = spec_for("ftr-lora001")
    assert (lora.model, lora.adapter) == ("/models/base", str(adapter))


def test_row_formats_and_limit(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    rows = [
        {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U1"},
                      {"role": "assistant", "content": "A1"}, {"role": "user", "content": "U2"},
                      {"role": "assistant", "content": [{"type": "text", "text": "A2"}]}]},
        {"prompt": "P", "completion": "C"},
        {"prompt": [{"role": "user", "content": "P2"}], "completion": [{"role": "assistant", "content": "C2"}]},
        {"text": "T", "label": 3},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    examples = read_examples(path)
    assert [e.reference for e in examples] == ["A2", "C", "C2", "3"]
    assert examples[0].prompt[-1] == ("user", "U2") and len(examples[0].prompt) == 4
    assert examples[3].is_label and examples[3].messages() == [{"role": "user", "content": "T"}]
    assert [e.line for e in read_examples(path, limit=2)] == [1, 2]


def test_the_shipped_general_sample_reads() -> None:
    sample = Path(__file__).resolve().parents[2] / "configs" / "evals" / "general-sample.jsonl"
    examples = read_examples(sample)
    assert len(examples) == 10 and all(e.prompt[0][0] == "system" for e in examples)


def test_the_progress_bar_is_drawn_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    from ftrouter.cli.eval import _progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    with _progress(10) as tick:
        assert tick is None  # stderr is captured by pytest: not a terminal
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with _progress(10) as tick:
        assert tick is not None
        tick(10)
    assert "10/10" in terminal.getvalue()


def test_limit_stops_reading_before_a_later_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('{"prompt": "p", "completion": "c"}\n{"prompt": "no completion"}\n')
    assert len(read_examples(path, limit=1)) == 1
    with pytest.raises(DataError, match=r":2: no_reference"):
        read_examples(path)


def test_cost_uses_the_catalogs_base_or_fine_tuned_prices() -> None:
    from ftrouter.eval.summary import _cost

    million = {"input": 1_000_000, "output": 1_000_000}
    # gpt-4.1-mini-2025-04-14: base $0.40 in / $1.60 out, fine-tuned $0.80 / $3.20 per 1M tokens
    assert _cost("gpt-4.1-mini-2025-04-14", million) == pytest.approx(2.0)
    assert _cost("ft:gpt-4.1-mini-2025-04-14:acme:tickets:AbC1", million) == pytest.approx(4.0)
    assert _cost(None, million) is None and _cost("llama-local", million) is None
    assert _cost("gpt-4.1-mini-2025-04-14", {"input": None, "output": 5}) is None


def test_eval_files_are_read_in_the_containers_the_data_commands_read(tmp_path: Path) -> None:
    """A .gz, a JSON array and a CSV are eval files too; a bad row is named by its line in the original file."""
    import gzip

    rows = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}
            for i in range(5)]
    gz = tmp_path / "test.jsonl.gz"
    gz.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))
    array = tmp_path / "test.json"
    array.write_text(json.dumps(rows, indent=2))
    assert [e.reference for e in read_examples(gz)] == [f"a{i}" for i in range(5)]
    assert [e.reference for e in read_examples(array)] == [f"a{i}" for i in range(5)]
    csv = tmp_path / "tickets.csv"
    csv.write_text('text,label\n"brake\nsqueaks",repair\nlate parcel,shipping\n', encoding="utf-8")
    assert [(e.line, e.reference, e.is_label) for e in read_examples(csv)] == [(2, "repair", True),
                                                                            (4, "shipping", True)]
    csv.write_text('text,label\n"brake\nsqueaks",repair\nno label here,\n', encoding="utf-8")
    with pytest.raises(DataError) as caught:
        read_examples(csv)
    assert caught.value.line == 4 and caught.value.path == str(csv)
