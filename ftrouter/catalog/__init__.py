"""Shipped data: model facts and prices, GPUs, decision weights — data, not code.

Every row carries ``source`` and ``as_of``; rows copied from a third-party page set
``secondary: true``. Users override or extend any catalog with their own YAML file (``--catalog FILE``
or ``FTROUTER_CATALOG``): rows with the same ``name`` replace the shipped ones.

This module only knows how to load and validate catalog files; the meaning of each catalog lives
with the code that uses it (``ftrouter.cost``, ``ftrouter.advise``, ``ftrouter.data.tokens``).
"""

from __future__ import annotations

import os
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ftrouter.errors import CatalogError, UnknownName

BackendName = Literal["openai", "vertex", "local"]


class CatalogRow(BaseModel):
    """Fields every catalog row has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    source: str = Field(min_length=1)
    as_of: date
    secondary: bool = False  # True when the figure comes from a third-party page, not the vendor
    note: str | None = None


Price = float  # USD; the schema below keeps them non-negative


class ModelEntry(CatalogRow):
    """A model ftrouter can fine-tune or compare against (managed API models)."""

    backend: BackendName
    family: str  # "gpt-4.1", "gemini-2.5", ...
    encoding: str | None = None  # tiktoken encoding for exact counts (OpenAI only)
    training_token_limit: int | None = Field(default=None, gt=0)  # per example; longer ones are truncated
    context_length: int | None = Field(default=None, gt=0)
    methods: list[Literal["sft", "dpo"]] = Field(default=["sft"])
    min_examples: int = Field(default=10, ge=1)
    max_validation_examples: int | None = Field(default=None, gt=0)
    default_for_backend: bool = False
    training_usd_per_1m: Price | None = Field(default=None, ge=0)
    ft_input_usd_per_1m: Price | None = Field(default=None, ge=0)
    ft_cached_input_usd_per_1m: Price | None = Field(default=None, ge=0)
    ft_output_usd_per_1m: Price | None = Field(default=None, ge=0)
    base_input_usd_per_1m: Price | None = Field(default=None, ge=0)
    base_cached_input_usd_per_1m: Price | None = Field(default=None, ge=0)
    base_output_usd_per_1m: Price | None = Field(default=None, ge=0)
    training_available_until: date | None = None  # after this, no new fine-tuning jobs
    shutdown_date: date | None = None  # the (fine-tuned) model stops serving


Row = TypeVar("Row", bound=CatalogRow)


def _read_yaml(text: str, origin: str) -> list[dict[str, Any]]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CatalogError(f"not valid YAML: {exc}", path=origin, line=mark.line + 1 if mark else None) from exc
    rows = doc.get("rows") if isinstance(doc, dict) else doc
    if not isinstance(rows, list):
        raise CatalogError("expected a list of rows (or a mapping with a 'rows' list)", path=origin)
    return rows


def parse_rows(raw_rows: list[Any], schema: type[Row], origin: str) -> list[Row]:
    """Validate raw rows against ``schema``; the error names the file, the row and the field."""
    out: list[Row] = []
    for index, raw in enumerate(raw_rows, start=1):
        label = raw.get("name", f"#{index}") if isinstance(raw, dict) else f"#{index}"
        try:
            out.append(schema.model_validate(raw))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "row"
            raise CatalogError(f"row {label!r}: {field}: {first['msg']}", path=origin) from exc
    return out


def override_paths() -> list[Path]:
    """User catalog files from ``FTROUTER_CATALOG`` (os.pathsep-separated)."""
    value = os.environ.get("FTROUTER_CATALOG", "")
    return [Path(p) for p in value.split(os.pathsep) if p]


def load_catalog(filename: str, schema: type[Row], extra_files: tuple[Path, ...] = ()) -> dict[str, Row]:
    """Load a shipped catalog file, then apply overrides (same ``name`` replaces; new names add).

    Override files may hold rows for several catalogs; only rows that validate against ``schema``'s
    catalog are taken from a file that has a top-level key named like ``filename`` without suffix.
    """
    shipped = resources.files("ftrouter.catalog").joinpath(filename)
    rows = parse_rows(_read_yaml(shipped.read_text(encoding="utf-8"), f"catalog/{filename}"), schema, filename)
    by_name = {row.name: row for row in rows}
    key = filename.rsplit(".", 1)[0]
    for path in (*override_paths(), *extra_files):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CatalogError(f"cannot read catalog override: {exc.strerror}", path=path) from exc
        doc = yaml.safe_load(text) if text.strip() else {}
        if isinstance(doc, dict) and key in doc:
            for row in parse_rows(doc[key], schema, str(path)):
                by_name[row.name] = row
    return by_name


@cache
def models() -> dict[str, ModelEntry]:
    """All managed-API models, by name."""
    return load_catalog("models.yaml", ModelEntry)


def base_model_name(name: str) -> str:
    """``ft:gpt-4.1-mini-2025-04-14:org:suffix:id`` -> ``gpt-4.1-mini-2025-04-14``."""
    if name.startswith("ft:"):
        return name.split(":")[1]
    return name


def find_model(name: str) -> ModelEntry | None:
    """The catalog row for ``name`` (or the base of a fine-tuned name); ``None`` when unknown."""
    return models().get(base_model_name(name))


def get_model(name: str) -> ModelEntry:
    """Like ``find_model`` but raises ``UnknownName`` with close matches."""
    entry = find_model(name)
    if entry is None:
        raise UnknownName("model", name, list(models()))
    return entry
