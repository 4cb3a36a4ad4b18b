"""Every body in cassettes/openai/ against OpenAI's published OpenAPI spec (responses by the schema
the spec gives for that path, method and status; JSON request bodies by the operation's request
schema), and the cassettes' hygiene: nothing secret or machine-specific is stored."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from openai_shared import CASSETTES
from schema_files import OPENAI_SPEC, load_schema

CASSETTE_FILES = sorted(CASSETTES.glob("*.yaml"))
SECRET_HEADERS = {"authorization", "openai-organization", "openai-project", "cookie", "set-cookie", "x-request-id",
                  "cf-ray", "x-api-key"}


def load(path: Path) -> list[dict[str, Any]]:
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"])


def json_schema_2020(node: Any) -> Any:
    """The spec says OpenAPI 3.1 but keeps some 3.0 idioms that JSON Schema 2020-12 reads differently:
    ``exclusiveMinimum: true`` next to ``minimum`` (2020-12 wants the bound itself, and would compare
    against ``true`` == 1), and ``nullable: true`` (2020-12 ignores it). Rewrite them to what they mean."""
    if isinstance(node, list):
        return [json_schema_2020(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: json_schema_2020(value) for key, value in node.items()}
    for flag, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(flag), bool):
            if out[flag] and bound in out:
                out[flag] = out.pop(bound)
            else:
                del out[flag]
    if out.pop("nullable", False) is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


@cache
def spec() -> dict[str, Any]:
    return dict(json_schema_2020(load_schema(OPENAI_SPEC)))


def operation(method: str, url: str) -> dict[str, Any]:
    path = re.sub(r"^https://api\.openai\.com/v1", "", url.split("?")[0])
    for template, item in spec()["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path) and method.lower() in item:
            return dict(item[method.lower()])
    raise AssertionError(f"{method} {path} is not an operation in the OpenAI spec")


def validate(instance: Any, schema: dict[str, Any]) -> list[str]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator({**schema, "components": spec()["components"]})
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(instance)]


def test_there_are_cassettes_for_every_flow() -> None:
    names = {path.stem for path in CASSETTE_FILES}
    assert {"test_sft_job_runs_to_success", "test_failed_job_reports_the_error", "test_cancel_a_job",
            "test_find_a_job_by_its_local_id", "test_dpo_job_reports_progress"} <= names


@pytest.mark.parametrize("cassette", CASSETTE_FILES, ids=lambda p: p.stem)
def test_bodies_follow_the_published_schemas(cassette: Path) -> None:
    problems = []
    for number, interaction in enumerate(load(cassette), start=1):
        request, response = interaction["request"], interaction["response"]
        op = operation(request["method"], request["uri"])
        status = str(response["status"]["code"])
        declared = op["responses"].get(status) or op["responses"].get("default")
        if declared is None and int(status) >= 400:
            # The spec declares few error responses; every OpenAI error body is an ErrorResponse.
            declared = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
        assert declared, f"#{number}: the spec declares no {status} response for {request['method']} {request['uri']}"
        schema = declared["content"]["application/json"]["schema"]
        # GET /files/{id}/content is declared as a string: the file's bytes (JSONL, CSV), not a JSON document.
        body = response["body"]["string"] if schema == {"type": "string"} else json.loads(response["body"]["string"])
        problems += [f"#{number} response {e}" for e in validate(body, schema)]
        if request.get("body") and "application/json" in str(request["headers"].get("content-type")):
            request_schema = op["requestBody"]["content"]["application/json"]["schema"]
            problems += [f"#{number} request {e}" for e in validate(json.loads(request["body"]), request_schema)]
    assert not problems, "\n".join(problems)


def test_the_schema_check_catches_a_wrong_body() -> None:
    job = json.loads(load(CASSETTES / "test_cancel_a_job.yaml")[-2]["response"]["body"]["string"])
    assert validate(job, {"$ref": "#/components/schemas/FineTuningJob"}) == []
    broken = {**job, "status": "paused"}  # seen in the wild, but not in the spec's enum
    del broken["seed"]
    broken["method"] = {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0}}}  # beta must be > 0
    errors = validate(broken, {"$ref": "#/components/schemas/FineTuningJob"})
    assert any("seed" in e for e in errors) and any("paused" in e for e in errors) and any("beta" in e for e in errors)


def test_the_schema_check_catches_a_wrong_model_or_error_body() -> None:
    model = {"id": "ft:gpt-4.1-mini-2025-04-14:org-redacted:x:y", "object": "model", "created": 1, "owned_by": "me",
             "shutdown_date": "2027-01-14"}
    assert validate(model, {"$ref": "#/components/schemas/Model"}) == []
    assert validate({**model, "shutdown_date": 20270114}, {"$ref": "#/components/schemas/Model"})
    assert validate({"error": {"message": "gone"}}, {"$ref": "#/components/schemas/ErrorResponse"})


def test_openapi_30_idioms_are_read_as_meant() -> None:
    assert json_schema_2020({"type": "number", "minimum": 0, "exclusiveMinimum": True}) == {
        "type": "number", "exclusiveMinimum": 0}
    assert json_schema_2020({"type": "string", "nullable": True}) == {"type": ["string", "null"]}


@pytest.mark.parametrize("cassette", CASSETTE_FILES, ids=lambda p: p.stem)
def test_cassettes_hold_no_secrets_or_machine_details(cassette: Path) -> None:
    text = cassette.read_text(encoding="utf-8")
    assert not re.search(r"\bsk-[A-Za-z0-9]", text), "an API key-like string"
    assert not re.search(r"\borg-(?!REDACTED|redacted)[A-Za-z0-9]{6,}", text), "an organisation id"
    for interaction in load(cassette):
        for side in ("request", "response"):
            headers = {name.lower() for name in interaction[side]["headers"]}
            assert not headers & SECRET_HEADERS and not any(h.startswith("x-stainless") for h in headers), headers


def test_authored_cassettes_say_so() -> None:
    for cassette in CASSETTE_FILES:
        head = cassette.read_text(encoding="utf-8")[:400]
        assert head.startswith("# AUTHORED, NOT RECORDED") or "interactions:" in head.splitlines()[0], cassette.name
