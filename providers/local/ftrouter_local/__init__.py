"""ftrouter's local backend: SFT with TRL + PEFT (LoRA, QLoRA or full) in a detached worker process.

Importing this package costs nothing: ``LocalBackend`` is loaded on first access, so the helper
processes (``python -m ftrouter_local.detach`` / ``.worker``) start without the backend's imports.
The backend itself never imports torch; the worker is where the training libraries load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ftrouter_local.backend import LocalBackend

__all__ = ["LocalBackend"]


def __getattr__(name: str) -> Any:
    if name == "LocalBackend":
        from ftrouter_local.backend import LocalBackend

        return LocalBackend
    raise AttributeError(f"module 'ftrouter_local' has no attribute {name!r}")
