"""Backend profiles: every built-in backend has one in its plugin, the core finds them by name, and the
Backend base class refuses pause/resume with a typed error."""

from __future__ import annotations

import sys

import pytest

from ftrouter.backends import BUILTIN_BACKENDS, Backend
from ftrouter.errors import NotSupported, UnknownName
from ftrouter.jobs.models import RemoteRef
from ftrouter.profiles import BackendProfile, installed_profiles, profile_for, profile_names


def test_every_builtin_backend_has_a_profile_in_its_plugin() -> None:
    for name, builtin in BUILTIN_BACKENDS.items():
        profile = profile_for(name)
        assert isinstance(profile, BackendProfile) and profile.name == name
        assert type(profile).__module__ == "ftrouter.profiles"
        assert sys.modules[f"{builtin.target.split(':')[0]}.profile"].PROFILE is profile
    assert profile_names()[:3] == ["openai", "vertex", "local"]  # the built-in order, plugins after


def test_the_facts_moved_out_of_the_core() -> None:
    assert profile_for("vertex").severities == {"too_long": "error", "last_not_assistant": "error"}
    assert profile_for("vertex").methods == ("sft",) and profile_for("local").managed is False
    assert "OPENAI_API_KEY" in profile_for("openai").credentials


def test_an_unknown_backend_is_named_with_the_choices() -> None:
    with pytest.raises(UnknownName, match="nope"):
        profile_for("nope")
    assert {p.name for p in installed_profiles()} >= {"openai", "vertex", "local"}


def test_pause_and_resume_are_refused_by_default() -> None:
    from ftrouter_vertex import VertexBackend

    assert "pause" not in VertexBackend.__dict__  # the base class answers
    backend = VertexBackend.__new__(VertexBackend)
    ref = RemoteRef(backend="vertex", remote_id="r", local_id="ftr-x")
    for action in (backend.pause, backend.resume):
        with pytest.raises(NotSupported, match="vertex backend cannot"):
            action(ref)
    assert Backend.pause is VertexBackend.pause
