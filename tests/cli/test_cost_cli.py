"""`ftrouter estimate` and `ftrouter compare` end to end: JSON contract, every report format, exit codes."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from clirun import run_cli as run

from ftrouter.profiles import installed_profiles

ROOT = Path(__file__).resolve().parents[2]
CHAT = ROOT / "configs" / "examples" / "chat.jsonl"
TODAY = "today=2026-11-21"




def test_estimate_json_has_the_issue_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "estimate", "--data", str(CHAT), "--json", "--set", TODAY)
    assert code == 0
    report = json.loads(out)
    assert report["prices_as_of"]
    # every installed backend (a plugin such as Together adds its rows)
    assert {b["backend"] for b in report["backends"]} == {p.name for p in installed_profiles()}
    assert len([b for b in report["backends"] if b["backend"] == "local"]) == 3  # small, medium, large
    for item in report["backends"]:
        assert {"backend", "model", "method", "epochs", "billed_tokens", "cost_usd", "hours", "gpu", "fits",
                "assumptions", "prices_as_of"} <= set(item)
        if item["cost_usd"] is None:  # no published price (Together): said so, never a silent zero
            assert item["assumptions"]["price"] and item["billed_tokens"] > 0
        else:
            assert item["cost_usd"] > 0


def test_estimate_openai_model_and_epochs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "estimate", "--data", str(CHAT), "--model", "gpt-4o-mini-2024-07-18",
                       "--epochs", "2", "--json", "--set", TODAY)
    assert code == 0
    report = json.loads(out)
    [item] = report["backends"]
    total = report["data"]["tokens_total"]["openai"]
    assert item["billed_tokens"] == 2 * total
    assert item["cost_usd"] == pytest.approx(2 * total / 1e6 * 3.00)


def test_estimate_local_flags_become_assumptions(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "estimate", "--data", str(CHAT), "--backend", "local", "--model", "llama-3.1-8b",
                       "--gpu", "4090", "--seq-len", "512", "--mfu", "0.5", "--gpu-price", "0.4", "--json")
    assert code == 0
    [item] = json.loads(out)["backends"]
    assert item["gpu"] == "RTX-4090-24GB" and item["method"] == "lora"
    assert item["assumptions"]["training_length"] == 512 and item["assumptions"]["mfu"] == 0.5
    assert item["assumptions"]["seq_len"] == 256  # memory at the longest example, which is under 512
    assert item["cost_usd"] == pytest.approx(item["hours"] * 0.4)
    assert item["prices_as_of"] is None  # a price the user gave has no catalog date


def test_estimate_table_prints_assumptions_and_price_dates(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "estimate", "--data", str(CHAT), "--backend", "openai")
    assert code == 0
    assert "gpt-4.1-mini-2025-04-14" in out and "Assumptions" in out
    assert "Prices as of 2026-11-21" in out


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["--model", "gpt-4.1-mni"], 2, "did you mean: gpt-4.1-mini-2025-04-14"),
        (["--backend", "local", "--gpu", "h10"], 2, "unknown GPU 'h10' (did you mean: h100"),
        (["--backend", "vertex", "--model", "gpt-4.1-mini-2025-04-14"], 2, "unknown vertex model"),
        (["--backend", "cloud"], 2, "unknown backend 'cloud'"),
        (["--set", "mfuu=0.3"], 2, "assumption 'mfuu'"),
        (["--set", "mfu"], 2, "--set expects KEY=VALUE"),
    ],
)
def test_estimate_usage_errors(capsys: pytest.CaptureFixture[str], args: list[str], exit_code: int,
                               message: str) -> None:
    code, out, err = run(capsys, "estimate", "--data", str(CHAT), *args)
    assert code == exit_code
    assert message in err
    assert "Traceback" not in err and out == ""


def test_estimate_invalid_data_names_file_and_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n'
                   '{"messages": [\n')
    code, _, err = run(capsys, "estimate", "--data", str(bad))
    assert code == 1
    assert f"{bad}:2: invalid_data:" in err
    code, _, err = run(capsys, "estimate", "--data", str(tmp_path / "missing.jsonl"))
    assert code == 2 and "missing.jsonl" in err


def test_catalog_override_negative_price_names_file_and_row(capsys: pytest.CaptureFixture[str],
                                                            tmp_path: Path) -> None:
    override = tmp_path / "prices.yaml"
    override.write_text("models:\n"
                        "  - name: gpt-4.1-mini-2025-04-14\n"
                        "    backend: openai\n"
                        "    family: gpt-4.1\n"
                        "    training_usd_per_1m: -5\n"
                        "    source: my contract\n"
                        "    as_of: 2026-11-01\n")
    code, _, err = run(capsys, "estimate", "--data", str(CHAT), "--catalog", str(override))
    assert code == 2
    assert f"{override}:2: invalid_catalog: row 'gpt-4.1-mini-2025-04-14': training_usd_per_1m" in err


def test_catalog_override_changes_the_price_and_its_date(capsys: pytest.CaptureFixture[str]) -> None:
    example = ROOT / "configs" / "prices" / "example-override.yaml"
    code, out, _ = run(capsys, "estimate", "--data", str(CHAT), "--backend", "local", "--model", "llama-3.1-8b",
                       "--gpu", "h100", "--catalog", str(example), "--set", "gpu_provider=my-cluster", "--json")
    assert code == 0
    [item] = json.loads(out)["backends"]
    assert item["assumptions"]["gpu_usd_per_hour"] == 1.80
    assert item["prices_as_of"] == "2026-11-01"


def test_catalog_override_can_add_a_managed_model(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # a model that only the --catalog file knows: the token count must come from that catalog too
    override = tmp_path / "models.yaml"
    override.write_text("models:\n"
                        "  - name: acme-ft-1\n"
                        "    backend: openai\n"
                        "    family: acme\n"
                        "    training_token_limit: 100\n"
                        "    training_usd_per_1m: 2.0\n"
                        "    source: my contract\n"
                        "    as_of: 2026-11-01\n")
    code, out, err = run(capsys, "estimate", "--data", str(CHAT), "--model", "acme-ft-1", "--epochs", "1",
                         "--catalog", str(override), "--json", "--set", TODAY)
    assert code == 0, err
    report = json.loads(out)
    [item] = report["backends"]
    assert item["model"] == "acme-ft-1"
    assert report["data"]["counted_with"]["openai"] == "o200k_base (exact)"
    assert 0 < item["billed_tokens"] < report["data"]["tokens_total"]["openai"]  # capped at the 100-token limit
    assert item["cost_usd"] == pytest.approx(item["billed_tokens"] / 1e6 * 2.0)


@pytest.mark.parametrize("fmt", ["md", "html", "json", "csv", "table"])
def test_compare_writes_every_format(capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str) -> None:
    out_file = tmp_path / f"report.{fmt}"
    code, _, err = run(capsys, "compare", "--data", str(CHAT), "--format", fmt, "-o", str(out_file), "--set", TODAY)
    assert code == 0, err
    text = out_file.read_text()
    assert "gpt-4.1-mini-2025-04-14" in text
    assert "2026-11-21" in text  # price dates are printed in every format
    assert [p.name for p in tmp_path.iterdir()] == [out_file.name]  # no temp file left behind


def test_compare_html_is_self_contained_with_a_chart(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "report.html"
    code, _, _ = run(capsys, "compare", "--data", str(CHAT), "--format", "html", "-o", str(out_file),
                     "--set", TODAY)
    assert code == 0
    html = out_file.read_text()
    assert "<script" not in html and "<link" not in html
    assert "https://" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    svg = html[html.index("<svg"): html.index("</svg>") + len("</svg>")]
    root = ET.fromstring(svg)  # well-formed
    lines = root.findall("{http://www.w3.org/2000/svg}polyline")
    report_json = tmp_path / "report.json"
    run(capsys, "compare", "--data", str(CHAT), "--format", "json", "-o", str(report_json), "--set", TODAY)
    assert len(lines) == len(json.loads(report_json.read_text())["options"])  # one line per option


def test_compare_json_and_task_profile(capsys: pytest.CaptureFixture[str]) -> None:
    task = ROOT / "configs" / "tasks" / "invoice-extraction.yaml"
    code, out, _ = run(capsys, "compare", "--data", str(CHAT), "--task", str(task), "--json", "--set", TODAY,
                       "--months", "6")
    assert code == 0
    report = json.loads(out)
    import yaml

    profile = yaml.safe_load(task.read_text())
    assert report["workload"]["monthly_requests"] == profile["monthly_requests"]
    assert report["workload"]["service_months"] == 6  # an explicit flag beats the task profile
    kinds = {o["kind"] for o in report["options"]}
    assert kinds == {"prompting", "rag", "fine-tuned", "self-hosted"}
    tuned = next(o for o in report["options"] if o["model"] == "gpt-4.1-mini-2025-04-14")
    assert tuned["break_even"]["capped_by_shutdown"]  # 2026-11-21 is 54 days before the shutdown
    assert report["prices"] and all(p["as_of"] for p in report["prices"])


def test_compare_csv_parses(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "compare", "--data", str(CHAT), "--format", "csv", "--set", TODAY)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["section"] for r in rows} == {"training", "inference", "price"}


def test_compare_bad_output_and_format_leave_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "compare", "--data", str(CHAT), "--format", "pdf")
    assert code == 2 and "unknown format 'pdf'" in err
    code, _, err = run(capsys, "compare", "--data", str(CHAT), "-o", str(tmp_path / "no" / "such" / "r.md"),
                       "--format", "md")
    assert code == 2 and "does not exist" in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    target = tmp_path / "r.md"
    code, _, _ = run(capsys, "compare", "--data", str(bad), "--format", "md", "-o", str(target))
    assert code == 1 and not target.exists()


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "estimate" in out and "compare" in out
