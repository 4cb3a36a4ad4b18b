"""Each backend plugin keeps its own model rows (``<package>/catalog.yaml``); the core ships none. With a
plugin not installed its rows are gone, and the commands that relied on them say so plainly (exit 2)
instead of crashing."""

from __future__ import annotations

import json
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirun import run_cli as run

from ftrouter import catalog, profiles

ROOT = Path(__file__).resolve().parents[2]
CHAT = ROOT / "configs" / "examples" / "chat.jsonl"
TODAY = "today=2026-11-21"


def _clear_caches() -> None:
    profiles.profile_for.cache_clear()
    catalog.default_catalog.cache_clear()
    catalog.models.cache_clear()


@pytest.fixture
def hide_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """``hide_plugins("openai", ...)``: those plugin packages cannot be imported or found, as if not installed."""

    def hide(*names: str) -> None:
        for name in names:
            package = f"ftrouter_{name}"
            for module in [m for m in sys.modules if m == package or m.startswith(package + ".")] or [package]:
                monkeypatch.setitem(sys.modules, module, None)  # import -> ModuleNotFoundError, find_spec -> None
            monkeypatch.setitem(sys.modules, package, None)
        _clear_caches()

    yield hide
    _clear_caches()  # the next test sees every plugin again (monkeypatch restores sys.modules after this)


def test_the_core_ships_no_model_rows_and_each_plugin_row_is_its_own() -> None:
    loaded = catalog.load()
    for name, row in loaded.models.rows.items():
        origin = loaded.models.where(name)
        assert origin.startswith(str(ROOT / "providers")) and f"/ftrouter_{row.backend}/catalog.yaml:" in origin
        assert row.source and row.as_of
    assert {row.backend for row in loaded.models.rows.values()} >= {"openai", "vertex", "together"}


def test_every_plugin_catalog_is_package_data() -> None:
    """An installed wheel must carry the rows: each catalog.yaml is declared in its plugin's pyproject."""
    files = sorted((ROOT / "providers").glob("*/ftrouter_*/catalog.yaml"))
    assert len(files) >= 3
    for path in files:
        package = path.parent.name
        project = tomllib.loads((path.parents[1] / "pyproject.toml").read_text("utf-8"))
        assert "catalog.yaml" in project["tool"]["setuptools"]["package-data"][package], path


def test_without_plugins_the_model_catalog_is_empty(hide_plugins) -> None:
    hide_plugins("openai", "vertex", "together")
    assert catalog.load().models.rows == {}
    assert catalog.find_model("gpt-4.1-2025-04-14") is None


def test_compare_without_the_plugin_that_marks_a_baseline_says_what_to_do(hide_plugins, capsys) -> None:
    hide_plugins("openai")
    code, out, err = run(capsys, "compare", "--data", str(CHAT), "--json", "--set", TODAY)
    assert code == 2 and not out
    assert "no model to price prompting with" in err and "--prompt-model" in err and "Traceback" not in err
    code, out, err = run(capsys, "compare", "--data", str(CHAT), "--json", "--set", TODAY,
                         "--prompt-model", "gemini-2.5-flash")
    assert code == 0, err
    report = json.loads(out)
    assert report["baseline"] == "prompt gemini-2.5-flash"
    assert "openai" not in {item["backend"] for item in report["training"]}


def test_estimate_for_a_backend_whose_plugin_is_missing_names_the_install(hide_plugins, capsys) -> None:
    hide_plugins("openai")
    code, _out, err = run(capsys, "estimate", "--data", str(CHAT), "--backend", "openai", "--set", TODAY)
    assert code == 2 and "not installed" in err and "providers/openai" in err
    code, out, err = run(capsys, "estimate", "--data", str(CHAT), "--json", "--set", TODAY)
    assert code == 0, err
    backends = {item["backend"] for item in json.loads(out)["backends"]}
    assert "openai" not in backends and {"vertex", "local"} <= backends


def test_estimate_counts_gemini_tokens_with_the_vertex_plugins_default_row(capsys) -> None:
    code, out, err = run(capsys, "estimate", "--data", str(CHAT), "--backend", "vertex", "--json", "--set", TODAY)
    assert code == 0, err
    [item] = json.loads(out)["backends"]
    default = next(m for m in catalog.models().values() if m.backend == "vertex" and m.default_for_backend)
    assert item["model"] == default.name
