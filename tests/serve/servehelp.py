"""Helpers shared by the service tests (a module of its own: ``conftest`` names clash across test folders)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

TOKEN = "test-token-3f9a"


def submit(client: TestClient, data: Path, **fields: object) -> dict[str, object]:
    response = client.post("/v1/jobs", json={"backend": "fake", "model": "tiny", "data": str(data), **fields})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body
