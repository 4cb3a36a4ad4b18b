"""ftrouter's Vertex AI backend: supervised tuning of Gemini models (plugin distribution ``ftrouter-vertex``).

Importing this package is cheap: google-auth, google-genai and google-cloud-storage are imported only
when a remote call needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ftrouter_vertex.backend import VertexBackend

__all__ = ["VertexBackend"]


def __getattr__(name: str) -> Any:
    """``VertexBackend`` loads on first access, so reading the profile (``ftrouter_vertex.profile``) is cheap."""
    if name == "VertexBackend":
        from ftrouter_vertex.backend import VertexBackend

        return VertexBackend
    raise AttributeError(f"module 'ftrouter_vertex' has no attribute {name!r}")
