"""ftrouter's typed errors.

Every failure a user can cause or meet is one of these types. The CLI maps them to exit codes and
one-line messages in exactly one place (``ftrouter.cli.app``); library callers catch the types.

Exit codes (the CLI contract; docs/reference/exit-codes.md is generated from this module):
    0 ok · 1 invalid input (data, validation, rejected request) · 2 usage / configuration error ·
    3 provider or network failure after retries · 4 authentication or permission
"""

from __future__ import annotations

from pathlib import Path

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_PROVIDER = 3
EXIT_AUTH = 4


class FtrouterError(Exception):
    """Base class. Renders as ``FILE:LINE: code: message`` when a location is known."""

    exit_code: int = EXIT_INVALID
    code: str = "error"

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        return f"{where}{self.code}: {self.message}"


# -- input and usage -------------------------------------------------------------------------------


class DataError(FtrouterError):
    """The user's data file cannot be read or is invalid (exit 1)."""

    code = "invalid_data"


class ValidationFailed(DataError):
    """Validation found errors; the problems were already reported one per line."""

    code = "validation_failed"


class UsageError(FtrouterError):
    """A wrong flag value, a missing file, a bad profile or config (exit 2)."""

    exit_code = EXIT_USAGE
    code = "usage"


class UnknownName(UsageError):
    """A model, GPU, backend or job name that is not known; lists close matches."""

    code = "unknown_name"

    def __init__(self, kind: str, name: str, choices: list[str] | tuple[str, ...] = ()) -> None:
        import difflib

        close = difflib.get_close_matches(name, list(choices), n=5, cutoff=0.5)
        hint = f" (did you mean: {', '.join(close)}?)" if close else ""
        if not close and choices and len(choices) <= 12:
            hint = f" (known: {', '.join(sorted(choices))})"
        super().__init__(f"unknown {kind} {name!r}{hint}")
        self.kind = kind
        self.name = name
        self.suggestions = close


class CatalogError(UsageError):
    """A catalog or override file is malformed (names the file and row)."""

    code = "invalid_catalog"


class ProfileError(UsageError):
    """A task profile is invalid (names the key and, when known, the YAML line).

    ``problems`` holds every problem found, as (line, message), so that a profile with several mistakes
    lists all of them: one ``FILE:LINE: code: message`` line each (``str``); under ``--json`` the CLI's
    error object lists them as ``problems``.
    ``message`` and ``line`` are the first problem's."""

    code = "invalid_profile"

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None,
                 code: str | None = None, problems: list[tuple[int | None, str]] | None = None) -> None:
        super().__init__(message, path=path, line=line, code=code)
        self.problems = problems or [(line, message)]

    def __str__(self) -> str:
        lines = []
        for line, message in self.problems:
            where = "" if self.path is None else f"{self.path}:{line}: " if line is not None else f"{self.path}: "
            lines.append(f"{where}{self.code}: {message}")
        return "\n".join(lines)

    def problems_json(self) -> list[dict[str, object]]:
        return [{"line": line, "message": message} for line, message in self.problems]


class PluginMissing(UsageError):
    """A backend's plugin distribution is not installed; the message carries the install hint."""

    code = "plugin_missing"


class JobNotFound(UsageError):
    """No job with that id in the local registry."""

    code = "job_not_found"


# -- provider / backend ----------------------------------------------------------------------------


class BackendError(FtrouterError):
    """A backend (remote provider or local worker) failed (exit 3 unless a subclass says otherwise)."""

    exit_code = EXIT_PROVIDER
    code = "backend_error"


class ProviderUnavailable(BackendError):
    """5xx, timeouts, dropped connections — after the retries were spent."""

    code = "provider_unavailable"


class RateLimited(BackendError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after  # seconds the provider asked us to wait (Retry-After), if any


class QuotaError(BackendError):
    """The account is out of quota / credit, or may no longer create jobs."""

    code = "quota_exceeded"


class NotFound(BackendError):
    """The provider does not know the job, file or model."""

    code = "not_found"


class Conflict(BackendError):
    """409: the request conflicts with the resource's current state (already cancelled, already
    exists). Not retried: sending it again cannot change the answer."""

    code = "conflict"


class BadResponse(BackendError):
    """The provider answered, but not with what its API promises (e.g. a created job without an id)."""

    code = "bad_response"


class SubmitUnconfirmed(BackendError):
    """A create call's outcome is unknown (its answer was lost) and looking the job up by its local id
    failed too. The create is not sent again; the job is recorded as ``unknown`` and the next command
    that touches it looks it up again. ``sent`` is what the create carried (no secrets)."""

    code = "submit_unconfirmed"

    def __init__(self, message: str, *, sent: dict[str, object] | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.sent = dict(sent or {})


class InvalidRequest(BackendError):
    """The provider rejected the request as invalid (exit 1: the input must change)."""

    exit_code = EXIT_INVALID
    code = "invalid_request"


class AuthError(BackendError):
    """Missing, invalid or insufficient credentials (exit 4)."""

    exit_code = EXIT_AUTH
    code = "auth_error"


# -- jobs ------------------------------------------------------------------------------------------


class RegistryError(UsageError):
    """The local job registry cannot be opened or was written by a newer ftrouter (exit 2)."""

    code = "registry_error"


class JobFailed(BackendError):
    """A watched job ended in ``failed`` or ``cancelled`` (``status --watch`` / ``submit --wait``)."""

    code = "job_failed"


class NotSupported(UsageError):
    """The backend cannot do what was asked (pause, resume, a method or adapter it lacks)."""

    code = "not_supported"
