"""ftrouter's Together AI backend: LoRA or full, SFT or DPO fine-tuning jobs through Together's REST API.

Importing this package is cheap: ``TogetherBackend`` (and httpx) load on first access, so the core can
read the backend's profile (``ftrouter_together.profile``) without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ftrouter_together.backend import TogetherBackend

__all__ = ["TogetherBackend"]


def __getattr__(name: str) -> Any:
    if name == "TogetherBackend":
        from ftrouter_together.backend import TogetherBackend

        return TogetherBackend
    raise AttributeError(f"module 'ftrouter_together' has no attribute {name!r}")
