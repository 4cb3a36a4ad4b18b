"""Google credentials, found in Google's usual order.

1. an explicit service-account (or other credential) file: ``--option credentials=KEY.json`` or
   ``credentials_file`` in ``vertex.yaml``;
2. ``GOOGLE_APPLICATION_CREDENTIALS``;
3. application default credentials (``gcloud auth application-default login``), and on Google Cloud
   the metadata server (skipped when ``NO_GCE_CHECK=true``, as in the tests).

Steps 2 and 3 are google-auth's own ``google.auth.default()``. google-auth is imported here, lazily,
so that ``ftrouter --help`` never pays for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ftrouter.errors import AuthError

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)

HOW_TO_AUTHENTICATE = (
    "provide credentials with one of: GOOGLE_APPLICATION_CREDENTIALS=/path/to/service-account.json, "
    "--option credentials=/path/to/service-account.json, or `gcloud auth application-default login`"
)


def load_credentials(credentials_file: str | None = None) -> tuple[Any, str | None]:
    """Return ``(credentials, project the credentials name or None)``; ``AuthError`` when there are none."""
    import google.auth
    from google.auth import exceptions as auth_exceptions

    if credentials_file:
        path = Path(credentials_file).expanduser()
        if not path.is_file():
            raise AuthError(f"credentials file not found: {HOW_TO_AUTHENTICATE}", path=path)
        try:
            return google.auth.load_credentials_from_file(str(path), scopes=list(SCOPES))
        except (auth_exceptions.DefaultCredentialsError, ValueError) as exc:
            raise AuthError(f"not a usable Google credentials file ({exc})", path=path) from exc
    try:
        return google.auth.default(scopes=list(SCOPES))
    except auth_exceptions.DefaultCredentialsError as exc:
        raise AuthError(f"no Google Cloud credentials found; {HOW_TO_AUTHENTICATE}") from exc
