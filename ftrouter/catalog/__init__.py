"""Shipped data: model facts and prices, GPUs, open models, decision weights — data, not code.

The managed models and their prices are not shipped here: each backend plugin keeps its rows in its own
``catalog.yaml`` (``ftrouter.profiles.plugin_catalog_files``), merged into the model catalog when it is
installed, before user overrides. Every row carries ``source`` and ``as_of``; rows copied from a
third-party page set ``secondary: true``. Users override or extend any catalog with their own YAML file
(``--catalog FILE`` or ``FTROUTER_CATALOG``): rows with the same ``name`` replace the shipped ones. An
override file holds one list per catalog under a key named like the shipped file (``models``, ``gpus``,
``open_models``); see ``configs/prices/example-override.yaml``.

This module only knows how to load and validate catalog files; the meaning of each catalog lives
with the code that uses it (``ftrouter.cost``, ``ftrouter.advise``, ``ftrouter.data.tokens``).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ftrouter import safeyaml
from ftrouter.errors import CatalogError, UnknownName

BackendName = str  # a backend with a profile (ftrouter.profiles); plugins add their own rows and names


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
    prompt_baseline: bool = False  # the base model ``compare`` prices prompting with when none is named
    training_usd_per_1m: Price | None = Field(default=None, ge=0)
    ft_input_usd_per_1m: Price | None = Field(default=None, ge=0)
    ft_cached_input_usd_per_1m: Price | None = Field(default=None, ge=0)
    ft_output_usd_per_1m: Price | None = Field(default=None, ge=0)
    base_input_usd_per_1m: Price | None = Field(default=None, ge=0)
    base_cached_input_usd_per_1m: Price | None = Field(default=None, ge=0)
    base_output_usd_per_1m: Price | None = Field(default=None, ge=0)
    training_available_until: date | None = None  # after this, no new fine-tuning jobs
    shutdown_date: date | None = None  # the (fine-tuned) model stops serving


class GpuPrice(BaseModel):
    """One provider's on-demand price for one GPU of a kind; dated and sourced on its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = Field(min_length=1)
    usd_per_hour: Price = Field(gt=0)  # zero would print a silent $0 training cost: amortise owned GPUs instead
    source: str = Field(min_length=1)
    as_of: date
    secondary: bool = False


class GpuEntry(CatalogRow):
    """A GPU kind: memory (GiB), peak dense BF16 tensor TFLOP/s (the MFU denominator), prices."""

    memory_gb: float = Field(gt=0)
    peak_bf16_tflops: float = Field(gt=0)
    aliases: list[str] = Field(default_factory=list)
    prices: list[GpuPrice] = Field(default_factory=list)

    def cheapest(self) -> GpuPrice | None:
        return min(self.prices, key=lambda p: p.usd_per_hour, default=None)

    def price_from(self, provider: str) -> GpuPrice | None:
        return next((p for p in self.prices if p.provider.lower() == provider.lower()), None)


class OpenModelEntry(CatalogRow):
    """An open-weights model for local training: the architecture the estimators need."""

    aliases: list[str] = Field(default_factory=list)
    params_b: float = Field(gt=0)  # published parameter count, billions
    layers: int = Field(gt=0)
    hidden: int = Field(gt=0)
    intermediate: int = Field(gt=0)
    heads: int = Field(gt=0)
    kv_heads: int = Field(gt=0)
    head_dim: int | None = Field(default=None, gt=0)  # when not hidden / heads (Gemma)
    vocab: int = Field(gt=0)
    tied_embeddings: bool = False
    context_length: int = Field(gt=0)
    licence: str = Field(min_length=1)
    default_size: Literal["small", "medium", "large"] | None = None
    # "encoder": a bidirectional encoder for classification heads (priced, not trained by the SFT backend)
    architecture: Literal["decoder", "encoder"] = "decoder"


Row = TypeVar("Row", bound=CatalogRow)

# The top-level keys an override file may hold: one per shipped catalog file.
OVERRIDE_KEYS = ("models", "gpus", "open_models", "decision_rules")


def _row_lines(node: yaml.Node | None) -> list[int]:
    """1-based line of each row in a catalog document (a list, or a mapping holding ``rows``)."""
    if isinstance(node, yaml.MappingNode):
        node = next((v for k, v in node.value if getattr(k, "value", None) == "rows"), None)
    if not isinstance(node, yaml.SequenceNode):
        return []
    return [item.start_mark.line + 1 for item in node.value]


def _key_lines(node: yaml.Node | None, key: str) -> list[int]:
    """1-based line of each row under top-level ``key`` of an override file."""
    if not isinstance(node, yaml.MappingNode):
        return []
    seq = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
    return [item.start_mark.line + 1 for item in seq.value] if isinstance(seq, yaml.SequenceNode) else []


def _top_key_line(node: yaml.Node | None, key: str) -> int | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((k.start_mark.line + 1 for k, _ in node.value if getattr(k, "value", None) == key), None)


def _load_yaml(text: str, origin: str) -> safeyaml.Document:
    try:
        return safeyaml.load(text)
    except safeyaml.YamlProblem as exc:
        raise CatalogError(exc.message, path=origin, line=exc.line) from None


def _read_yaml(doc: Any, origin: str) -> list[dict[str, Any]]:
    rows = doc.get("rows") if isinstance(doc, dict) else doc
    if not isinstance(rows, list):
        raise CatalogError("expected a list of rows (or a mapping with a 'rows' list)", path=origin)
    return rows


def _check_override_keys(doc: dict[Any, Any], node: yaml.Node | None, path: Path) -> None:
    """An unknown top-level key (``gpuz:``) would be ignored and the shipped rows used: refuse it."""
    for key in doc:
        if key not in OVERRIDE_KEYS:
            close = difflib.get_close_matches(str(key), OVERRIDE_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise CatalogError(f"unknown top-level key {key!r}{hint}; an override file holds "
                               f"{', '.join(OVERRIDE_KEYS)}", path=path, line=_top_key_line(node, str(key)))


def parse_rows(raw_rows: list[Any], schema: type[Row], origin: str, lines: list[int] | None = None) -> list[Row]:
    """Validate raw rows against ``schema``; the error names the file, the row (and its line) and the field."""
    out: list[Row] = []
    for index, raw in enumerate(raw_rows, start=1):
        label = raw.get("name", f"#{index}") if isinstance(raw, dict) else f"#{index}"
        line = lines[index - 1] if lines and index <= len(lines) else None
        try:
            out.append(schema.model_validate(raw))
        except ValidationError as exc:
            first = exc.errors()[0]
            field_name = ".".join(str(p) for p in first["loc"]) or "row"
            raise CatalogError(f"row {label!r}: {field_name}: {first['msg']}", path=origin, line=line) from exc
    return out


def override_paths() -> list[Path]:
    """User catalog files from ``FTROUTER_CATALOG`` (os.pathsep-separated)."""
    value = os.environ.get("FTROUTER_CATALOG", "")
    return [Path(p) for p in value.split(os.pathsep) if p]


def _plugin_files() -> tuple[Path, ...]:
    """Catalog rows that backend plugins ship (their models and prices), applied before user overrides."""
    from ftrouter.profiles import plugin_catalog_files

    return plugin_catalog_files()


def _where(origin: str, lines: list[int], index: int) -> str:
    return f"{origin}:{lines[index]}" if index < len(lines) else origin


def file_rows(path: Path, key: str, schema: type[Row]) -> list[tuple[Row, str]]:
    """The rows under top-level ``key`` of one override-format file (a user override or a plugin's
    ``catalog.yaml``), each with where it came from (``file:line``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise CatalogError(f"cannot read catalog override: {reason}", path=path) from exc
    parsed = _load_yaml(text, str(path)) if text.strip() else safeyaml.Document({}, None)
    doc = parsed.data
    if not isinstance(doc, dict):
        raise CatalogError("an override file is a mapping: models: [...], gpus: [...], open_models: [...]",
                           path=path)
    _check_override_keys(doc, parsed.node, path)
    if key not in doc:
        return []
    if not isinstance(doc[key], list):
        raise CatalogError(f"{key!r} must be a list of rows", path=path, line=_top_key_line(parsed.node, key))
    lines = _key_lines(parsed.node, key)
    return [(row, _where(str(path), lines, i)) for i, row in enumerate(parse_rows(doc[key], schema, str(path), lines))]


def _load_with_origins(
    filename: str, schema: type[Row], extra_files: tuple[Path, ...] = ()
) -> tuple[dict[str, Row], dict[str, str]]:
    """Rows by name, and where each row came from (``file:line``) so later errors can point at it."""
    shipped_origin = f"catalog/{filename}"
    text = resources.files("ftrouter.catalog").joinpath(filename).read_text(encoding="utf-8")
    shipped = _load_yaml(text, shipped_origin)
    lines = _row_lines(shipped.node)
    rows = parse_rows(_read_yaml(shipped.data, shipped_origin), schema, shipped_origin, lines)
    by_name = {row.name: row for row in rows}
    origins = {row.name: _where(shipped_origin, lines, i) for i, row in enumerate(rows)}
    key = filename.rsplit(".", 1)[0]
    for path in (*_plugin_files(), *override_paths(), *extra_files):
        for row, origin in file_rows(path, key, schema):
            by_name[row.name] = row
            origins[row.name] = origin
    return by_name, origins


def load_catalog(filename: str, schema: type[Row], extra_files: tuple[Path, ...] = ()) -> dict[str, Row]:
    """Load a shipped catalog file, then apply overrides (same ``name`` replaces; new names add).

    Override files may hold rows for several catalogs; rows are taken from the top-level key named
    like ``filename`` without its suffix.
    """
    return _load_with_origins(filename, schema, extra_files)[0]


@dataclass(frozen=True)
class Table(Generic[Row]):
    """One catalog: rows by name, where each row came from, and lookup by name or alias."""

    kind: str
    rows: dict[str, Row]
    origins: dict[str, str] = field(default_factory=dict)

    def find(self, name: str) -> Row | None:
        if name in self.rows:
            return self.rows[name]
        wanted = name.lower()
        for row in self.rows.values():
            names = [row.name, *getattr(row, "aliases", [])]
            if any(n.lower() == wanted for n in names):
                return row
        return None

    def get(self, name: str) -> Row:
        row = self.find(name)
        if row is None:
            choices = [n for row in self.rows.values() for n in (row.name, *getattr(row, "aliases", []))]
            raise UnknownName(self.kind, name, choices)
        return row

    def where(self, name: str) -> str:
        """``file:line`` of a row, for error messages."""
        return self.origins.get(name, f"catalog ({self.kind})")


@dataclass(frozen=True)
class Catalog:
    """All catalogs the cost engine reads, loaded together with the same override files."""

    models: Table[ModelEntry]
    gpus: Table[GpuEntry]
    open_models: Table[OpenModelEntry]

    def get_model(self, name: str) -> ModelEntry:
        return self.models.get(base_model_name(name))


def load(extra_files: tuple[Path, ...] | list[Path] = ()) -> Catalog:
    """Load every catalog with ``FTROUTER_CATALOG`` and ``extra_files`` applied (later files win)."""
    extra = tuple(extra_files)
    return Catalog(
        models=Table("model", *_load_with_origins("models.yaml", ModelEntry, extra)),
        gpus=Table("GPU", *_load_with_origins("gpus.yaml", GpuEntry, extra)),
        open_models=Table("open model", *_load_with_origins("open_models.yaml", OpenModelEntry, extra)),
    )


@cache
def default_catalog() -> Catalog:
    """The shipped catalogs plus ``FTROUTER_CATALOG`` overrides (cached for the process)."""
    return load()


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
