"""``hf:PATH[+ADAPTER_DIR]`` answered by vLLM's offline engine (``--engine vllm``, or ``auto`` when vLLM is
installed and a CUDA GPU is there): much faster than transformers' ``generate`` on a GPU, the adapter
served as a LoRA on top of the base weights (not merged, like the transformers path).

Written against vLLM's published offline API (``vllm.LLM``, ``LLM.chat``, ``SamplingParams``,
``vllm.lora.request.LoRARequest``) and tested with a fake ``vllm`` module: it has not been run on a GPU
here. vLLM is not a dependency of this package (it pins its own torch and CUDA): install it yourself.

The cache identity adds ``@vllm``: greedy answers from two engines can differ (other kernels, other
batching numerics), so an answer cached from transformers is never passed off as vLLM's, or back.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
from pathlib import Path
from typing import Any

from ftrouter.errors import BackendError, PluginMissing, UsageError
from ftrouter.eval.answerer import ENGINES, Answer, GenerationSettings

# vLLM schedules its own batches: hand it many prompts per call (the engine keeps at most 2 of them queued)
BATCH_SIZE = 256
DTYPE = "bfloat16"  # what the transformers path uses on a GPU
DEFAULT_MAX_LORA_RANK = 16  # vLLM's default; an adapter of a higher rank needs max_lora_rank raised


def vllm_installed() -> bool:
    if "vllm" in sys.modules:  # already imported (or deliberately blocked with None)
        return sys.modules["vllm"] is not None
    return importlib.util.find_spec("vllm") is not None


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def pick_engine(requested: str) -> str:
    """``transformers`` or ``vllm`` for ``--engine REQUESTED``; an explicit ``vllm`` that cannot run is exit 2."""
    if requested not in ENGINES:
        raise UsageError(f"--engine: {requested!r} is not one of {', '.join(ENGINES)}", code="bad_option")
    if requested == "transformers":
        return requested
    usable = vllm_installed() and cuda_available()
    if requested == "auto":
        return "vllm" if usable else "transformers"
    if not vllm_installed():
        raise PluginMissing("--engine vllm needs 'vllm', which is not installed: pip install vllm "
                            "(on a machine with a CUDA GPU), or use --engine transformers")
    if not usable:
        raise UsageError("--engine vllm needs a CUDA GPU, and torch sees none (torch.cuda.is_available() is "
                         "False); use --engine transformers", code="engine_unavailable")
    return requested


def _rope_options(adapter_dir: Path) -> dict[str, Any]:
    """An adapter trained with RoPE scaling (``ftrouter_local.context``): the base model's config is
    overridden with the scaled rope_parameters (vLLM's ``hf_overrides``), and the context it covers is the
    engine's max_model_len."""
    from ftrouter_local.context import saved_rope

    rope, context = saved_rope(adapter_dir)
    if rope is None:
        return {}
    return {"hf_overrides": {"rope_parameters": rope}, **({"max_model_len": context} if context else {})}


def _lora_rank(adapter_dir: Path) -> int:
    """The adapter's rank ``r`` from adapter_config.json, rounded up to a power of two vLLM accepts."""
    try:
        rank = int(json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8")).get("r", 0))
    except (OSError, ValueError, TypeError, AttributeError):
        return DEFAULT_MAX_LORA_RANK  # vLLM reports what is wrong with the adapter when it loads it
    size = DEFAULT_MAX_LORA_RANK
    while size < rank:
        size *= 2
    return size


class VllmAnswerer:
    default_concurrency = 1  # one call at a time: vLLM batches inside it
    price_model: str | None = None
    batch_size = BATCH_SIZE

    def __init__(self, model: str, adapter: str | None = None) -> None:
        from ftrouter_local.answer import locate

        self.model_ref, self.adapter_dir, identity = locate(model, adapter)
        self.identity = f"{identity}@vllm"
        self._llm: Any = None
        self._lora: Any = None
        self._lock = threading.Lock()  # LLM is not thread-safe; the engine may call from several threads

    def _load(self) -> None:
        from vllm import LLM

        options: dict[str, Any] = {"dtype": DTYPE, "enable_lora": self.adapter_dir is not None}
        if self.adapter_dir is not None:
            from vllm.lora.request import LoRARequest

            options["max_lora_rank"] = _lora_rank(self.adapter_dir)
            self._lora = LoRARequest(self.adapter_dir.name or "adapter", 1, str(self.adapter_dir))
            options.update(_rope_options(self.adapter_dir))
        try:
            self._llm = LLM(model=self.model_ref, **options)
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot load {self.identity.split('#')[0]} with vLLM: {exc}",
                             code="model_not_loadable") from None

    def answer(self, prompts: list[list[dict[str, str]]], settings: GenerationSettings) -> list[Answer]:
        with self._lock:
            if self._llm is None:
                self._load()
            try:
                return self._generate(prompts, settings)
            except (RuntimeError, ValueError) as exc:  # out of memory, a prompt longer than max_model_len...
                raise BackendError(f"generation failed on {self.identity.split('#')[0]}: {exc}",
                                   code="generation_failed") from None

    def _generate(self, prompts: list[list[dict[str, str]]], settings: GenerationSettings) -> list[Answer]:
        from vllm import SamplingParams

        # temperature 0 is vLLM's greedy decoding
        params = SamplingParams(temperature=settings.temperature, max_tokens=settings.max_tokens)
        llm = self._llm
        if getattr(llm.get_tokenizer(), "chat_template", None):
            outputs = llm.chat(prompts, params, use_tqdm=False, lora_request=self._lora)
        else:  # like the transformers path: a base model continues the turns joined by blank lines
            texts = ["\n\n".join(m["content"] for m in p) + "\n\n" for p in prompts]
            outputs = llm.generate(texts, params, use_tqdm=False, lora_request=self._lora)
        answers = []
        for out in outputs:
            best = out.outputs[0]
            answers.append(Answer(text=best.text.strip(), input_tokens=len(out.prompt_token_ids or []),
                                  output_tokens=len(best.token_ids)))
        return answers
