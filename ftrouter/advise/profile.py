"""The task profile: what a user tells ``ftrouter advise`` about their task (a public contract).

Only ``task`` and ``task_type`` are required; every other key has a default chosen to be the
cautious reading of "not said" (no eval set, no GPU, no budget limit, nothing must stay local).
Unknown keys are errors (``extra="forbid"``) so a typo never silently changes the advice.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TaskType = Literal["classification", "extraction", "generation", "chat", "code", "summarization", "other"]
Failure = Literal[
    "knowledge_missing",
    "knowledge_stale",
    "knowledge_proprietary",
    "format",
    "style",
    "tone",
    "consistency",
    "reasoning",
    "latency",
    "cost",
    "retrieval",  # RAG is in place and its retriever misses the relevant passages
    "none",
]
KnowledgeChange = Literal["never", "yearly", "monthly", "weekly", "daily"]
ModelFamily = Literal["any", "openai", "gemini", "open"]
Shift = Literal["low", "medium", "high"]
# Where the answer lives in an input longer than the model's window: a few passages (chunk and retrieve)
# or spread over the whole document (the model must read all of it: extend the context).
AnswerSpan = Literal["passages", "whole_document"]

# Used when the profile names no open-weights model size: 8B is the most common size people
# fine-tune locally (Llama 3.x 8B, Qwen 7-8B) and the one the published memory tables centre on.
DEFAULT_MODEL_SIZE_B = 8.0


class Scores(BaseModel):
    """Baseline eval scores on one metric, 0..1 (higher is better). ``None``: not measured."""

    model_config = ConfigDict(extra="forbid", strict=True)

    prompting: float | None = Field(default=None, ge=0, le=1)
    rag: float | None = Field(default=None, ge=0, le=1)
    target: float | None = Field(default=None, ge=0, le=1)
    # the retriever's recall@10 on the eval set's questions: the share whose relevant passage it returns
    # (`ftrouter eval` on (query, passage) pairs measures it; `advise --eval RUN` reads it from such a run)
    retrieval_recall: float | None = Field(default=None, ge=0, le=1)


class TaskProfile(BaseModel):
    """A task, as the user describes it. Field names are the public YAML/JSON keys."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    task: str = Field(min_length=1, description="free text: what the model must do")
    task_type: TaskType
    failures: tuple[Failure, ...] = Field(default=(), description="what goes wrong today with prompting")
    knowledge_change: KnowledgeChange = "never"
    needs_citations: bool = False
    examples: int = Field(default=0, ge=0, description="curated labelled examples available")
    eval_set_size: int = Field(default=0, ge=0, description="0 when there is no eval set")
    scores: Scores = Field(default_factory=Scores)
    latency_budget_ms: int | None = Field(default=None, gt=0)
    prompt_tokens: int | None = Field(default=None, ge=0, description="today's prompt incl. few-shot examples")
    monthly_requests: int | None = Field(default=None, ge=0)
    training_budget_usd: float | None = Field(default=None, ge=0)
    data_must_stay_local: bool = False
    gpu_memory_gb: float = Field(default=0, ge=0, le=4096, description="per GPU available for training")
    gpus: int = Field(default=1, ge=0, le=4096)
    model_family: ModelFamily = "any"
    model_size_b: float | None = Field(default=None, gt=0, le=2000)
    service_months: int = Field(default=12, ge=1, le=240)
    distribution_shift: Shift = "low"
    input_tokens: int | None = Field(default=None, ge=0, description="tokens of one input (document + question), "
                                     "a high percentile; default: the p95 of --data")
    context_window: int | None = Field(default=None, gt=0, description="the context window (tokens) of the "
                                       "model you would use")
    answer_span: AnswerSpan | None = Field(default=None, description="for inputs past the window: does the answer "
                                           "live in a few passages, or need the whole document")

    @model_validator(mode="before")
    @classmethod
    def _lists_as_tuples(cls, raw: object) -> object:
        # YAML and JSON give lists; the model is frozen (hashable), so it stores tuples.
        if isinstance(raw, dict) and isinstance(raw.get("failures"), list):
            return {**raw, "failures": tuple(raw["failures"])}
        return raw

    @field_validator("failures")
    @classmethod
    def _none_is_alone(cls, failures: tuple[Failure, ...]) -> tuple[Failure, ...]:
        # a field validator, so the error's location (and the YAML line in messages) is the failures key
        if "none" in failures and len(failures) > 1:
            raise ValueError("'none' cannot be combined with other failures")
        return failures

    @property
    def has_gpu(self) -> bool:
        return self.gpus > 0 and self.gpu_memory_gb > 0

    @property
    def effective_model_size_b(self) -> float:
        return self.model_size_b if self.model_size_b is not None else DEFAULT_MODEL_SIZE_B


PROFILE_KEYS: tuple[str, ...] = tuple(TaskProfile.model_fields)
