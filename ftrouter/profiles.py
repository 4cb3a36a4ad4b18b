"""Backend profiles: the facts about a backend that the core asks for, kept in the backend's plugin.

A plugin package brings its job adapter (``ftrouter.backends``) and, in a light module next to it, a
``BackendProfile`` named ``PROFILE`` in ``<package>.profile``: which methods it trains with, which data
problems it treats as errors, how its tokens are counted, which credentials it needs, and its catalog
rows (model prices and limits, each with source and as-of date). The core keeps the logic (validation,
estimates, advice) and asks ``profile_for(name)``; no core module names a backend.

Profiles load through the same entry points as backends (the package of ``ftrouter.backends``' target)
without importing the adapter's SDK, and a plugin's catalog file is found without importing anything.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from ftrouter.errors import PluginMissing, UnknownName

Method = Literal["sft", "dpo"]  # as ftrouter.jobs.models.Method (not imported: the data engine stays light)
Severity = Literal["error", "warning"]
# how a backend's training tokens are counted: "tiktoken" exact (the model's encoding), "tiktoken-proxy"
# (o200k_base standing in for an open model's tokenizer), "gemini" (the Gemini estimate, with its band)
TokenCounter = Literal["tiktoken", "tiktoken-proxy", "gemini"]
CATALOG_FILE = "catalog.yaml"  # a plugin's catalog rows, in the override format (``models: [...]``)


@dataclass(frozen=True)
class MigrationTarget:
    """How ``ftrouter migrate`` carries an OpenAI fine-tune's settings onto this backend: the facts; the
    mapping's logic and reasons are ``ftrouter.migrate.mapping``'s."""

    # OpenAI's batch_size (examples per optimizer step) becomes: "examples" the same number; "per-device" a
    # per-device batch of at most ``per_device_batch`` plus gradient accumulation; None nothing (the
    # provider chooses its batch)
    batch: Literal["examples", "per-device"] | None = "examples"
    per_device_batch: int = 4
    # absolute learning rates by method, then adapter, and where they come from (by method); empty: the
    # backend's own default rate is kept (OpenAI's multiplier scales a base rate it never published)
    learning_rates: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    learning_rate_sources: Mapping[str, str] = field(default_factory=dict)
    # why the default rate is kept, where the general reason says too little; it continues the sentence
    # "OpenAI's learning_rate_multiplier X ..."
    learning_rate_note: str | None = None
    batch_note: str | None = None  # why no batch is set (with ``batch`` None)
    takes_seed: bool = False  # a seed given to the job is carried over
    suggests_model: bool = False  # with no --model, migrate proposes one (an open model, or the default row)


@dataclass(frozen=True)
class BackendProfile:
    """What the core needs to know about one backend. Every field has a neutral default, so a third-party
    profile states only what differs."""

    name: str
    methods: tuple[Method, ...] = ("sft",)
    # managed: a provider trains and prices per token from catalog rows; otherwise the local planner
    # (GPU memory, time and $/hour) estimates it
    managed: bool = True
    token_counter: TokenCounter = "tiktoken"
    severities: Mapping[str, Severity] = field(default_factory=dict)  # problems raised above the defaults
    data_check: Literal["gemini"] | None = None  # an extra per-example check of the data engine
    credentials: tuple[str, ...] = ()  # environment variables a remote call needs (named in errors and docs)
    model_family: str = "open"  # what advise's ``model_family`` preference matches ("openai", "gemini", "open")
    default_epochs: int | None = None  # the epochs a managed estimate assumes when none are given
    epochs_rule: str | None = None  # how the provider picks epochs when none are given, in words
    # a provider rule the cost engine implements for epochs left unset ("target-3": OpenAI's cookbook auto
    # rule, 3 epochs clamped so examples x epochs lies in 100..25,000)
    auto_epochs: Literal["target-3"] | None = None
    service_deadline: bool = False  # its fine-tuned models have a published shutdown (``jobs`` shows days left)
    # where advice lists this backend among equal scores, lower first (the built-in ones: owned weights first)
    tie_rank: int = 100
    labelled_tasks: bool = False  # trains encoder models on labelled data (classification, embeddings)
    migration: MigrationTarget = field(default_factory=MigrationTarget)  # as a ``migrate --to`` target
    # its (imported) jobs can be rebuilt elsewhere by ``migrate``, which reads OpenAI-style hyperparameters
    migration_source: bool = False
    install_hint: str = ""


@dataclass(frozen=True)
class _Target:
    package: str
    install_hint: str


def _package(target: str) -> str:
    """``ftrouter_openai.backend:OpenAIBackend`` -> ``ftrouter_openai`` (the profile lives beside it)."""
    return target.split(":")[0].split(".")[0]


def _targets() -> dict[str, _Target]:
    from ftrouter.backends import BACKENDS, BUILTIN_BACKENDS

    found = {name: _Target(_package(b.target), b.install_hint) for name, b in BUILTIN_BACKENDS.items()}
    for name, value in BACKENDS.registered().items():
        builtin = found.get(name)
        if builtin is not None and builtin.package == _package(value):
            continue  # a built-in plugin also registers itself: keep its install hint
        found[name] = _Target(_package(value), f"install the package that provides {value}")
    return found


def profile_names() -> list[str]:
    """Every backend that has (or should have) a profile: the built-in ones in their order, then the
    registered ones, sorted."""
    from ftrouter.backends import BUILTIN_BACKENDS

    return [*BUILTIN_BACKENDS, *sorted(set(_targets()) - set(BUILTIN_BACKENDS))]


@cache
def profile_for(name: str) -> BackendProfile:
    """The profile of backend ``name``. Raises ``UnknownName`` for a name no plugin registers and
    ``PluginMissing`` when its package is not installed or has no profile."""
    target = _targets().get(name)
    if target is None:
        raise UnknownName("backend", name, profile_names())
    from ftrouter.plugins import import_for

    module = import_for(f"{target.package}.profile", f"the {name!r} backend", target.install_hint)
    profile = getattr(module, "PROFILE", None)
    if not isinstance(profile, BackendProfile) or profile.name != name:
        raise PluginMissing(f"{target.package}.profile has no PROFILE for the {name!r} backend")
    return profile


def plans_gpus(name: str) -> bool:
    """Whether ``name`` is estimated by the local GPU planner (its profile is not ``managed``)."""
    try:
        return not profile_for(name).managed
    except (UnknownName, PluginMissing):
        return False


def has_service_deadline(name: str) -> bool:
    """Whether ``name``'s fine-tuned models have a published shutdown (False for an unknown backend)."""
    try:
        return profile_for(name).service_deadline
    except (UnknownName, PluginMissing):
        return False


def self_hosted_backend() -> str:
    """The installed backend the local GPU planner estimates (the first whose profile is not ``managed``)."""
    found = next((p.name for p in installed_profiles() if not p.managed), None)
    if found is None:
        raise PluginMissing("no installed backend trains on your own GPUs: install one "
                            "(ftrouter's is providers/local)")
    return found


def installed_profiles() -> list[BackendProfile]:
    """The profiles of the backends whose package is installed (a missing plugin is skipped)."""
    out = []
    for name in profile_names():
        try:
            out.append(profile_for(name))
        except PluginMissing:
            continue
    return out


def plugin_catalog_files() -> tuple[Path, ...]:
    """Each installed plugin's ``catalog.yaml``, found without importing the plugin (the catalog loads
    on every command, and must not pay for an adapter's imports). In ``profile_names`` order: the
    built-in plugins first, so their rows keep a stable order."""
    files = []
    for target in dict.fromkeys(t.package for t in _targets().values()):
        try:
            spec = importlib.util.find_spec(target)
        except (ImportError, ValueError):
            continue
        for folder in (spec.submodule_search_locations or []) if spec else []:
            path = Path(folder) / CATALOG_FILE
            if path.is_file():
                files.append(path)
    return tuple(files)
