"""Catalog loading for the advisor's fast path: the same files and override rules as
``ftrouter.catalog.load_catalog``, parsed with libyaml.

``ftrouter advise`` must answer in well under half a second, and the pure-Python YAML parser needs
about as long for the decision rules alone. Rows are validated with the catalog's own ``parse_rows``;
line numbers (which need the slow node composer) are computed only when a row is invalid.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

from ftrouter.catalog import CatalogRow, override_paths, parse_rows
from ftrouter.errors import CatalogError

Row = TypeVar("Row", bound=CatalogRow)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(text: str, origin: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CatalogError(f"not valid YAML: {exc}", path=origin, line=mark.line + 1 if mark else None) from None


def _row_lines(text: str, key: str | None) -> list[int]:
    node = yaml.compose(text, Loader=_Loader)
    if key is not None and isinstance(node, yaml.MappingNode):
        node = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
    elif isinstance(node, yaml.MappingNode):  # a shipped file: a list, or a mapping holding "rows"
        node = next((v for k, v in node.value if getattr(k, "value", None) == "rows"), None)
    return [item.start_mark.line + 1 for item in node.value] if isinstance(node, yaml.SequenceNode) else []


def _parse(raw: Any, schema: type[Row], text: str, origin: str, key: str | None) -> list[Row]:
    if not isinstance(raw, list):
        raise CatalogError(f"expected a list of rows{f' under {key!r}' if key else ''}", path=origin)
    try:
        return parse_rows(raw, schema, origin)
    except CatalogError:  # again, now with line numbers for the message
        return parse_rows(raw, schema, origin, _row_lines(text, key))


def fast_load_catalog(filename: str, schema: type[Row], extra_files: tuple[Path, ...] = ()) -> dict[str, Row]:
    """Shipped rows of ``filename``, then rows under its key (``decision_rules``, ``models``) in each
    override file (``FTROUTER_CATALOG``, then ``extra_files``): the same name replaces, a new one adds."""
    origin = f"catalog/{filename}"
    text = resources.files("ftrouter.catalog").joinpath(filename).read_text(encoding="utf-8")
    doc = _load(text, origin)
    raw = doc.get("rows") if isinstance(doc, dict) else doc
    by_name = {row.name: row for row in _parse(raw, schema, text, origin, None)}
    key = filename.rsplit(".", 1)[0]
    for path in (*override_paths(), *extra_files):
        try:
            override = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogError(f"cannot read catalog override: {exc}", path=path) from None
        over = _load(override, str(path)) if override.strip() else None
        if isinstance(over, dict) and key in over:
            for row in _parse(over[key], schema, override, str(path), key):
                by_name[row.name] = row
    return by_name
