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


def _from_file(path: Path) -> tuple[Any, str | None]:
    """A service-account key or an authorized-user (``gcloud auth application-default login``) file.

    Loaded with the type-specific constructors, as google-auth recommends for files it did not
    choose itself (its generic loader would accept any credential configuration)."""
    import json

    from google.oauth2 import credentials as user_credentials
    from google.oauth2 import service_account

    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise AuthError(f"not a usable Google credentials file ({exc})", path=path) from exc
    kind = info.get("type") if isinstance(info, dict) else None
    try:
        if kind == "service_account":
            creds = service_account.Credentials.from_service_account_info(info, scopes=list(SCOPES))
            return creds, info.get("project_id")
        if kind == "authorized_user":
            creds = user_credentials.Credentials.from_authorized_user_info(info, scopes=list(SCOPES))
            return creds, info.get("quota_project_id")
    except (ValueError, KeyError) as exc:
        raise AuthError(f"not a usable Google credentials file ({exc})", path=path) from exc
    raise AuthError(f"not a usable Google credentials file (type {kind!r}; expected a service-account key or an "
                    "authorized-user file; other kinds work through GOOGLE_APPLICATION_CREDENTIALS)", path=path)


def load_credentials(credentials_file: str | None = None) -> tuple[Any, str | None]:
    """Return ``(credentials, project the credentials name or None)``; ``AuthError`` when there are none."""
    if credentials_file:
        path = Path(credentials_file).expanduser()
        if not path.is_file():
            raise AuthError(f"credentials file not found; {HOW_TO_AUTHENTICATE}", path=path)
        return _from_file(path)
    import google.auth
    from google.auth import exceptions as auth_exceptions

    try:
        return google.auth.default(scopes=list(SCOPES))
    except auth_exceptions.DefaultCredentialsError as exc:
        raise AuthError(f"no Google Cloud credentials found; {HOW_TO_AUTHENTICATE}") from exc
