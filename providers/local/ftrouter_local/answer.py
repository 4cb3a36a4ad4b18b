"""``ftrouter eval --model hf:PATH[+ADAPTER_DIR]``: answers from a transformers model on this machine
(a GPU when there is one, else the CPU), optionally with a PEFT adapter loaded on top (not merged:
merged weights can differ from what the adapter serves), by batched greedy generation.

Prompts go through the tokenizer's chat template; a tokenizer without one gets the turns' texts joined
by blank lines (a base model's plain continuation). The cache identity includes the size and mtime of
the weight files, so retraining an adapter into the same folder is not answered from a stale cache.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

from ftrouter.errors import BackendError, UsageError
from ftrouter.eval.answerer import Answer, Answerer, GenerationSettings, ModelSpec

BATCH_SIZE = 8
_WEIGHT_FILES = ("*.safetensors", "*.bin", "config.json", "adapter_config.json", "generation_config.json",
                 "rope_scaling.json")


def fingerprint(*folders: Path | None) -> str:
    """A short hash of the weight files' names, sizes and mtimes in ``folders``."""
    h = hashlib.sha256()
    for folder in folders:
        if folder is None or not folder.is_dir():
            continue
        for pattern in _WEIGHT_FILES:
            for path in sorted(folder.glob(pattern)):
                st = path.stat()
                h.update(f"{path.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:16]


def _folder(value: str | None, what: str) -> Path | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise UsageError(f"{what} {value!r} is not a folder", code="file_not_found")
    return path.resolve()


def locate(model: str, adapter: str | None) -> tuple[str, Path | None, str]:
    """(the model as from_pretrained takes it, the adapter folder, the cache identity) for ``hf:`` specs."""
    adapter_dir = _folder(adapter, "adapter")
    local = Path(model).expanduser()
    model_ref = str(local.resolve()) if local.is_dir() else model  # else a name from_pretrained knows
    where = f"{model_ref}+{adapter_dir}" if adapter_dir else model_ref
    return model_ref, adapter_dir, f"hf:{where}#{fingerprint(local if local.is_dir() else None, adapter_dir)}"


class LocalAnswerer:
    default_concurrency = 1  # one batch at a time: the batch is the parallelism
    price_model: str | None = None

    def __init__(self, model: str, adapter: str | None = None, *, batch_size: int = BATCH_SIZE,
                 device: str | None = None) -> None:
        self.model_ref, self.adapter_dir, self.identity = locate(model, adapter)
        self.batch_size = batch_size
        self._device = device
        self._model: Any = None
        self._tokenizer: Any = None
        # one model in memory answers one batch at a time, whatever --concurrency says: batching is the
        # parallelism here, and concurrent generate() calls would only compete for the same device
        self._lock = threading.Lock()

    def _load(self) -> None:
        import warnings

        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        # the eval prints its own report: transformers' "Loading weights" bars and deprecation notices
        # (about its own internals, not the user's model) would only bury it
        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")

        device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        from ftrouter_local.context import saved_rope

        # an adapter trained with RoPE scaling serves with it: its run saved the base's scaled rope_parameters
        rope, _ = saved_rope(self.adapter_dir)
        try:
            tokenizer = AutoTokenizer.from_pretrained(self.model_ref)
            model: Any = AutoModelForCausalLM.from_pretrained(self.model_ref, dtype=dtype,
                                                              **({"rope_parameters": rope} if rope else {}))
            if self.adapter_dir is not None:
                from peft import PeftModel

                model = PeftModel.from_pretrained(model, str(self.adapter_dir))
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot load {self.identity.split('#')[0]}: {exc}", code="model_not_loadable") from None
        tokenizer.padding_side = "left"  # generation continues at the right end of every row
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        model.to(device)
        self._model, self._tokenizer, self._device = model.eval(), tokenizer, device

    def _text(self, messages: list[dict[str, str]]) -> str:
        if getattr(self._tokenizer, "chat_template", None):
            return str(self._tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
        return "\n\n".join(m["content"] for m in messages) + "\n\n"

    def answer(self, prompts: list[list[dict[str, str]]], settings: GenerationSettings) -> list[Answer]:
        with self._lock:
            if self._model is None:
                self._load()
            try:
                return self._generate(prompts, settings)
            except RuntimeError as exc:  # CUDA out of memory, a shape the model refuses...
                raise BackendError(f"generation failed on {self.identity.split('#')[0]}: {exc}",
                                   code="generation_failed") from None

    def _generate(self, prompts: list[list[dict[str, str]]], settings: GenerationSettings) -> list[Answer]:
        import torch

        tok, model = self._tokenizer, self._model
        batch = tok([self._text(p) for p in prompts], return_tensors="pt", padding=True,
                    add_special_tokens=False).to(self._device)
        width = batch["input_ids"].shape[1]
        from ftrouter_local.context import context_window

        limit = context_window(model.config)  # the native window, times a RoPE scaling's factor
        new_tokens = min(settings.max_tokens, limit - width) if limit else settings.max_tokens
        if new_tokens < 1:
            raise BackendError(f"the prompt ({width} tokens) fills the model's context", code="prompt_too_long")
        sampling: dict[str, Any] = ({"do_sample": True, "temperature": settings.temperature}
                                    if settings.temperature > 0 else {"do_sample": False})
        with torch.inference_mode():
            out = model.generate(**batch, max_new_tokens=new_tokens, pad_token_id=tok.pad_token_id, **sampling)
        answers = []
        for row, mask in zip(out[:, width:], batch["attention_mask"], strict=True):
            ids = row.tolist()
            if tok.eos_token_id in ids:
                ids = ids[:ids.index(tok.eos_token_id) + 1]
            answers.append(Answer(text=tok.decode(ids, skip_special_tokens=True).strip(),
                                  input_tokens=int(mask.sum()), output_tokens=len(ids)))
        return answers


def make_answerer(spec: ModelSpec) -> Answerer:
    """transformers, or vLLM when ``spec.options["engine"]`` asks for it (``auto``: when it is usable)."""
    from ftrouter_local.vllm_answer import VllmAnswerer, pick_engine

    if pick_engine(spec.options.get("engine", "auto")) == "vllm":
        return VllmAnswerer(spec.model, spec.adapter)
    return LocalAnswerer(spec.model, spec.adapter)
