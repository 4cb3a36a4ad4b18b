"""Credentials in Google's usual order, and the errors when there are none (no network, ever)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ftrouter_vertex import VertexBackend
from ftrouter_vertex.auth import load_credentials
from ftrouter_vertex.errors import MissingBucket, MissingProject

from ftrouter.errors import EXIT_AUTH, EXIT_USAGE, AuthError
from ftrouter.jobs.models import RemoteRef


def service_account_file(folder: Path, project: str = "sa-project-1") -> Path:
    """A syntactically real service-account key (a fresh RSA key); google-auth loads it offline."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    info = {"type": "service_account", "project_id": project, "private_key_id": "0123456789abcdef",
            "private_key": pem, "client_email": f"ftrouter-runner@{project}.iam.gserviceaccount.com",
            "client_id": "123456789", "token_uri": "https://oauth2.googleapis.com/token"}
    path = folder / "sa.json"
    path.write_text(json.dumps(info))
    return path


def test_no_credentials_anywhere_is_an_auth_error_saying_how(no_google_credentials: None) -> None:
    with pytest.raises(AuthError) as caught:
        load_credentials()
    message = str(caught.value)
    assert caught.value.exit_code == EXIT_AUTH
    assert "GOOGLE_APPLICATION_CREDENTIALS" in message and "gcloud auth application-default login" in message


def test_submit_without_credentials_fails_before_any_upload(no_google_credentials: None, make_prepared: Any,
                                                             tmp_path: Path) -> None:
    backend = VertexBackend(env={}, config_file=tmp_path / "none.yaml")  # nothing injected
    with pytest.raises(AuthError) as caught:
        backend.submit(make_prepared("ftr-n0cr3d"))
    assert caught.value.exit_code == EXIT_AUTH  # and the network guard saw no connection attempt


def test_status_without_credentials_is_an_auth_error(no_google_credentials: None, tmp_path: Path) -> None:
    ref = RemoteRef(backend="vertex", remote_id="1", local_id="ftr-n0cr3d",
                    extra={"project": "ftrouter-test", "region": "us-central1"})
    with pytest.raises(AuthError):
        VertexBackend(env={}, config_file=tmp_path / "none.yaml").status(ref)


def test_explicit_credentials_file_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(AuthError) as caught:
        load_credentials(str(tmp_path / "missing.json"))
    assert caught.value.path == str(tmp_path / "missing.json")


def test_explicit_credentials_file_that_is_not_a_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "nonsense"}')
    with pytest.raises(AuthError, match="not a usable Google credentials file"):
        load_credentials(str(bad))


def test_google_application_credentials_is_used_and_names_the_project(
        no_google_credentials: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(service_account_file(tmp_path)))
    credentials, project = load_credentials()
    assert project == "sa-project-1"
    assert credentials.service_account_email == "ftrouter-runner@sa-project-1.iam.gserviceaccount.com"


def test_an_explicit_file_wins_over_the_environment(no_google_credentials: None, monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    env_dir, opt_dir = tmp_path / "env", tmp_path / "opt"
    env_dir.mkdir()
    opt_dir.mkdir()
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(service_account_file(env_dir, "env-project-1")))
    _, project = load_credentials(str(service_account_file(opt_dir, "option-project")))
    assert project == "option-project"


def test_project_from_the_credentials_when_none_is_set(no_google_credentials: None, monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(service_account_file(tmp_path, "adc-project-9")))
    backend = VertexBackend(env={}, config_file=tmp_path / "none.yaml")
    assert backend.client(None, "us-central1").project == "adc-project-9"


def test_no_project_anywhere_is_a_usage_error(backend: VertexBackend) -> None:
    with pytest.raises(MissingProject) as caught:
        backend.client(None, "us-central1").project  # noqa: B018
    assert caught.value.exit_code == EXIT_USAGE and "GOOGLE_CLOUD_PROJECT" in str(caught.value)


def test_submit_without_a_bucket_says_how_to_set_one(backend: VertexBackend, make_prepared: Any) -> None:
    prepared = make_prepared("ftr-n0bkt0")
    prepared.spec.options.pop("bucket")
    with pytest.raises(MissingBucket, match="--option bucket=gs://BUCKET"):
        backend.submit(prepared)


def test_an_authorized_user_file_works_as_explicit_credentials(tmp_path: Path) -> None:
    path = tmp_path / "adc.json"
    path.write_text(json.dumps({"type": "authorized_user", "client_id": "id", "client_secret": "secret",
                                "refresh_token": "refresh", "quota_project_id": "quota-project"}))
    credentials, project = load_credentials(str(path))
    assert project == "quota-project" and credentials.refresh_token == "refresh"
