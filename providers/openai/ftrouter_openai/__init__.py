"""ftrouter's OpenAI backend: validate and convert data for OpenAI, upload it, create supervised or DPO
fine-tuning jobs, and follow them (status, events, checkpoints, cancel, pause, resume).

The ``openai`` SDK is imported only when a remote call is made, so ``submit --dry-run`` needs neither
a key nor the SDK's import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ftrouter_openai.backend import OpenAIBackend

__all__ = ["OpenAIBackend"]


def __getattr__(name: str) -> Any:
    """``OpenAIBackend`` loads on first access, so reading the profile (``ftrouter_openai.profile``) is cheap."""
    if name == "OpenAIBackend":
        from ftrouter_openai.backend import OpenAIBackend

        return OpenAIBackend
    raise AttributeError(f"module 'ftrouter_openai' has no attribute {name!r}")
