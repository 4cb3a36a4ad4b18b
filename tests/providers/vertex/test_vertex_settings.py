"""Where project, region, bucket and credentials come from: options, environment, vertex.yaml, defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from ftrouter_vertex.settings import DEFAULT_REGION, config_path, resolve_settings, split_bucket

from ftrouter.errors import EXIT_USAGE, UsageError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_options_beat_environment_beat_config_file(tmp_path: Path) -> None:
    config = write(tmp_path / "vertex.yaml", "project: file-project\nregion: europe-west4\nbucket: file-bucket\n")
    env = {"GOOGLE_CLOUD_PROJECT": "env-project", "GOOGLE_CLOUD_LOCATION": "us-east4"}
    settings = resolve_settings({"project": "opt-project"}, env=env, config_file=config)
    assert settings.project == "opt-project" and settings.origin["project"] == "option"
    assert settings.region == "us-east4" and settings.origin["region"] == "environment"
    assert settings.bucket == "file-bucket" and settings.origin["bucket"] == str(config)


def test_defaults_when_nothing_is_set(tmp_path: Path) -> None:
    settings = resolve_settings({}, env={}, config_file=tmp_path / "absent.yaml")
    assert settings.project is None and settings.bucket is None
    assert settings.region == DEFAULT_REGION == "us-central1" and settings.origin["region"] == "default"


def test_option_aliases_and_json_typed_values(tmp_path: Path) -> None:
    settings = resolve_settings({"location": "asia-northeast1", "staging_bucket": "gs://b-1/runs/x/",
                                 "credentials": "~/key.json", "adapter_size": 8, "project": 123456789012},
                                env={}, config_file=tmp_path / "absent.yaml")
    assert settings.region == "asia-northeast1"
    assert (settings.bucket, settings.prefix) == ("b-1", "runs/x/")
    assert settings.object_name("ftr-abc", "train") == "runs/x/ftrouter/ftr-abc/train.jsonl"
    assert settings.gs_uri(settings.object_name("ftr-abc", "val")) == "gs://b-1/runs/x/ftrouter/ftr-abc/val.jsonl"
    assert settings.credentials_file == "~/key.json" and settings.adapter_size == 8
    assert settings.project == "123456789012"  # a project number is a valid project


def test_unknown_option_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown option 'projet'.*known: project"):
        resolve_settings({"projet": "x"}, env={}, config_file=tmp_path / "absent.yaml")


@pytest.mark.parametrize("options,fragment", [
    ({"region": "US Central"}, "invalid Vertex AI region"),
    ({"bucket": "gs://Bad_Bucket!"}, "invalid Cloud Storage bucket"),
    ({"project": "x"}, "invalid Google Cloud project id"),
    ({"adapter_size": "big"}, "adapter_size must be a whole number"),
])
def test_bad_values_are_usage_errors(tmp_path: Path, options: dict[str, str], fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment) as caught:
        resolve_settings(options, env={}, config_file=tmp_path / "absent.yaml")
    assert caught.value.exit_code == EXIT_USAGE


def test_config_file_typo_names_the_key_and_the_allowed_ones(tmp_path: Path) -> None:
    config = write(tmp_path / "vertex.yaml", "project: p-123456\nbuckett: b\n")
    with pytest.raises(UsageError) as caught:
        resolve_settings({}, env={}, config_file=config)
    assert caught.value.path == str(config)
    assert "buckett" in str(caught.value) and "allowed keys: project, region, bucket" in str(caught.value)


def test_config_file_that_is_not_yaml_names_the_line(tmp_path: Path) -> None:
    config = write(tmp_path / "vertex.yaml", "project: ok-project\nregion: [unclosed\n")
    with pytest.raises(UsageError) as caught:
        resolve_settings({}, env={}, config_file=config)
    assert caught.value.path == str(config) and caught.value.line is not None
    assert str(caught.value).startswith(f"{config}:")


def test_config_file_that_is_a_list(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="expected a mapping"):
        resolve_settings({}, env={}, config_file=write(tmp_path / "vertex.yaml", "- a\n- b\n"))


def test_config_path_follows_ftrouter_home_and_the_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                            ftrouter_home: Path) -> None:
    assert config_path() == ftrouter_home / "vertex.yaml"
    monkeypatch.setenv("FTROUTER_VERTEX_CONFIG", str(tmp_path / "elsewhere.yaml"))
    assert config_path() == tmp_path / "elsewhere.yaml"


def test_split_bucket() -> None:
    assert split_bucket("my-bucket") == ("my-bucket", "")
    assert split_bucket("gs://my-bucket/") == ("my-bucket", "")
    assert split_bucket("gs://my-bucket/a/b") == ("my-bucket", "a/b/")
