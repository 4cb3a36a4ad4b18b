"""Where a Vertex job runs: project, region, staging bucket and credentials file.

Each setting is taken from the first place that has it, in this order:

1. the job's options (``ftrouter submit --option project=... --option region=... --option bucket=...``),
2. the environment (``GOOGLE_CLOUD_PROJECT``, ``GOOGLE_CLOUD_LOCATION``; ``GOOGLE_APPLICATION_CREDENTIALS``
   is left to google-auth, which reads it itself),
3. the config file ``$FTROUTER_HOME/vertex.yaml`` (or the file named by ``FTROUTER_VERTEX_CONFIG``),
4. for the project only: the project that the application-default credentials name,
5. for the region only: ``us-central1``, the region where every tunable Gemini model is offered.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ftrouter import safeyaml
from ftrouter.errors import UsageError

DEFAULT_REGION = "us-central1"
CONFIG_ENV = "FTROUTER_VERTEX_CONFIG"

# Options a user may pass with --option KEY=VALUE, with the aliases people reach for.
OPTION_ALIASES: dict[str, str] = {
    "project": "project",
    "region": "region",
    "location": "region",
    "bucket": "bucket",
    "staging_bucket": "bucket",
    "credentials": "credentials_file",
    "credentials_file": "credentials_file",
    "adapter_size": "adapter_size",
    "display_name": "display_name",
}

_REGION = re.compile(r"^[a-z]+(-[a-z]+)+\d+$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$|^\d+$")


class VertexConfigFile(BaseModel):
    """The optional ``vertex.yaml``; a misspelt key is an error that names it."""

    model_config = ConfigDict(extra="forbid")

    project: str | None = None
    region: str | None = None
    bucket: str | None = None
    credentials_file: str | None = None
    adapter_size: int | None = None
    display_name: str | None = None


@dataclass(frozen=True)
class VertexSettings:
    project: str | None
    region: str
    bucket: str | None  # bucket name only
    prefix: str  # object prefix inside the bucket ("" or "some/folder/")
    credentials_file: str | None = None
    adapter_size: int | None = None
    display_name: str | None = None
    origin: dict[str, str] = field(default_factory=dict)  # setting -> where it came from

    def object_name(self, local_id: str, role: str) -> str:
        """Where a job's file goes inside the bucket: ``[prefix/]ftrouter/<local id>/<role>.jsonl``."""
        return f"{self.prefix}ftrouter/{local_id}/{role}.jsonl"

    def gs_uri(self, object_name: str) -> str:
        return f"gs://{self.bucket or '<bucket>'}/{object_name}"



def config_path() -> Path:
    """The config file: ``FTROUTER_VERTEX_CONFIG`` or ``$FTROUTER_HOME/vertex.yaml``."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    from ftrouter.jobs.paths import ftrouter_home

    return ftrouter_home() / "vertex.yaml"


def load_config_file(path: Path) -> VertexConfigFile:
    """Read ``vertex.yaml``; a missing file is an empty config, a broken one a UsageError."""
    if not path.exists():
        return VertexConfigFile()
    try:
        raw = safeyaml.load(path.read_text(encoding="utf-8")).data
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the Vertex config file: {exc}", path=path) from exc
    except safeyaml.YamlProblem as exc:
        raise UsageError(exc.message, path=path, line=exc.line) from None
    if raw is None:
        return VertexConfigFile()
    if not isinstance(raw, dict):
        raise UsageError("expected a mapping of settings (project, region, bucket, ...)", path=path, line=1)
    try:
        return VertexConfigFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "config"
        allowed = ", ".join(VertexConfigFile.model_fields)
        raise UsageError(f"{key}: {first['msg']} (allowed keys: {allowed})", path=path) from exc


def normalise_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Map option aliases to setting names; an unknown option is a usage error listing the known ones."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        name = OPTION_ALIASES.get(key.replace("-", "_"))
        if name is None:
            raise UsageError(f"unknown option {key!r} for the vertex backend (known: {', '.join(OPTION_ALIASES)})")
        if value is not None and value != "":
            out[name] = value
    return out


def split_bucket(value: str) -> tuple[str, str]:
    """``gs://bucket/some/prefix`` or ``bucket`` -> (bucket, "some/prefix/")."""
    rest = value.removeprefix("gs://").strip("/")
    bucket, _, prefix = rest.partition("/")
    if not _BUCKET.match(bucket):
        raise UsageError(
            f"invalid Cloud Storage bucket {value!r}: expected a bucket name like 'my-bucket' or 'gs://my-bucket/prefix'"
        )
    return bucket, (prefix.strip("/") + "/") if prefix else ""


def _pick(name: str, layers: list[tuple[str, Mapping[str, Any]]]) -> tuple[Any, str | None]:
    for origin, layer in layers:
        value = layer.get(name)
        if value is not None and value != "":
            return value, origin
    return None, None


def _adapter_size(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UsageError(f"adapter_size must be a whole number (1, 2, 4, 8 or 16), got {value!r}") from None


def resolve_settings(
    options: Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> VertexSettings:
    """Merge options, environment and config file into one ``VertexSettings`` (no network, no credentials)."""
    env = os.environ if env is None else env
    path = config_file or config_path()
    layers: list[tuple[str, Mapping[str, Any]]] = [
        ("option", normalise_options(options)),
        ("environment", {"project": env.get("GOOGLE_CLOUD_PROJECT"), "region": env.get("GOOGLE_CLOUD_LOCATION")}),
        (str(path), load_config_file(path).model_dump(exclude_none=True)),
    ]
    origin: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in ("project", "region", "bucket", "credentials_file", "adapter_size", "display_name"):
        value, where = _pick(name, layers)
        if where is not None:
            values[name], origin[name] = value, where
    region = str(values.get("region") or DEFAULT_REGION)
    origin.setdefault("region", "default")
    if not _REGION.match(region):
        raise UsageError(f"invalid Vertex AI region {region!r} (from {origin['region']}): expected e.g. us-central1")
    project = values.get("project")
    if project is not None and not _PROJECT.match(str(project)):
        raise UsageError(f"invalid Google Cloud project id {project!r} (from {origin['project']})")
    bucket, prefix = split_bucket(str(values["bucket"])) if values.get("bucket") else (None, "")
    return VertexSettings(
        project=str(project) if project is not None else None,
        region=region,
        bucket=bucket,
        prefix=prefix,
        credentials_file=str(values["credentials_file"]) if values.get("credentials_file") else None,
        adapter_size=_adapter_size(values.get("adapter_size")),
        display_name=str(values["display_name"]) if values.get("display_name") else None,
        origin=origin,
    )
