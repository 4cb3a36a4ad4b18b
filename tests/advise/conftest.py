"""The advice tests judge the shipped rules on the built-in backends, whatever plugins are installed
(a Together plugin adds a candidate backend; tests/providers/together checks that it does)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _builtin_backends_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import ftrouter.profiles as profiles
    from ftrouter.backends import BUILTIN_BACKENDS

    builtin = [profiles.profile_for(name) for name in BUILTIN_BACKENDS]
    monkeypatch.setattr(profiles, "installed_profiles", lambda: list(builtin))
