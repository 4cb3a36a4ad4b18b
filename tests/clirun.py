"""Run the ``ftrouter`` CLI in-process the way the console script does (``main`` maps errors to exit
codes), and capture what it printed. Importable from every test module: pytest puts ``tests/`` on
``sys.path`` because of ``tests/conftest.py``."""

from __future__ import annotations

import pytest


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Returns (exit code, stdout, stderr)."""
    from ftrouter.cli.app import main

    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
