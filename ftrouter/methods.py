"""Which training methods a backend accepts (its profile says), and what data each method trains on.

The one place that ``data validate --backend X [--method M]`` and ``submit --backend X --method M``
(each backend's ``prepare``) consult, so that they cannot disagree about what a backend takes. A
catalog model can narrow its backend's methods further (``ModelEntry.methods``: not every OpenAI model
takes DPO). Every readable format is converted for the backend, so formats are not restricted; what
must match is the kind of the examples: supervised conversations for ``sft``, preference pairs for
``dpo``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

Method = Literal["sft", "dpo"]  # as ftrouter.jobs.models.Method (not imported: the data engine stays light)


def backend_methods(backend: str) -> tuple[Method, ...] | None:
    """The methods ``backend``'s profile lists; None when no installed plugin has a profile for it."""
    from ftrouter.errors import PluginMissing, UnknownName
    from ftrouter.profiles import profile_for

    try:
        return profile_for(backend).methods
    except (UnknownName, PluginMissing):
        return None

# the Example.kind each method trains on, and how to say it
METHOD_DATA: dict[str, str] = {"sft": "sft", "dpo": "dpo"}
DATA_WORDS: dict[str, str] = {"sft": "conversations (supervised examples)",
                              "dpo": "preference pairs (prompt, chosen, rejected)"}


def method_refusal(backend: str, method: str, *, model: str | None = None,
                   model_methods: Sequence[str] | None = None) -> str | None:
    """Why ``backend`` (with ``model``, whose catalog row lists ``model_methods``) cannot train with
    ``method``, or None when it can. A backend without a profile is not judged here."""
    accepted = backend_methods(backend)
    if accepted is not None and method not in accepted:
        return f"the {backend} backend trains with --method {' or '.join(accepted)} only, not {method!r}"
    if model_methods is not None and method not in model_methods:
        return f"{model} cannot be trained with --method {method} (it supports: {', '.join(model_methods)})"
    return None


def data_refusal(method: str, kinds: Mapping[str, int]) -> str | None:
    """Why data with these example ``kinds`` (``{"sft": n, "dpo": m}``) cannot be trained with ``method``."""
    wanted = METHOD_DATA.get(method, method)
    other = {kind: n for kind, n in kinds.items() if kind != wanted and n}
    if not other:
        return None
    found = ", ".join(f"{n} example(s) are {DATA_WORDS.get(kind, kind)}" for kind, n in sorted(other.items()))
    return f"--method {method} trains on {DATA_WORDS.get(wanted, wanted)}, but {found}"


def method_for_data(kinds: Mapping[str, int]) -> str:
    """The method a file's examples imply when none is given: dpo for preference data, else sft."""
    return "dpo" if kinds.get("dpo") and not kinds.get("sft") else "sft"
