"""Training an encoder with a head on labelled data: sequence classification (single- or multi-label,
one text or a text pair) and token classification (BIO tags), with LoRA (PEFT ``SEQ_CLS`` /
``TOKEN_CLS``) or full fine-tuning, through the transformers ``Trainer``.

Heavy (torch, transformers, peft, scikit-learn, seqeval): imported by the worker process only. Reports
through the same status/events files, cancel flag and checkpoints as SFT (``ProgressCallback``).

- Label maps: ``id2label`` / ``label2id`` come from ``data/labels.json`` (written by prepare) and are
  saved in the output model's ``config.json``.
- Class weights (``class_weights``, decided by prepare): inverse class frequency, scikit-learn's
  "balanced" formula, in the cross-entropy; for multi-label, ``pos_weight`` = negatives / positives of
  each label in the binary cross-entropy.
- Metrics (validation file): ``accuracy`` and ``macro_f1`` (classification, pairs); ``micro_f1``,
  ``macro_f1`` and ``exact_match`` (multi-label, threshold 0.5); entity-level ``f1``, ``precision``,
  ``recall`` (seqeval, BIO) and token ``accuracy`` (token classification). The Trainer logs them as
  ``eval_*`` during training; the final values go into ``status --json`` ``metrics`` under their own
  names.
- Output: with LoRA the adapter is merged into the encoder, so ``output/`` is a plain model folder that
  ``AutoModelFor...Classification.from_pretrained`` loads (labels included); the adapter alone is kept
  in ``output/adapter/``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ftrouter_local.config import TrainConfig
from ftrouter_local.jobfiles import JobFiles, write_atomic
from ftrouter_local.progress import ProgressCallback
from ftrouter_local.reporting import StatusWriter, StopFlag
from ftrouter_local.training import Precision, peak_memory_fn, resolve_precision

IGNORE = -100  # the label of special tokens and non-first sub-words: no loss, not scored


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class LabelSpace:
    """The job's labels (``data/labels.json``) and how examples become model inputs."""

    def __init__(self, files: JobFiles, task: str) -> None:
        raw = json.loads((files.data_dir / "labels.json").read_text(encoding="utf-8"))
        self.task = task
        self.names: list[str] = raw["labels"]
        self.train_counts: dict[str, int] = raw["train_counts"]
        self.weighted: bool = raw["class_weights"]
        self.id_of = {name: i for i, name in enumerate(self.names)}

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.names))

    def encode(self, tokenizer: Any, row: dict[str, Any], max_length: int) -> dict[str, Any]:
        texts, labels = row["texts"], row["labels"]
        if self.task == "token-classification":
            enc = tokenizer(texts, is_split_into_words=True, truncation=True, max_length=max_length)
            enc["labels"] = self._align(enc.word_ids(), labels)
            return dict(enc)
        enc = tokenizer(*texts, truncation=True, max_length=max_length)
        if self.task == "multi-label":
            hot = [0.0] * len(self.names)
            for label in labels:
                hot[self.id_of[label]] = 1.0
            enc["labels"] = hot
        else:
            enc["labels"] = self.id_of[labels[0]]
        return dict(enc)

    def _align(self, word_ids: list[int | None], tags: list[str]) -> list[int]:
        """One label per sub-word token: the word's tag on its first piece, IGNORE elsewhere."""
        out, previous = [], None
        for word in word_ids:
            out.append(IGNORE if word is None or word == previous else self.id_of[tags[word]])
            previous = word
        return out

    def class_weights(self, train_rows: list[dict[str, Any]]) -> Any:
        """The loss weights (a tensor) or None. Multi-label: per-label pos_weight."""
        if not self.weighted:
            return None
        import numpy as np
        import torch

        if self.task == "multi-label":
            positives = np.array([self.train_counts.get(n, 0) for n in self.names], dtype=float)
            negatives = len(train_rows) - positives
            return torch.tensor(negatives / np.maximum(positives, 1.0), dtype=torch.float32)
        from sklearn.utils.class_weight import compute_class_weight

        seen = [n for n in self.names if self.train_counts.get(n, 0) > 0]
        y = [label for row in train_rows for label in row["labels"]]
        balanced = dict(zip(seen, compute_class_weight("balanced", classes=np.array(seen), y=np.array(y)),
                            strict=True))
        return torch.tensor([balanced.get(n, 1.0) for n in self.names], dtype=torch.float32)


def loss_function(task: str, weights: Any) -> Callable[..., Any] | None:
    """The Trainer's ``compute_loss_func`` for weighted classes (None: the model's own loss)."""
    if weights is None:
        return None
    import torch

    def loss(outputs: Any, labels: Any, num_items_in_batch: Any = None) -> Any:
        logits = outputs["logits"]
        w = weights.to(logits.device)
        if task == "multi-label":
            return torch.nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype), pos_weight=w)
        return torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1), weight=w,
                                                 ignore_index=IGNORE)

    return loss


def metrics_function(space: LabelSpace) -> Callable[[Any], dict[str, float]]:
    """``compute_metrics`` for the task: the definitions ``ftrouter eval`` uses too (``encoder_metrics``)."""
    import numpy as np

    from ftrouter_local.encoder_metrics import classification_scores, entity_scores, multi_label_scores

    def classification(pred: Any) -> dict[str, float]:
        return classification_scores(pred.label_ids, np.argmax(pred.predictions, axis=-1))

    def multi_label(pred: Any) -> dict[str, float]:
        return multi_label_scores(pred.label_ids.astype(int), (pred.predictions > 0).astype(int))  # sigmoid > 0.5

    def entities(pred: Any) -> dict[str, float]:
        predicted = np.argmax(pred.predictions, axis=-1)
        truth, guess = [], []
        for gold_row, pred_row in zip(pred.label_ids, predicted, strict=True):
            kept = [(g, p) for g, p in zip(gold_row, pred_row, strict=True) if g != IGNORE]
            truth.append([space.names[g] for g, _ in kept])
            guess.append([space.names[p] for _, p in kept])
        return entity_scores(truth, guess)

    return {"multi-label": multi_label, "token-classification": entities}.get(space.task, classification)


def build_model(config: TrainConfig, space: LabelSpace, precision: Precision) -> Any:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

    auto = AutoModelForTokenClassification if space.task == "token-classification" \
        else AutoModelForSequenceClassification
    kwargs: dict[str, Any] = {"num_labels": len(space.names), "id2label": space.id2label, "label2id": space.id_of,
                              "dtype": getattr(torch, precision.dtype), "trust_remote_code": config.trust_remote_code}
    if space.task == "multi-label":
        kwargs["problem_type"] = "multi_label_classification"
    if config.revision:
        kwargs["revision"] = config.revision
    model = auto.from_pretrained(config.model, **kwargs)
    if config.adapter == "full":
        return model
    from peft import LoraConfig, get_peft_model

    task_type = "TOKEN_CLS" if space.task == "token-classification" else "SEQ_CLS"
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=config.lora_target_modules, bias="none", task_type=task_type,
                      exclude_modules=["classifier", "score"])  # the new head is trained whole (modules_to_save)
    return get_peft_model(model, lora)


def training_arguments(config: TrainConfig, files: JobFiles, precision: Precision, *, has_eval: bool) -> Any:
    from transformers import TrainingArguments

    from ftrouter_local.training import schedule_arguments

    return TrainingArguments(**schedule_arguments(config, files, precision, has_eval=has_eval),
                             include_num_input_tokens_seen="non_padding", remove_unused_columns=False)


def _dataset(rows: list[dict[str, Any]], space: LabelSpace, tokenizer: Any, max_length: int) -> Any:
    from datasets import Dataset

    return Dataset.from_list([space.encode(tokenizer, row, max_length) for row in rows])


def _collator(space: LabelSpace, tokenizer: Any) -> Any:
    from transformers import DataCollatorForTokenClassification, DataCollatorWithPadding

    if space.task == "token-classification":
        return DataCollatorForTokenClassification(tokenizer, label_pad_token_id=IGNORE)
    return DataCollatorWithPadding(tokenizer)


def train_classifier(config: TrainConfig, files: JobFiles, stop: StopFlag, writer: StatusWriter,
                     resume_from: Path | None) -> None:
    """Run (or continue) the job's training and leave it succeeded or cancelled."""
    from transformers import AutoTokenizer, Trainer

    from ftrouter_local.training import run_trainer

    precision = resolve_precision(config)
    space = LabelSpace(files, config.task)
    writer.event(f"loading {config.model} for {config.task} ({len(space.names)} labels): {precision.describe()}",
                 data={"dtype": precision.dtype, "device": precision.device, "labels": len(space.names),
                       "class_weights": space.weighted})
    tokenizer = AutoTokenizer.from_pretrained(config.model, revision=config.revision,
                                              trust_remote_code=config.trust_remote_code)
    native = getattr(tokenizer, "model_max_length", None)
    max_length = min(config.max_length, native) if isinstance(native, int) and native > 0 else config.max_length
    train_rows = _read_jsonl(files.train_data)
    val_rows = _read_jsonl(files.val_data) if files.val_data.is_file() else None
    from transformers import set_seed

    set_seed(config.seed)  # the new head's initial weights, not only the data order, follow the seed
    model = build_model(config, space, precision)
    callback = ProgressCallback(writer, stop, peak_memory_gb=peak_memory_fn(precision))
    trainer = Trainer(model=model, args=training_arguments(config, files, precision, has_eval=val_rows is not None),
                      train_dataset=_dataset(train_rows, space, tokenizer, max_length),
                      eval_dataset=_dataset(val_rows, space, tokenizer, max_length) if val_rows else None,
                      processing_class=tokenizer, data_collator=_collator(space, tokenizer),
                      compute_metrics=metrics_function(space),
                      compute_loss_func=loss_function(space.task, space.class_weights(train_rows)),
                      callbacks=[callback])
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    writer.event(f"{len(train_rows)} training examples, {trainable:,} of {total:,} parameters trainable",
                 data={"records": len(train_rows), "trainable_parameters": trainable, "parameters": total})
    runtime = run_trainer(trainer, callback, precision, config, files, stop, writer, resume_from)
    if runtime is None:  # cancelled
        return
    final = _final_metrics(trainer, writer) if val_rows else {}
    writer.update(state="saving", force=True)
    _save(trainer, tokenizer, config, files)
    write_atomic(files.output / "summary.json", json.dumps(
        {"base_model": config.model, "task": config.task, "adapter": config.adapter, "labels": space.names,
         "class_weights": space.weighted, "metrics": final, **runtime, "config": config.model_dump(mode="json")},
        indent=1))
    writer.set_state("succeeded", f"succeeded: {config.task} model in {files.output}",
                     adapter_path=str(files.output), runtime=runtime)


def _final_metrics(trainer: Any, writer: StatusWriter) -> dict[str, float]:
    """Score the validation file once more with the final weights; stored under the metric's own name."""
    scores = trainer.evaluate()
    final = {k.removeprefix("eval_"): round(float(v), 4) for k, v in scores.items()
             if k.startswith("eval_") and k.removeprefix("eval_") not in ("runtime", "samples_per_second",
                                                                          "steps_per_second")}
    writer.update(metrics={**writer.status.metrics, **final}, force=True)
    shown = ", ".join(f"{k} {v:.4g}" for k, v in final.items())
    writer.event(f"validation: {shown}", type="metrics", data={"step": trainer.state.global_step, **final})
    return final


def _save(trainer: Any, tokenizer: Any, config: TrainConfig, files: JobFiles) -> None:
    """``output/``: a loadable model (LoRA merged in), its tokenizer; the adapter alone in output/adapter."""
    model = trainer.model
    if config.adapter != "full":
        model.save_pretrained(str(files.output / "adapter"))
        model = model.merge_and_unload()
    model.save_pretrained(str(files.output))
    tokenizer.save_pretrained(str(files.output))
