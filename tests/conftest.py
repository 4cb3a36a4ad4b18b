"""Project-wide test fixtures: no network, a private FTROUTER_HOME, and no user catalog overrides."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

_LOOPBACK = ("127.", "::1", "localhost")


class NetworkBlocked(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that tries to reach a non-loopback address (cassettes replay without sockets)."""
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else str(address)
        if isinstance(host, str) and (host.startswith(_LOOPBACK) or self.family == socket.AF_UNIX):
            return real_connect(self, address)  # type: ignore[arg-type]
        raise NetworkBlocked(f"test tried to reach the network: {address!r}")

    def guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        if isinstance(host, str) and not host.startswith(_LOOPBACK):
            raise NetworkBlocked(f"test tried to reach the network: resolving {host!r}")
        return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)


_real_getaddrinfo = socket.getaddrinfo


@pytest.fixture(autouse=True)
def ftrouter_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own empty FTROUTER_HOME and no credentials or catalog overrides."""
    home = tmp_path_factory.mktemp("ftrouter-home")
    monkeypatch.setenv("FTROUTER_HOME", str(home))
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    for var in ("FTROUTER_CATALOG", "OPENAI_API_KEY", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "OPENAI_BASE_URL",
                "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION",
                "FTROUTER_DEBUG",
                "COLUMNS", "LINES"):  # tables at the piped width whatever terminal (or test runner) ran us
        monkeypatch.delenv(var, raising=False)
    yield home


@pytest.fixture
def examples_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "configs" / "examples"
