"""A replacement base model for an OpenAI fine-tune when ``migrate`` is given no ``--model``.

Local: the open instruct model from the catalog closest in size to the OpenAI base's class, preferring
permissive licences, that fits the stated GPU (or, without one, some catalog GPU) with a LoRA adapter
per the cost engine's memory model. OpenAI does not publish its models' sizes: the size classes below
are a working assumption, said as such in the reason. Vertex: the catalog's default tunable Gemini.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ftrouter.catalog import Catalog, GpuEntry, OpenModelEntry, base_model_name, default_catalog
from ftrouter.errors import UsageError

# Target sizes in billions of parameters by OpenAI family: an assumption (OpenAI publishes no sizes),
# chosen so that a LoRA on one 24-80 GB GPU is the usual outcome for the mini models.
SIZE_CLASS_B = {"nano": 1.5, "mini": 7.5, "gpt-3.5": 7.5, "gpt-4o": 32.0, "gpt-4.1": 32.0}
DEFAULT_SIZE_B = 7.5
PERMISSIVE = {"apache-2.0", "mit"}
SEQ_LEN = 2048


@dataclass(frozen=True)
class Suggestion:
    model: str
    why: str


def size_class(openai_model: str) -> tuple[float, str]:
    name = base_model_name(openai_model)
    for key in ("nano", "mini"):
        if key in name:
            return SIZE_CLASS_B[key], f"a '{key}' model"
    for key in ("gpt-3.5", "gpt-4o", "gpt-4.1"):
        if name.startswith(key):
            return SIZE_CLASS_B[key], f"a full-size {key} model"
    return DEFAULT_SIZE_B, "an OpenAI model of unknown size"


def _is_instruct(entry: OpenModelEntry) -> bool:
    lowered = entry.name.lower()
    return "instruct" in lowered or lowered.endswith("-it")


def _fit_note(entry: OpenModelEntry, gpu: GpuEntry | None, gpus: int, catalog: Catalog) -> str | None:
    """How the LoRA run fits (None: it does not fit the stated GPUs)."""
    from ftrouter.cost.memory import fit_on_gpu, smallest_fitting_gpu
    from ftrouter.cost.shapes import shape_from_entry

    shape = shape_from_entry(entry)
    if gpu is not None:
        fit = fit_on_gpu(shape, "lora", gpu, seq_len=SEQ_LEN, counts=[gpus], catalog=catalog)
        if fit is None:
            return None
        return f"fits {gpus} x {gpu.name} with LoRA ({fit.memory.total_gb:.1f} of {gpu.memory_gb:g} GiB per GPU)"
    fit = smallest_fitting_gpu(shape, "lora", seq_len=SEQ_LEN, counts=[1], catalog=catalog)
    if fit is None:
        return None
    return f"fits one {fit.gpu} with LoRA ({fit.memory.total_gb:.1f} GiB; no --gpu given)"


def suggest_local(openai_model: str, *, gpu: str | None = None, gpus: int = 1,
                  catalog: Catalog | None = None) -> Suggestion:
    cat = catalog or default_catalog()
    gpu_entry = cat.gpus.get(gpu) if gpu else None
    wanted, described = size_class(openai_model)
    candidates: list[tuple[tuple[int, float], OpenModelEntry, str]] = []
    for entry in cat.open_models.rows.values():
        if not _is_instruct(entry):
            continue
        note = _fit_note(entry, gpu_entry, gpus, cat)
        if note is None:
            continue
        distance = abs(math.log(entry.params_b / wanted))
        candidates.append(((0 if entry.licence in PERMISSIVE else 1, round(distance, 1)), entry, note))
    if not candidates:
        where = f"{gpus} x {gpu_entry.name}" if gpu_entry else "any catalogued GPU"
        raise UsageError(f"no open instruct model in the catalog fits {where} with LoRA; pass --model",
                         code="no_model_fits")
    # closest size first; among equally close sizes, a permissive licence
    _, entry, note = min(candidates, key=lambda c: (c[0][1], c[0][0], -c[1].params_b))
    why = (f"{entry.name}: {entry.params_b:g}B parameters, licence {entry.licence}; the catalog's open instruct "
           f"model closest to {base_model_name(openai_model)} ({described}; OpenAI publishes no sizes, ~{wanted:g}B "
           f"is assumed); {note}")
    return Suggestion(entry.name, why)


def suggest_default(backend: str, catalog: Catalog | None = None) -> Suggestion:
    """A managed backend's default model: its plugin's catalog row marked ``default_for_backend``."""
    cat = catalog or default_catalog()
    entry = next((row for row in cat.models.rows.values() if row.backend == backend and row.default_for_backend),
                 None)
    if entry is None:
        raise UsageError(f"the catalog has no default {backend} model; pass --model", code="no_model")
    return Suggestion(entry.name, f"{entry.name}: the catalog's default tunable {entry.family} model on {backend}")
