"""Fine-tuning an embedding model (``--task embedding``) with sentence-transformers.

Heavy (torch, sentence-transformers): imported by the worker process only. The same status/events
files, cancel flag and checkpoints as SFT (``ProgressCallback`` on a ``SentenceTransformerTrainer``,
itself a transformers ``Trainer``).

- Loss: ``MultipleNegativesRankingLoss`` for (anchor, positive) pairs (the other positives of the batch
  are the negatives); ``TripletLoss`` when every example has a ``negative`` (prepare refuses a file that
  mixes the two).
- Metrics (validation file): each anchor is a query, the validation positives (and negatives) are the
  corpus, its own positive is the one relevant document; sentence-transformers'
  ``InformationRetrievalEvaluator`` with cosine similarity gives ``recall@1``, ``recall@10`` and ``mrr``
  (MRR@10), stored under those names in ``status --json`` ``metrics``.
- A plain encoder folder (BERT-like, no sentence-transformers config) gets mean pooling. Output: a
  sentence-transformers model folder (``SentenceTransformer(path)`` loads it). Full fine-tuning only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ftrouter_local.config import TrainConfig
from ftrouter_local.jobfiles import JobFiles, write_atomic
from ftrouter_local.progress import ProgressCallback
from ftrouter_local.reporting import StatusWriter, StopFlag
from ftrouter_local.training import Precision, peak_memory_fn, resolve_precision, schedule_arguments

METRICS = {"recall@1": "cosine_recall@1", "recall@10": "cosine_recall@10", "mrr": "cosine_mrr@10"}


def _rows(path: Path) -> list[list[str]]:
    return [json.loads(line)["texts"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _dataset(rows: list[list[str]]) -> Any:
    from datasets import Dataset

    columns = {"anchor": [r[0] for r in rows], "positive": [r[1] for r in rows]}
    if rows and len(rows[0]) == 3:
        columns["negative"] = [r[2] for r in rows]
    return Dataset.from_dict(columns)


def retrieval_evaluator(rows: list[list[str]]) -> Any:
    """Anchors as queries against every validation positive/negative; the anchor's positive is relevant."""
    from sentence_transformers.evaluation import InformationRetrievalEvaluator

    corpus: dict[str, str] = {}
    queries: dict[str, str] = {}
    relevant: dict[str, set[str]] = {}
    for i, texts in enumerate(rows):
        queries[f"q{i}"] = texts[0]
        corpus[f"p{i}"] = texts[1]
        relevant[f"q{i}"] = {f"p{i}"}
        if len(texts) == 3:
            corpus[f"n{i}"] = texts[2]
    return InformationRetrievalEvaluator(queries, corpus, relevant, mrr_at_k=[10], ndcg_at_k=[10],
                                         accuracy_at_k=[1, 10], precision_recall_at_k=[1, 10], map_at_k=[10],
                                         main_score_function="cosine", score_functions=None, write_csv=False,
                                         name="val")


def _arguments(config: TrainConfig, files: JobFiles, precision: Precision, *, has_eval: bool) -> Any:
    from sentence_transformers import SentenceTransformerTrainingArguments

    return SentenceTransformerTrainingArguments(**schedule_arguments(config, files, precision, has_eval=has_eval))


def retrieval_metrics(scores: dict[str, float]) -> dict[str, float]:
    """The evaluator's (or the Trainer's ``eval_``-prefixed) scores under ftrouter's names."""
    out = {}
    for name, suffix in METRICS.items():
        value = next((v for k, v in scores.items() if k.endswith(f"val_{suffix}")), None)
        if value is not None:
            out[name] = round(float(value), 4)
    return out


def train_embedding(config: TrainConfig, files: JobFiles, stop: StopFlag, writer: StatusWriter,
                    resume_from: Path | None) -> None:
    """Run (or continue) the job's training and leave it succeeded or cancelled."""
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer import losses
    from transformers import set_seed

    from ftrouter_local.training import run_trainer

    precision = resolve_precision(config)
    train_rows = _rows(files.train_data)
    triplets = bool(train_rows) and len(train_rows[0]) == 3
    loss_name = "TripletLoss" if triplets else "MultipleNegativesRankingLoss"
    writer.event(f"loading {config.model} for embedding ({loss_name}): {precision.describe()}",
                 data={"dtype": precision.dtype, "device": precision.device, "loss": loss_name})
    set_seed(config.seed)
    model = SentenceTransformer(config.model, device=precision.device, trust_remote_code=config.trust_remote_code,
                                revision=config.revision, model_kwargs={"dtype": precision.dtype})
    model.max_seq_length = min(config.max_length, model.max_seq_length or config.max_length)
    loss = losses.TripletLoss(model) if triplets else losses.MultipleNegativesRankingLoss(model)
    val_rows = _rows(files.val_data) if files.val_data.is_file() else None
    evaluator = retrieval_evaluator(val_rows) if val_rows else None
    callback = ProgressCallback(writer, stop, peak_memory_gb=peak_memory_fn(precision))
    trainer = SentenceTransformerTrainer(model=model, args=_arguments(config, files, precision,
                                                                      has_eval=evaluator is not None),
                                         train_dataset=_dataset(train_rows), loss=loss, evaluator=evaluator,
                                         callbacks=[callback])
    total = sum(p.numel() for p in model.parameters())
    writer.event(f"{len(train_rows)} training examples, {total:,} parameters trainable",
                 data={"records": len(train_rows), "trainable_parameters": total, "parameters": total})
    runtime = run_trainer(trainer, callback, precision, config, files, stop, writer, resume_from)
    if runtime is None:  # cancelled
        return
    final = retrieval_metrics(evaluator(model)) if evaluator is not None else {}
    if final:
        writer.update(metrics={**writer.status.metrics, **final}, force=True)
        writer.event("validation: " + ", ".join(f"{k} {v:.4g}" for k, v in final.items()), type="metrics",
                     data={"step": trainer.state.global_step, **final})
    writer.update(state="saving", force=True)
    model.save(str(files.output))
    write_atomic(files.output / "summary.json", json.dumps(
        {"base_model": config.model, "task": config.task, "adapter": config.adapter, "loss": loss_name,
         "metrics": final, **runtime, "config": config.model_dump(mode="json")}, indent=1))
    writer.set_state("succeeded", f"succeeded: embedding model in {files.output}", adapter_path=str(files.output),
                     runtime=runtime)
