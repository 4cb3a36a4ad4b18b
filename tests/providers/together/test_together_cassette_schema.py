"""Every body in cassettes/together/ against Together's published OpenAPI spec (TOGETHER_SPEC): responses
by the schema the spec gives for that path, method and status; JSON request bodies by the operation's
request schema; multipart uploads by the form's required fields. And nothing secret is stored."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from schema_files import TOGETHER_SPEC, load_schema

CASSETTES = Path(__file__).resolve().parents[3] / "cassettes" / "together"
CASSETTE_FILES = sorted(CASSETTES.glob("*.yaml"))
API = "https://api.together.ai/v1"


def load(path: Path) -> list[dict[str, Any]]:
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"])


def json_schema_2020(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema 2020-12 means it (a null type)."""
    if isinstance(node, list):
        return [json_schema_2020(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: json_schema_2020(value) for key, value in node.items()}
    if out.pop("nullable", False) is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


@cache
def spec() -> dict[str, Any]:
    return dict(json_schema_2020(load_schema(TOGETHER_SPEC)))


def operation(method: str, url: str) -> dict[str, Any]:
    path = url.split("?")[0].removeprefix(API)
    paths = spec()["paths"]
    exact = paths.get(path, {}).get(method.lower())  # /fine-tunes/estimate-price before /fine-tunes/{id}
    if exact:
        return dict(exact)
    for template, item in paths.items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path) and method.lower() in item:
            return dict(item[method.lower()])
    raise AssertionError(f"{method} {path} is not an operation in Together's spec")


def validate(instance: Any, schema: dict[str, Any]) -> list[str]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator({**schema, "components": spec()["components"]})
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(instance)]


def test_there_are_cassettes_for_every_flow() -> None:
    assert {p.stem for p in CASSETTE_FILES} >= {"sft_lora_job_runs_to_success", "dpo_full_job_with_validation",
                                                "failed_job_reports_the_error", "cancel_a_job",
                                                "find_a_job_by_its_local_id"}


def _request_problems(op: dict[str, Any], request: dict[str, Any]) -> list[str]:
    content = (op.get("requestBody") or {}).get("content") or {}
    body = request.get("body") or ""
    if "multipart/form-data" in content:
        form = content["multipart/form-data"]["schema"]
        sent = dict(re.findall(r'name="(\w+)"(?:; filename="[^"]*")?\n(?:Content-Type: [^\n]*\n)?\n([^\n]*)', body))
        problems = [f"form field {name} missing" for name in form["required"] if name not in sent]
        for name in ("purpose", "file_type"):
            problems += [f"{name}: {p}" for p in validate(sent.get(name), form["properties"][name])]
        return problems
    if body and "application/json" in content:
        return validate(json.loads(body), content["application/json"]["schema"])
    return []


@pytest.mark.parametrize("cassette", CASSETTE_FILES, ids=lambda p: p.stem)
def test_bodies_follow_the_published_schemas(cassette: Path) -> None:
    problems = []
    for number, interaction in enumerate(load(cassette), start=1):
        request, response = interaction["request"], interaction["response"]
        op = operation(request["method"], request["uri"])
        problems += [f"#{number} request {p}" for p in _request_problems(op, request)]
        declared = op["responses"].get(str(response["status"]["code"]))
        assert declared is not None, f"#{number}: the spec declares no {response['status']['code']} answer"
        schema = ((declared.get("content") or {}).get("application/json") or {}).get("schema")
        if schema is not None:
            body = json.loads(response["body"]["string"])
            problems += [f"#{number} response {p}" for p in validate(body, schema)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("cassette", CASSETTE_FILES, ids=lambda p: p.stem)
def test_cassettes_say_how_they_were_made_and_hold_no_secret(cassette: Path) -> None:
    """Authored by author_cassettes.py, or recorded live by together_record.py: the first line says which."""
    text = cassette.read_text(encoding="utf-8")
    assert text.startswith(("# AUTHORED, NOT RECORDED.", "# RECORDED live against Together AI on "))
    assert "authorization" not in text.lower() and "Bearer" not in text and "wandb_api_key" not in text
