"""`ftrouter jobs` commands. (Being built: see the issue that owns this module.)"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
