"""What every live Together recording goes through before it is written (``together_record.py``).

A recording holds the flow's own calls only (vcr_support already dropped every header but content-type,
and a response's retry-after). The normaliser then makes it stable and secret-free:

- other jobs in list answers (``GET /fine-tunes``) are dropped: only the jobs the flow created stay;
- job and file ids become fixed placeholders, numbered in order of appearance, everywhere they occur
  (URLs, request and response bodies), so the replay's requests still match the answers;
- the account name (the owner part of ``model_output_name``), ``user_id`` values, ``owner_address`` and any
  other e-mail address become fixed test values; W&B URLs and keys are redacted;
- the API key and any other secret handed in are replaced wherever they appear;
- the endpoint recorded against (``TOGETHER_BASE_URL``, e.g. a proxy) is written as Together's own.

A secret still present afterwards is an error: the recording is not written.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

API = "https://api.together.ai/v1"
ACCOUNT = "ftrouter-test"
USER = "user_ftrouter_test"
EMAIL = "owner@example.com"
WANDB_URL = "https://wandb.ai/ftrouter-test/ftrouter/runs/recorded"
REDACTED = "REDACTED"
KEEP_REQUEST_HEADERS = {"content-type"}
KEEP_RESPONSE_HEADERS = {"content-type", "retry-after"}
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def job_placeholder(n: int) -> str:
    return f"ft-00000000-0000-4000-8000-{n:012d}"


def file_placeholder(n: int) -> str:
    return f"file-00000000-0000-4000-8000-{n:012d}"


def _json(text: Any) -> Any:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"  # vcr_support's pretty form


def _path(item: dict[str, Any]) -> str:
    return urlsplit(item["request"]["uri"]).path.rstrip("/")


def _walk(value: Any) -> Any:
    """Every dict inside a JSON value, outermost first."""
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from _walk(child)
    elif isinstance(value, list):
        for child in value:
            yield from _walk(child)


@dataclass(frozen=True)
class Normaliser:
    base_url: str = API  # the endpoint the recording was made against
    secrets: tuple[str, ...] = ()  # the API key, the W&B key: never stored

    def __call__(self, interactions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        items = copy.deepcopy(interactions)
        own = created_jobs(items)
        for item in items:
            _keep_headers(item)
            self._redact_fields(item, own)
        table = self._replacements(items, own)
        for item in items:
            self._rewrite(item, table)
        leaked = [s for s in self.secrets if s and s in json.dumps(items)]
        if leaked:
            raise ValueError("a secret survived normalisation; the recording was not written")
        return items

    # -- structure: foreign jobs, owner, W&B ------------------------------------------------------------

    def _redact_fields(self, item: dict[str, Any], own: list[str]) -> None:
        request, response = item["request"], item["response"]
        body = _json(response["body"].get("string"))
        if body is not None:
            if request["method"] == "GET" and _path(item).endswith("/fine-tunes") and isinstance(body, dict):
                body["data"] = [job for job in body.get("data") or [] if job.get("id") in own]
            _redact_identity(body)
            response["body"]["string"] = _dump(body)
        sent = _json(request.get("body"))
        if isinstance(sent, dict):
            _redact_identity(sent)
            request["body"] = _dump(sent)

    # -- values replaced wherever they occur -------------------------------------------------------

    def _replacements(self, items: list[dict[str, Any]], own: list[str]) -> dict[str, str]:
        jobs: list[str] = []
        files: list[str] = []
        users: set[str] = set()
        for item in items:
            for node in _walk(_json(item["response"]["body"].get("string"))):
                _collect(node, jobs, files, users)
            for node in _walk(_json(item["request"].get("body"))):
                _collect(node, [], files, set())
        table = {real: job_placeholder(n) for n, real in enumerate(jobs, start=1)}
        table.update({real: file_placeholder(n) for n, real in enumerate(files, start=1)})
        table.update({real: USER for real in users})
        for account in _accounts(items, own):
            table[account] = ACCOUNT
        return table

    def _rewrite(self, item: dict[str, Any], table: dict[str, str]) -> None:
        request, response = item["request"], item["response"]
        self._drop_secrets(item)
        base = self.base_url.rstrip("/")
        if request["uri"].startswith(base + "/"):
            request["uri"] = API + request["uri"][len(base):]
        request["uri"] = _replace(request["uri"], table)
        if isinstance(request.get("body"), str):
            request["body"] = _replace(request["body"], table)
        if isinstance(response["body"].get("string"), str):
            response["body"]["string"] = _replace(response["body"]["string"], table)

    def _drop_secrets(self, item: dict[str, Any]) -> None:
        """Secrets go wherever they hide (inside a longer token too), before anything else is rewritten."""
        request, response = item["request"], item["response"]
        for secret in sorted((s for s in self.secrets if s), key=len, reverse=True):
            request["uri"] = request["uri"].replace(secret, REDACTED)
            if isinstance(request.get("body"), str):
                request["body"] = request["body"].replace(secret, REDACTED)
            if isinstance(response["body"].get("string"), str):
                response["body"]["string"] = response["body"]["string"].replace(secret, REDACTED)


def _keep_headers(item: dict[str, Any]) -> None:
    for part, keep in (("request", KEEP_REQUEST_HEADERS), ("response", KEEP_RESPONSE_HEADERS)):
        headers = item[part].get("headers") or {}
        item[part]["headers"] = {k: v for k, v in headers.items() if k.lower() in keep}


def created_jobs(items: list[dict[str, Any]]) -> list[str]:
    """The ids of the jobs the flow created (the answers to its POST /fine-tunes)."""
    out = []
    for item in items:
        if item["request"]["method"] == "POST" and _path(item).endswith("/fine-tunes"):
            body = _json(item["response"]["body"].get("string"))
            if isinstance(body, dict) and isinstance(body.get("id"), str):
                out.append(body["id"])
    return out


def _redact_identity(body: Any) -> None:
    for node in _walk(body):
        if node.get("owner_address"):
            node["owner_address"] = EMAIL
        if node.get("wandb_url"):
            node["wandb_url"] = WANDB_URL
        if node.get("wandb_api_key"):
            node["wandb_api_key"] = REDACTED


def _collect(node: dict[str, Any], jobs: list[str], files: list[str], users: set[str]) -> None:
    """Job ids (a job object's ``id``, ``job_id``), file ids (a file object's ``id``, the files a job or
    request names) and user ids, in order of appearance."""
    found: list[tuple[list[str], Any]] = []
    if node.get("object") == "file" or "FileType" in node:
        found.append((files, node.get("id")))
    elif "status" in node and "id" in node:
        found.append((jobs, node.get("id")))
    found += [(jobs, node.get("job_id")), (files, node.get("training_file")), (files, node.get("validation_file"))]
    for bucket, value in found:
        if isinstance(value, str) and value and value not in bucket:
            bucket.append(value)
    if isinstance(node.get("user_id"), str) and node["user_id"]:
        users.add(node["user_id"])


def _accounts(items: list[dict[str, Any]], own: list[str]) -> set[str]:
    """The account names in the flow's output model names (``ACCOUNT/model-suffix``), leaving alone an
    owner that is also a base model's organisation (``openai/gpt-oss-20b``)."""
    names, orgs = set(), set()
    for item in items:
        for node in _walk(_json(item["response"]["body"].get("string"))):
            if node.get("id") in own and isinstance(node.get("model_output_name"), str):
                names.add(node["model_output_name"])
            if isinstance(node.get("model"), str):
                orgs.add(node["model"].split("/")[0])
    return {name.split("/")[0] for name in names if "/" in name} - orgs - {""}


def _replace(text: str, table: dict[str, str]) -> str:
    for real in sorted(table, key=len, reverse=True):  # longest first: one id never rewrites part of another
        if real in text:
            text = re.sub(rf"(?<![\w-]){re.escape(real)}(?![\w-])", table[real], text)
    return _EMAIL.sub(EMAIL, text)
