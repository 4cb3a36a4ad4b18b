"""Cassette configuration for the OpenAI adapter: scrubbing, matching, and a readable YAML form.

Used by ``conftest.py`` (replay and re-recording) and by ``author_cassettes.py`` (which writes the
authored cassettes in exactly the form a recording would have).

- Requests keep only ``content-type`` (authorization, organisation/project, cookies, the SDK's
  ``x-stainless-*`` machine details are dropped); responses keep only ``content-type`` and ``retry-after``
  (set-cookie, request ids, organisation headers, cf-ray are dropped).
- ``organization_id`` values in bodies become ``org-REDACTED``.
- JSON bodies are stored pretty-printed and multipart uploads with a fixed boundary, so a cassette
  reads like a document; bodies are matched by meaning: JSON by value, multipart by ``purpose`` and
  file name (the file content is the data engine's output, not what this adapter decides).
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

KEEP_REQUEST_HEADERS = {"content-type"}
KEEP_RESPONSE_HEADERS = {"content-type", "retry-after"}
BOUNDARY = "ftrouter-boundary"
_ORG = re.compile(r'"organization_id":\s*"[^"]*"')
_BOUNDARY_IN_TYPE = re.compile(r"boundary=([^;\s]+)")
_PURPOSE = re.compile(r'name="purpose"\r?\n\r?\n([^\r\n]*)')
_FILENAME = re.compile(r'name="file"; filename="([^"]*)"')


def _text(body: Any) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")
    return str(body)


def pretty_json(text: str) -> str | None:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
    except ValueError:
        return None


def scrub_body(text: str) -> str:
    text = _ORG.sub('"organization_id": "org-REDACTED"', text)
    return pretty_json(text) or text


def before_record_request(request: Any) -> Any:
    from vcr.request import Request

    content_type = request.headers.get("content-type", "")
    body = _text(request.body_bytes)
    match = _BOUNDARY_IN_TYPE.search(content_type)
    if match:
        body = body.replace(match.group(1), BOUNDARY).replace("\r\n", "\n")
        content_type = _BOUNDARY_IN_TYPE.sub(f"boundary={BOUNDARY}", content_type)
    elif body:
        body = scrub_body(body)
    headers = {"content-type": content_type} if content_type else {}
    return Request(request.method, request.uri, body or None, headers)  # a plain body, whatever the SDK streamed


def before_record_response(response: dict[str, Any]) -> dict[str, Any]:
    response["headers"] = {k: v for k, v in response["headers"].items() if k.lower() in KEEP_RESPONSE_HEADERS}
    body = response.get("body", {}).get("string")
    if body:  # vcrpy also runs this on loaded interactions: keep the body's type
        scrubbed = scrub_body(_text(body))
        response["body"]["string"] = scrubbed.encode("utf-8") if isinstance(body, bytes) else scrubbed
    return response


def body_matcher(live: Any, recorded: Any) -> None:
    """vcrpy matcher: raise AssertionError when the bodies differ in meaning."""
    live_text, recorded_text = _text(live.body_bytes), _text(recorded.body_bytes)
    if 'name="purpose"' in live_text or 'name="purpose"' in recorded_text:
        for pattern in (_PURPOSE, _FILENAME):
            got, want = pattern.search(live_text), pattern.search(recorded_text)
            assert (got and got.group(1)) == (want and want.group(1)), f"multipart {pattern.pattern} differs"
        return
    if not live_text.strip() and not recorded_text.strip():
        return
    try:
        assert json.loads(live_text) == json.loads(recorded_text), "JSON bodies differ"
    except ValueError:
        assert live_text == recorded_text, "bodies differ"


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and "\r" not in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


class ReadableYaml:
    """A vcrpy serializer: the stock safe loader, and a dumper that writes bodies as text blocks."""

    @staticmethod
    def deserialize(cassette_string: str) -> Any:
        from vcr.serializers import yamlserializer

        return yamlserializer.deserialize(cassette_string)

    @staticmethod
    def serialize(cassette_dict: Any) -> str:
        return yaml.dump(cassette_dict, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


MATCH_ON = ("method", "scheme", "host", "port", "path", "query", "ftrouter_body")


def vcr_config() -> dict[str, Any]:
    return {
        "match_on": MATCH_ON,
        "before_record_request": before_record_request,
        "before_record_response": before_record_response,
        "decode_compressed_response": True,
    }


def configure(vcr: Any) -> None:
    vcr.register_matcher("ftrouter_body", body_matcher)
    vcr.register_serializer("yaml", ReadableYaml())
