"""Model specs (``--model``) -> answerers, found lazily in the provider plugins.

``openai:MODEL[@BASE_URL]``, ``vertex:MODEL``, ``hf:PATH[+ADAPTER_DIR]`` resolve through a table of
built-in prefixes (module path + install hint, like ``ftrouter.backends``); plugins add prefixes under the
``ftrouter.answerers`` entry-point group. A registry job id (``ftr-...``) becomes its result: a tuned model
id on the job's backend, base model + adapter folder for a local job, or the saved model folder of a
local encoder job (``submit --task``; scored by ``ftrouter.eval.encoder``).
"""

from __future__ import annotations

from pathlib import Path

from ftrouter.data.labelled import TASK_FORMATS
from ftrouter.errors import UsageError
from ftrouter.eval.answerer import Answerer, ModelSpec
from ftrouter.plugins import Builtin, PluginGroup

ENTRY_POINT_GROUP = "ftrouter.answerers"
JOB_PREFIX = "ftr-"
LOCAL_PREFIX = "hf"  # what a local job's base + adapter is evaluated with


# target: "module:function" taking a ModelSpec
BUILTIN_ANSWERERS: dict[str, Builtin] = {
    "openai": Builtin("ftrouter_openai.answer:make_answerer", "pip install -e providers/openai"),
    "vertex": Builtin("ftrouter_vertex.answer:make_answerer", "pip install -e providers/vertex"),
    "hf": Builtin("ftrouter_local.answer:make_answerer", "pip install -e providers/local"),
}
ANSWERERS = PluginGroup(ENTRY_POINT_GROUP, BUILTIN_ANSWERERS)


def known_prefixes() -> list[str]:
    return ANSWERERS.names()


def _split_url(rest: str) -> tuple[str, str | None]:
    """``MODEL@http://host/v1`` -> (MODEL, URL); an ``@`` not followed by a URL belongs to the model name."""
    model, sep, url = rest.rpartition("@")
    if sep and url.startswith(("http://", "https://")):
        return model, url.rstrip("/")
    return rest, None


def parse_spec(raw: str) -> ModelSpec:
    """Parse a ``--model`` value (job ids are resolved separately, by ``resolve_job``)."""
    prefix, sep, rest = raw.partition(":")
    if not sep or not rest:
        raise UsageError(f"--model {raw!r}: expected PROVIDER:MODEL (providers: {', '.join(known_prefixes())}) "
                         "or a job id ftr-...", code="bad_model_spec")
    if prefix not in known_prefixes():
        raise UsageError(f"--model {raw!r}: unknown provider {prefix!r} (known: {', '.join(known_prefixes())})",
                         code="bad_model_spec")
    if prefix == LOCAL_PREFIX:
        path, plus, adapter = rest.rpartition("+")
        return ModelSpec(raw=raw, provider=prefix, model=path if plus else rest, adapter=adapter if plus else None)
    model, url = _split_url(rest)
    if not model:
        raise UsageError(f"--model {raw!r}: no model name", code="bad_model_spec")
    return ModelSpec(raw=raw, provider=prefix, model=model, base_url=url)


def _whole_model(output: Path, adapter: str | None) -> bool:
    """Whether a local job's output folder is a whole model (a full fine-tune) rather than an adapter for
    its base. The folder says so (a recipe can choose ``full`` without the spec naming it); the spec
    decides when the folder is not here."""
    if (output / "adapter_config.json").is_file():
        return False
    return (output / "config.json").is_file() or adapter == "full"


def resolve_job(raw: str) -> ModelSpec:
    """A registry job's result as a spec: a tuned model id on its backend, or base + adapter for a local job."""
    from ftrouter.jobs.registry import Registry

    record = Registry().get(raw)
    result = record.result
    if result is None or not (result.model_id or result.endpoint or result.adapter_path):
        raise UsageError(f"--model {raw}: job {record.id} has no tuned model yet (state {record.state.value}); "
                         f"see `ftrouter status {record.id}`", code="no_result")
    task = record.spec.options.get("task")
    if result.adapter_path and task in TASK_FORMATS:  # an encoder (submit --task): its output is a whole model
        return ModelSpec(raw=raw, provider=LOCAL_PREFIX, model=result.adapter_path, job=record.id,
                         options={"task": task})
    if result.adapter_path and _whole_model(Path(result.adapter_path), record.spec.adapter):
        return ModelSpec(raw=raw, provider=LOCAL_PREFIX, model=result.adapter_path, job=record.id)
    if result.adapter_path:
        return ModelSpec(raw=raw, provider=LOCAL_PREFIX, model=record.spec.model, adapter=result.adapter_path,
                         job=record.id)
    target = result.endpoint or result.model_id or ""
    return ModelSpec(raw=raw, provider=record.backend, model=target, job=record.id)


def spec_for(raw: str) -> ModelSpec:
    return resolve_job(raw) if raw.startswith(JOB_PREFIX) else parse_spec(raw)


def make_answerer(spec: ModelSpec) -> Answerer:
    """Import the plugin behind ``spec.provider`` and build its answerer (credentials are checked here)."""
    factory = ANSWERERS.load(spec.provider, f"--model {spec.raw}:")
    if factory is None:
        raise UsageError(f"--model {spec.raw}: no answerer for provider {spec.provider!r}", code="bad_model_spec")
    answerer: Answerer = factory(spec)
    return answerer
