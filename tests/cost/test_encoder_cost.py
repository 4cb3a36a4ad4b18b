"""``estimate --task`` (an encoder fine-tune on labelled data, and serving it) and the encoder classifier
in ``compare``, pinned against figures worked out by hand from the catalog rows (ModernBERT-base: 0.149B
parameters; L4: 121 dense BF16 TFLOP/s, $0.80/h; gpt-4.1: $2 / $8 per 1M input / output tokens)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import run_cli

from ftrouter.catalog import default_catalog
from ftrouter.cost.encoder import ENCODER_MODEL, encoder_training
from ftrouter.cost.training import estimate_training
from ftrouter.data.encodings import get_encoding
from ftrouter.profiles import self_hosted_backend

L4_PEAK, L4_USD, PARAMS, MFU = 121e12, 0.8, 0.149e9, 0.35


def _write(tmp_path: Path, rows: list[dict[str, object]], name: str = "labelled.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _rows(n: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = [{"text": f"the invoice {i} is late again",
                                      "label": "billing" if i % 2 else "other"} for i in range(n)]
    rows[0]["text"] = "word " * 700  # past the encoder's 512-token cut
    return rows


def test_estimate_task_prices_the_encoder_fine_tune_and_its_serving(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    data = _write(tmp_path, _rows(400))
    code, out, err = run_cli(capsys, "estimate", "--data", str(data), "--task", "classification", "--json")
    assert code == 0, err
    report = json.loads(out)
    encode = get_encoding("o200k_base").encode_ordinary
    tokens = [len(encode(str(r["text"]))) for r in _rows(400)]
    assert report["data"]["examples"] == 400 and report["data"]["task"] == "classification"
    assert report["data"]["tokens_total"] == {self_hosted_backend(): sum(tokens)}
    [est] = report["backends"]
    capped = [min(t, 512) for t in tokens]
    # full fine-tuning, 3 epochs of the examples cut at 512 tokens; the cost is the hours at the L4's price
    assert (est["model"], est["method"], est["epochs"], est["gpu"]) == (ENCODER_MODEL, "full", 3, "L4-24GB")
    assert est["billed_tokens"] == 3 * sum(capped)
    assert est["cost_usd"] == pytest.approx(est["hours"] * L4_USD)
    assert est["assumptions"]["memory_gb_per_gpu"] < 24 and est["fits"]
    # the same figures as the local planner gives ModernBERT for these token counts
    [planned] = estimate_training(self_hosted_backend(), example_tokens=capped, model=ENCODER_MODEL, epochs=3,
                                  adapter="full", assumptions={"seq_len": 512}, measured=[])
    assert est["hours"] == pytest.approx(planned.hours) and est["billed_tokens"] == planned.billed_tokens
    # serving: 2 x 0.149e9 FLOPs per input token at 35% of 121 TFLOP/s; an always-on L4 is 730 h x $0.80
    mean = sum(capped) / len(capped)
    assert report["serving"]["requests_per_second_per_gpu"] == round(L4_PEAK * MFU / (2 * PARAMS * mean))
    assert report["serving"]["always_on_gpu_usd_per_month"] == 584.0
    assert any("L4-24GB" in p["item"] for p in report["prices"])
    code, out, _ = run_cli(capsys, "estimate", "--data", str(data), "--task", "classification")
    assert code == 0 and "Serving the encoder" in out and "584.00 a month" in out


def test_estimate_task_refuses_the_wrong_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _write(tmp_path, _rows(10))
    code, _, err = run_cli(capsys, "estimate", "--data", str(data), "--task", "token-classification")
    assert code == 2 and "needs token-classification data; this file holds classification data" in err
    code, _, err = run_cli(capsys, "estimate", "--data", str(data), "--task", "sentiment")
    assert code == 2 and "sentiment" in err
    broken = _write(tmp_path, [*_rows(3), {"text": "x", "label": 1.5}], "broken.jsonl")
    code, _, err = run_cli(capsys, "estimate", "--data", str(broken), "--task", "classification")
    assert code == 1 and f"{broken}:4" in err and "invalid_label" in err


def test_compare_adds_the_encoder_classifier_on_labelled_data(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    data = _write(tmp_path, _rows(400))
    code, out, err = run_cli(capsys, "compare", "--data", str(data), "--monthly-requests", "2000000", "--format",
                             "json", "--set", "today=2026-11-27")
    assert code == 0, err
    doc = json.loads(out)
    options = {o["name"]: o for o in doc["options"]}
    [name] = [n for n in options if n.startswith("encoder classifier")]
    enc = options[name]
    encode = get_encoding("o200k_base").encode_ordinary
    capped = [min(len(encode(str(r["text"]))), 512) for r in _rows(400)]
    capacity = round(L4_PEAK * MFU / (2 * PARAMS * (sum(capped) / len(capped)))) * 3600 * 730
    assert enc["kind"] == "self-hosted" and enc["gpu_month_usd"] == 584.0
    assert enc["queries_per_month_per_replica"] == pytest.approx(capacity)
    # prompting gpt-4.1 (3,000 + 200 input tokens at $2/1M, 150 output at $8/1M) costs $0.0076 a query; the
    # encoder pays back when 12 months of prompting cost its training plus 12 GPU-months: (train/12 + 584)/0.0076
    prompt = (3200 * 2 + 150 * 8) / 1e6
    assert options[doc["baseline"]]["per_query_usd"] == pytest.approx(prompt)
    expected = (enc["training_usd"] / 12 + 584.0) / prompt
    assert enc["break_even"]["monthly_requests"] == pytest.approx(expected)
    assert any(t["model"] == ENCODER_MODEL for t in doc["training"])
    # the LLM fine-tunes are priced on the same examples as chat (input as the user turn, label as the answer)
    assert "priced for LLMs as chat" in doc["data"]["format"] and doc["data"]["examples"] == 400
    assert any(o["kind"] == "fine-tuned" for o in doc["options"])


def test_compare_encoder_flag_on_chat_data_and_refusal_of_ner_data(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    chat = _write(tmp_path, [{"messages": [{"role": "user", "content": f"q {i}"},
                                           {"role": "assistant", "content": "yes"}]} for i in range(20)], "chat.jsonl")
    code, out, err = run_cli(capsys, "compare", "--data", str(chat), "--format", "json")
    assert code == 0, err
    assert not any(o["name"].startswith("encoder") for o in json.loads(out)["options"])
    code, out, err = run_cli(capsys, "compare", "--data", str(chat), "--format", "json", "--encoder")
    assert code == 0, err
    [enc] = [o for o in json.loads(out)["options"] if o["name"].startswith("encoder")]
    # with chat data the encoder reads the workload's query (200 tokens)
    assert enc["queries_per_month_per_replica"] == pytest.approx(round(L4_PEAK * MFU / (2 * PARAMS * 200)) * 3600 * 730)
    ner = _write(tmp_path, [{"tokens": ["Ada", "wrote"], "tags": ["B-PER", "O"]}], "ner.jsonl")
    code, _, err = run_cli(capsys, "compare", "--data", str(ner))
    assert code == 2 and "estimate --task token-classification" in err


def test_advise_figures_unchanged_by_the_split() -> None:
    """``encoder_classifier_cost`` (advise) is built from the same training estimate as ``estimate --task``."""
    from ftrouter.cost.encoder import encoder_classifier_cost

    cost = encoder_classifier_cost([100] * 2000, monthly_requests=1_000_000, catalog=default_catalog())
    train = encoder_training([100] * 2000)
    assert cost["training_hours"] == round(train.hours or 0, 3) and cost["gpu"] == "L4-24GB"
    assert cost["requests_per_second_per_gpu"] == round(L4_PEAK * MFU / (2 * PARAMS * 100))
    # 1M requests at that rate keep the L4 busy 1e6 / rps / 3600 hours at $0.80
    assert cost["compute_usd_per_month"] == round(1e6 / (L4_PEAK * MFU / (2 * PARAMS * 100)) / 3600 * L4_USD, 2)
