"""Fixtures for the Vertex backend tests: fake credentials, cassettes from cassettes/vertex, an
injected sleep, and converted Gemini files without going through the data engine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

# google-auth reads this once, at import: never probe a metadata server (also set per test by the root conftest).
os.environ.setdefault("NO_GCE_CHECK", "true")

from ftrouter_vertex import VertexBackend

from ftrouter.http import RetryPolicy

from .vertex_cassette_tools import flow_job, vertex_json_body

REPO = Path(__file__).resolve().parents[3]
CASSETTES = REPO / "cassettes" / "vertex"
TEST_TOKEN = "ya29.fake.token.for.tests"  # fake; dotted so credential scanners do not flag it

@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {
        "match_on": ["method", "scheme", "host", "port", "path", "query", "vertex_json_body"],
        "filter_headers": ["authorization", "x-goog-user-project", "x-goog-api-client", "user-agent"],
        "decode_compressed_response": True,
    }


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    vcr.register_matcher("vertex_json_body", vertex_json_body)


class RecordingSleep:
    """Stands in for time.sleep: remembers the waits, never waits."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def fake_credentials() -> Any:
    from google.oauth2.credentials import Credentials

    return Credentials(token=TEST_TOKEN)


@pytest.fixture
def no_google_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No service-account file, no gcloud ADC file, no metadata server."""
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud-empty"))
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    from google.auth.compute_engine import _metadata

    monkeypatch.setattr(_metadata, "_NO_GCE_CHECK", True)


@pytest.fixture
def make_backend(fake_credentials: Any, sleeps: RecordingSleep, tmp_path: Path) -> Any:
    def build(**kwargs: Any) -> VertexBackend:
        kwargs.setdefault("credentials", fake_credentials)
        kwargs.setdefault("retry", RetryPolicy(sleep=sleeps))
        kwargs.setdefault("env", {})
        kwargs.setdefault("config_file", tmp_path / "no-vertex.yaml")
        return VertexBackend(**kwargs)

    return build


@pytest.fixture
def backend(make_backend: Any) -> VertexBackend:
    return make_backend()  # type: ignore[no-any-return]


@pytest.fixture
def make_prepared() -> Any:
    return flow_job
