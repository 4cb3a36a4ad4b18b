"""The skeleton's own contracts: error rendering, exit codes, the backend registry, the network guard."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from ftrouter.backends import BUILTIN_BACKENDS, backend_names, load_backend_class
from ftrouter.catalog import get_model
from ftrouter.errors import AuthError, DataError, PluginMissing, UnknownName, UsageError
from ftrouter.plugins import Builtin


def test_error_renders_file_line_code() -> None:
    err = DataError("not valid JSON", path="train.jsonl", line=7, code="invalid_json")
    assert str(err) == "train.jsonl:7: invalid_json: not valid JSON"
    assert err.exit_code == 1
    assert UsageError("x").exit_code == 2
    assert AuthError("x").exit_code == 4


def test_unknown_name_lists_close_matches() -> None:
    with pytest.raises(UnknownName) as info:
        get_model("gpt-4.1-mini")
    assert "gpt-4.1-mini-2025-04-14" in str(info.value)
    assert info.value.exit_code == 2


def test_backend_registry_knows_builtins_and_rejects_unknown() -> None:
    assert set(BUILTIN_BACKENDS) <= set(backend_names())
    with pytest.raises(UnknownName):
        load_backend_class("nope")


def test_missing_plugin_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    from ftrouter import backends

    monkeypatch.setitem(backends.BUILTIN_BACKENDS, "ghost",
                        Builtin("ftrouter_ghost_xyz:Ghost", "pip install -e providers/ghost"))
    with pytest.raises(PluginMissing, match="pip install -e providers/ghost"):
        load_backend_class("ghost")


def test_network_guard_blocks_real_connections() -> None:
    with pytest.raises(RuntimeError, match="network"):
        socket.create_connection(("example.com", 443), timeout=1)


def test_cli_usage_error_exit_code_and_no_traceback() -> None:
    proc = subprocess.run([sys.executable, "-m", "ftrouter", "--no-such-flag"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_cli_help_does_not_import_heavy_modules() -> None:
    code = ("import sys; from ftrouter.cli.app import app; "
            "heavy = [m for m in ('torch', 'openai', 'trl', 'peft', 'google.genai', 'transformers') "
            "if m in sys.modules]; "
            "print(','.join(heavy))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""


def test_plugin_groups_find_builtins_and_registered_plugins_and_name_what_is_missing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ftrouter import plugins

    group = plugins.PluginGroup("ftrouter.test-group", {
        "json": Builtin("json:dumps", "(stdlib)"),
        "ghost": Builtin("ftrouter_ghost_xyz.sub:thing", "pip install ghost"),
    })

    class EntryPoint:
        name, value = "registered", "os.path:join"

    monkeypatch.setattr(plugins, "entry_points", lambda group: [EntryPoint()] if group == "ftrouter.test-group" else [])
    assert group.names() == ["ghost", "json", "registered"]
    import json
    import os

    assert group.load("json", "the json plugin") is json.dumps
    assert group.load("registered", "it") is os.path.join
    assert group.load("nobody", "it") is None
    with pytest.raises(PluginMissing, match=r"the ghost plugin needs 'ftrouter_ghost_xyz', which is not "
                                            r"installed: pip install ghost$"):
        group.load("ghost", "the ghost plugin")
