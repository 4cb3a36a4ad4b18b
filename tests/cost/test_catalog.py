"""The shipped catalogs load, every row is sourced and dated, and a bad override names file, line and row."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftrouter.catalog import load
from ftrouter.errors import CatalogError, UnknownName


def test_shipped_catalogs_are_sourced_and_dated() -> None:
    catalog = load()
    assert catalog.gpus.rows and catalog.open_models.rows and catalog.models.rows
    for table in (catalog.models, catalog.gpus, catalog.open_models):
        for row in table.rows.values():
            assert row.source and row.as_of, row.name
            where = table.where(row.name)  # the shipped file, or a backend plugin's catalog.yaml, with the line
            assert (where.startswith("catalog/") or "/catalog.yaml:" in where) and ":" in where
    for gpu in catalog.gpus.rows.values():
        for price in gpu.prices:
            assert price.source and price.as_of and price.usd_per_hour > 0
    sizes = [m.default_size for m in catalog.open_models.rows.values() if m.default_size]
    assert sorted(sizes) == ["large", "medium", "small"]
    for backend in ("openai", "vertex"):
        assert any(m.default_for_backend for m in catalog.models.rows.values() if m.backend == backend)


def test_lookup_by_alias_and_close_matches() -> None:
    catalog = load()
    assert catalog.gpus.get("H100").name == "H100-SXM-80GB"
    assert catalog.open_models.get("llama-3.1-8b").name == "meta-llama/Llama-3.1-8B-Instruct"
    with pytest.raises(UnknownName, match="did you mean"):
        catalog.open_models.get("llama-3.1-9b")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("gpus:\n  - name: X\n    peak_bf16_tflops: 10\n    source: s\n    as_of: 2026-01-01\n",
         ":2: invalid_catalog: row 'X': memory_gb: Field required"),
        ("gpus:\n  - name: A\n    memory_gb: 1\n    peak_bf16_tflops: 1\n    source: s\n    as_of: 2026-01-01\n"
         "  - name: B\n    memory_gb: -4\n    peak_bf16_tflops: 1\n    source: s\n    as_of: 2026-01-01\n",
         ":7: invalid_catalog: row 'B': memory_gb"),
        ("models:\n  - name: m\n    backend: openai\n    family: f\n    source: s\n    as_of: 2026-01-01\n"
         "    ft_output_usd_per_1m: -0.1\n", ":2: invalid_catalog: row 'm': ft_output_usd_per_1m"),
        ("open_models:\n  - name: o\n    source: ''\n    as_of: 2026-01-01\n", "row 'o'"),
        ("gpus:\n  - name: Z\n    memory_gb: 24\n    peak_bf16_tflops: 100\n    source: s\n    as_of: 2026-01-01\n"
         "    prices:\n      - {provider: mine, usd_per_hour: 0, source: s, as_of: 2026-01-01}\n",
         "row 'Z': prices.0.usd_per_hour: Input should be greater than 0"),  # never a silent $0 estimate
        ("gpus: [oops\n", "invalid_catalog: not valid YAML"),
        ("- just a list\n", "an override file is a mapping"),
    ],
)
def test_bad_override_names_file_line_and_row(tmp_path: Path, body: str, expected: str) -> None:
    path = tmp_path / "override.yaml"
    path.write_text(body)
    with pytest.raises(CatalogError) as info:
        load([path])
    assert str(path) in str(info.value)
    assert expected in str(info.value)
    assert info.value.exit_code == 2


def test_override_replaces_and_adds_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "o.yaml"
    path.write_text("gpus:\n  - name: L4-24GB\n    memory_gb: 24\n    peak_bf16_tflops: 121\n    source: me\n"
                    "    as_of: 2026-11-02\n"
                    "    prices: [{provider: us, usd_per_hour: 0.1, source: me, as_of: 2026-11-02}]\n"
                    "  - name: B200\n    memory_gb: 180\n    peak_bf16_tflops: 2250\n    source: me\n"
                    "    as_of: 2026-11-02\n")
    monkeypatch.setenv("FTROUTER_CATALOG", str(path))
    catalog = load()
    l4 = catalog.gpus.get("L4-24GB")
    cheapest = l4.cheapest()
    assert cheapest is not None and cheapest.usd_per_hour == 0.1
    assert catalog.gpus.get("B200").cheapest() is None
    assert catalog.gpus.where("B200") == f"{path}:8"
