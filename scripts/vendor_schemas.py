#!/usr/bin/env python3
"""Copy the parts of the providers' published API specs that the tests check cassettes against into
tests/schemas/, so every checkout (a contributor's clone, CI) runs the same schema checks.

    python scripts/vendor_schemas.py [--reference DIR]     # DIR defaults to ../shared/reference

Each output keeps the operations ftrouter calls and every schema they reach through ``$ref`` (the
closure), unchanged, plus a ``x-ftrouter-vendored`` block naming the source, its version and licence.
tests/providers/test_vendored_schemas.py fails when an output is stale against the full specs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "tests" / "schemas"

# OpenAI: the operations the adapters and the eval engine call.
OPENAI_PATH_PREFIXES = ("/fine_tuning/", "/files", "/models", "/chat/completions")
# Vertex: the resources the tuning adapter and generateContent use, by discovery schema name.
VERTEX_ROOTS = ("GoogleCloudAiplatformV1TuningJob", "GoogleCloudAiplatformV1ListTuningJobsResponse",
                "GoogleCloudAiplatformV1CancelTuningJobRequest", "GoogleCloudAiplatformV1GenerateContentRequest",
                "GoogleCloudAiplatformV1GenerateContentResponse", "GoogleLongrunningOperation", "GoogleRpcStatus",
                "GoogleProtobufEmpty")
# Together: fine-tuning and files.
TOGETHER_PATH_PREFIXES = ("/fine-tunes", "/files", "/models")


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def openapi_subset(spec: dict[str, Any], prefixes: tuple[str, ...]) -> dict[str, Any]:
    """The spec's paths under ``prefixes`` and the components they reach."""
    paths = {p: item for p, item in spec["paths"].items() if p.startswith(prefixes)}
    components: dict[str, dict[str, Any]] = {}
    pending = list(_refs(paths))
    while pending:
        ref = pending.pop()
        if not ref.startswith("#/components/"):
            continue
        _, _, section, name = ref.split("/", 3)
        if name in components.get(section, {}):
            continue
        node = spec["components"][section][name]
        components.setdefault(section, {})[name] = node
        pending.extend(_refs(node))
    sorted_components = {s: dict(sorted(v.items())) for s, v in sorted(components.items())}
    return {"openapi": spec["openapi"], "info": spec["info"], "servers": spec.get("servers", []),
            "paths": dict(sorted(paths.items())), "components": sorted_components}


def discovery_subset(doc: dict[str, Any], roots: tuple[str, ...]) -> dict[str, Any]:
    """The discovery document's schemas reachable from ``roots`` (discovery ``$ref`` values are bare names)."""
    schemas: dict[str, Any] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in schemas or name not in doc["schemas"]:
            continue
        schemas[name] = doc["schemas"][name]
        pending.extend(_refs(schemas[name]))
    keep = ("id", "name", "version", "revision", "rootUrl", "title")
    return {**{k: doc[k] for k in keep if k in doc}, "schemas": dict(sorted(schemas.items()))}


SOURCES: dict[str, dict[str, str]] = {
    "openai-openapi.subset.json": {
        "source": "openai-openapi.yaml: OpenAI's published OpenAPI spec, github.com/openai/openai-openapi "
                  "(commit f85dbe2, 2026-08-21)", "licence": "MIT (Copyright (c) OpenAI)"},
    "aiplatform.v1.subset.json": {
        "source": "aiplatform.v1.json: Google's Vertex AI v1 Discovery document "
                  "(aiplatform.googleapis.com/$discovery/rest?version=v1), revision 20260815",
        "licence": "published by Google; redistributed as in googleapis/google-api-python-client (Apache-2.0)"},
    "together-openapi.subset.json": {
        "source": "together-openapi.yaml: Together AI's published OpenAPI spec, github.com/togethercomputer/openapi "
                  "(commit of 2026-04-28)", "licence": "MIT"},
}


def build(reference: Path) -> dict[str, dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    out: dict[str, dict[str, Any]] = {}
    openai_spec = yaml.load((reference / "openai-openapi.yaml").read_text(encoding="utf-8"), Loader=loader)
    out["openai-openapi.subset.json"] = openapi_subset(openai_spec, OPENAI_PATH_PREFIXES)
    discovery = json.loads((reference / "aiplatform.v1.json").read_text(encoding="utf-8"))
    out["aiplatform.v1.subset.json"] = discovery_subset(discovery, VERTEX_ROOTS)
    together = yaml.load((reference / "together-openapi.yaml").read_text(encoding="utf-8"), Loader=loader)
    out["together-openapi.subset.json"] = openapi_subset(together, TOGETHER_PATH_PREFIXES)
    for name, body in out.items():
        body["x-ftrouter-vendored"] = {**SOURCES[name], "generated_by": "scripts/vendor_schemas.py"}
    return out


def render(body: dict[str, Any]) -> str:
    return json.dumps(body, indent=1, sort_keys=False, ensure_ascii=False, default=str) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=REPO.parent / "shared" / "reference")
    args = parser.parse_args(argv)
    if not args.reference.is_dir():
        print(f"vendor_schemas: {args.reference}: no such folder (pass --reference)", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    for name, body in build(args.reference).items():
        (OUT / name).write_text(render(body), encoding="utf-8")
        print(f"wrote tests/schemas/{name} ({len(render(body)) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
