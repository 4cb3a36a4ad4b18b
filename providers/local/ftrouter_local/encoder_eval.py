"""``ftrouter eval`` on encoder models (a local job trained with ``--task``, or ``hf:FOLDER``): load the
saved model with its label map, predict on the labelled test file, score with ``encoder_metrics`` (the
definitions training reports in ``status --json`` ``metrics``).

- classifiers (``AutoModelForSequenceClassification``): the label of the largest logit; multi-label,
  every label whose logit is > 0 (sigmoid > 0.5, as in training); a pair is encoded together;
- taggers (``AutoModelForTokenClassification``): a word's tag is the one predicted on its first
  sub-word, as in training; words cut off by the maximum length are tagged ``O`` (scored as misses,
  not dropped);
- embedders (``SentenceTransformer``; a bare encoder gets mean pooling, so a base model is scored
  too): each anchor is a query against every positive (and negative) of the file, cosine similarity,
  ties broken like sentence-transformers' ``InformationRetrievalEvaluator`` (by corpus id).

Inputs are cut at the length the job trained with (``summary.json``), else the tokenizer's
``model_max_length`` (at most 512). Heavy (torch, transformers, sentence-transformers): imported when a
model is loaded.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ftrouter.data.labelled import LabelledExample
from ftrouter.errors import UsageError
from ftrouter.eval.answerer import ModelSpec
from ftrouter.eval.encoder import EncoderScores
from ftrouter_local.answer import fingerprint
from ftrouter_local.encoder_metrics import TASK_METRICS, score_entities, score_labels, score_multi_label, score_ranks

BATCH_SIZE = 32
DEFAULT_MAX_LENGTH = 512  # when neither the job nor the tokenizer says less


@dataclass
class Predictions:
    """What a model predicted, per example: ``labels`` (one label, the label set, or one tag per word)
    or, for an embedder, ``ranks`` (the 1-based rank of the example's own positive); ``answers`` is
    the same as text for the reports."""

    answers: list[str]
    labels: list[tuple[str, ...]] | None = None
    ranks: list[int] | None = None


class Predictor(Protocol):
    identity: str
    label_names: list[str]  # the model's labels in id order (empty for an embedder)

    def load(self) -> None:
        """Bring the model into memory (once; ``predict`` calls it too)."""
        ...

    def predict(self, examples: Sequence[LabelledExample]) -> Predictions:
        ...


def score_predictions(task: str, examples: Sequence[LabelledExample], predictions: Predictions,
                      label_names: Sequence[str]) -> dict[str, Any]:
    """Every metric of ``task`` as per-example statistics (``Scored``), from the predictions."""
    if task == "embedding":
        assert predictions.ranks is not None
        return score_ranks(predictions.ranks)
    assert predictions.labels is not None
    truth = [ex.labels for ex in examples]
    if task == "token-classification":
        return score_entities(truth, predictions.labels)
    if task == "multi-label":
        return score_multi_label(truth, predictions.labels, label_names)
    return score_labels([t[0] for t in truth], [p[0] for p in predictions.labels], label_names)


class LocalEncoderScorer:
    """What ``ftrouter.eval.encoder`` runs for one model: predict, time it, score."""

    def __init__(self, task: str, predictor: Predictor) -> None:
        self.task = task
        self.metrics = TASK_METRICS[task]
        self.predictor = predictor
        self.identity = predictor.identity

    def score(self, examples: list[LabelledExample]) -> EncoderScores:
        self.predictor.load()  # its load time is not the model's latency
        started = time.perf_counter()
        predictions = self.predictor.predict(examples)
        elapsed_ms = (time.perf_counter() - started) * 1000
        scored = score_predictions(self.task, examples, predictions, self.predictor.label_names)
        return EncoderScores(scored, predictions.answers, elapsed_ms / max(len(examples), 1))


def _folder(spec: ModelSpec) -> Path:
    if spec.adapter is not None:
        raise UsageError(f"--model {spec.raw}: an encoder is scored from its saved folder (the job's output), "
                         "not base+adapter", code="bad_model_spec")
    folder = Path(spec.model).expanduser()
    if not folder.is_dir():
        raise UsageError(f"--model {spec.raw}: {spec.model!r} is not a model folder", code="file_not_found")
    return folder.resolve()


def _max_length(folder: Path, tokenizer_limit: int | None) -> int:
    """The length the job trained with (its summary), capped at the tokenizer's own limit."""
    trained = None
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):  # not a job's output: no summary
        trained = json.loads((folder / "summary.json").read_text(encoding="utf-8"))["config"]["max_length"]
    limits = [v for v in (trained, tokenizer_limit) if isinstance(v, int) and 0 < v < 1_000_000]
    return min(limits) if limits else DEFAULT_MAX_LENGTH


def _one_line(exc: Exception) -> str:
    """A loader's message (transformers writes several lines) as one line of a bounded length."""
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _quiet() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


class HeadPredictor:
    """A classifier or tagger with its labels (``config.json`` ``id2label``), loaded at the first
    prediction (``prepare`` stays quick: a service answers before any model is in memory)."""

    def __init__(self, folder: Path, task: str) -> None:
        self.folder, self.task = folder, task
        self.identity = f"hf:{folder}#{fingerprint(folder)}"
        self.label_names: list[str] = []
        self._model: Any = None

    def load(self) -> None:
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer

        _quiet()
        auto = AutoModelForTokenClassification if self.task == "token-classification" \
            else AutoModelForSequenceClassification
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.folder))
            model = auto.from_pretrained(str(self.folder))
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot load {self.folder}: {_one_line(exc)}", code="model_not_loadable") from None
        heads = [a for a in model.config.architectures or [] if a.endswith(("ForSequenceClassification",
                                                                           "ForTokenClassification"))]
        if not heads:
            raise UsageError(f"{self.folder} has no trained classification head (config.json architectures): "
                             f"score a model trained with `submit --task {self.task}`", code="model_not_loadable")
        self.device = _device()
        self._model = model.to(self.device).eval()
        self.label_names = [model.config.id2label[i] for i in range(model.config.num_labels)]
        self.max_length = _max_length(self.folder, getattr(self.tokenizer, "model_max_length", None))
        self._torch = torch

    def _logits(self, batch: Sequence[LabelledExample]) -> tuple[Any, Any]:
        if self.task == "token-classification":
            enc = self.tokenizer([list(ex.texts) for ex in batch], is_split_into_words=True, truncation=True,
                                 max_length=self.max_length, padding=True, return_tensors="pt")
        else:
            columns = list(zip(*(ex.texts for ex in batch), strict=True))
            enc = self.tokenizer(*columns, truncation=True, max_length=self.max_length, padding=True,
                                 return_tensors="pt")
        with self._torch.no_grad():
            logits = self._model(**{k: v.to(self.device) for k, v in enc.items()}).logits
        return enc, logits.float().cpu().numpy()

    def _tags(self, enc: Any, logits: Any, batch: Sequence[LabelledExample]) -> list[tuple[str, ...]]:
        out = []
        for row, ex in enumerate(batch):
            tags = ["O"] * len(ex.texts)  # words past the maximum length: no prediction
            previous = None
            for position, word in enumerate(enc.word_ids(row)):
                if word is not None and word != previous:
                    tags[word] = self.label_names[int(logits[row, position].argmax())]
                previous = word
            out.append(tuple(tags))
        return out

    def predict(self, examples: Sequence[LabelledExample]) -> Predictions:
        self.load()
        labels: list[tuple[str, ...]] = []
        for start in range(0, len(examples), BATCH_SIZE):
            batch = examples[start:start + BATCH_SIZE]
            enc, logits = self._logits(batch)
            if self.task == "token-classification":
                labels += self._tags(enc, logits, batch)
            elif self.task == "multi-label":
                labels += [tuple(self.label_names[i] for i in range(len(row)) if row[i] > 0) for row in logits]
            else:
                labels += [(self.label_names[int(row.argmax())],) for row in logits]
        joiner = " " if self.task == "token-classification" else ", "
        return Predictions([joiner.join(p) for p in labels], labels=labels)


class EmbeddingPredictor:
    """A sentence-transformers model (or a bare encoder, mean-pooled) ranking the file's texts."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.label_names: list[str] = []
        self.identity = f"hf:{folder}#{fingerprint(folder)}"
        self._model: Any = None

    def load(self) -> None:
        if self._model is not None:
            return
        from sentence_transformers import SentenceTransformer

        _quiet()
        try:
            self._model = SentenceTransformer(str(self.folder), device=_device())
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot load {self.folder}: {_one_line(exc)}", code="model_not_loadable") from None

    def predict(self, examples: Sequence[LabelledExample]) -> Predictions:
        import torch
        from sentence_transformers.util import cos_sim

        self.load()

        # the evaluator's corpus: p0, n0, p1, n1, ...; ties rank by corpus id (string order), as it does
        ids, texts = [], []
        for i, ex in enumerate(examples):
            ids.append(f"p{i}")
            texts.append(ex.texts[1])
            if len(ex.texts) == 3:
                ids.append(f"n{i}")
                texts.append(ex.texts[2])
        order = {cid: rank for rank, cid in enumerate(sorted(ids))}
        id_rank = torch.tensor([order[cid] for cid in ids])
        queries = self._model.encode([ex.texts[0] for ex in examples], batch_size=BATCH_SIZE,
                                     convert_to_tensor=True)
        corpus = self._model.encode(texts, batch_size=BATCH_SIZE, convert_to_tensor=True)
        scores = cos_sim(queries, corpus).cpu()
        position = {cid: j for j, cid in enumerate(ids)}
        ranks, answers = [], []
        for i, row in enumerate(scores):
            own = position[f"p{i}"]
            ahead = (row > row[own]) | ((row == row[own]) & (id_rank < id_rank[own]))
            ranks.append(int(ahead.sum()) + 1)
            tied = row == row.max()  # the top text: the best score, the first corpus id among ties
            answers.append(texts[int(torch.where(tied, id_rank, len(ids)).argmin())])
        return Predictions(answers, ranks=ranks)


def make_scorer(spec: ModelSpec, task: str) -> LocalEncoderScorer:
    """The scorer ``ftrouter eval`` uses for ``spec`` on ``task`` (the model is loaded here)."""
    folder = _folder(spec)
    predictor: Predictor = EmbeddingPredictor(folder) if task == "embedding" else HeadPredictor(folder, task)
    return LocalEncoderScorer(task, predictor)
