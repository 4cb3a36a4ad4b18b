"""tests/schemas/ holds the parts of the published specs the cassette tests need: each names its source
and licence, and none is stale against the full specs (where shared/reference sits beside the repository,
as on the project's machines)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from schema_files import OPENAI_SPEC, SCHEMAS, TOGETHER_SPEC, VERTEX_DISCOVERY, load_schema

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO.parent / "shared" / "reference"


def _vendor_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("vendor_schemas", REPO / "scripts" / "vendor_schemas.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["vendor_schemas"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", [OPENAI_SPEC, VERTEX_DISCOVERY, TOGETHER_SPEC], ids=lambda p: p.name)
def test_each_vendored_spec_names_its_source_and_licence(path: Path) -> None:
    vendored = load_schema(path)["x-ftrouter-vendored"]
    assert vendored["source"] and vendored["licence"]


def test_the_openai_subset_keeps_the_operations_ftrouter_calls() -> None:
    paths = load_schema(OPENAI_SPEC)["paths"]
    assert {"/fine_tuning/jobs", "/fine_tuning/jobs/{fine_tuning_job_id}/events", "/files", "/files/{file_id}/content",
            "/models/{model}", "/chat/completions"} <= set(paths)
    schemas = load_schema(OPENAI_SPEC)["components"]["schemas"]
    assert {"FineTuningJob", "OpenAIFile", "CreateChatCompletionResponse"} <= set(schemas)


@pytest.mark.slow  # parses the 3 MB OpenAI spec
@pytest.mark.skipif(not REFERENCE.is_dir(), reason="the full specs (shared/reference) are not beside this checkout")
def test_vendored_specs_are_not_stale() -> None:
    vendor = _vendor_module()
    for name, body in vendor.build(REFERENCE).items():
        assert (SCHEMAS / name).read_text(encoding="utf-8") == vendor.render(body), (
            f"tests/schemas/{name} is stale: run scripts/vendor_schemas.py")
