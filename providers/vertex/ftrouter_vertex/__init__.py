"""ftrouter's Vertex AI backend: supervised tuning of Gemini models (plugin distribution ``ftrouter-vertex``).

Importing this package is cheap: google-auth, google-genai and google-cloud-storage are imported only
when a remote call needs them.
"""

from ftrouter_vertex.backend import VertexBackend

__all__ = ["VertexBackend"]
