"""The facts decision rules read: the profile's inputs, data signals, and values derived from them.

Rules in ``catalog/decision_rules.yaml`` may only name facts listed in ``FACTS`` (checked when the
rules load), so a typo in a rule is a catalog error, not a rule that silently never fires. Facts are
a plain dict so that scoring stays cheap: the counterfactual search recomputes them hundreds of times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from ftrouter.advise.profile import TaskProfile
from ftrouter.advise.signals import DataSignals

Scope = Literal["approach", "method", "backend", "outcome"]
Kind = Literal["number", "int", "bool", "enum", "list", "text"]

KNOWLEDGE_FAILURES = frozenset({"knowledge_missing", "knowledge_stale", "knowledge_proprietary"})
BEHAVIOUR_FAILURES = frozenset({"format", "style", "tone", "consistency"})
# Below this recall@10 the retriever misses the relevant passage for more than one question in five: the
# generator cannot answer from context it is not given, so retrieval itself is the failure.
RETRIEVAL_RECALL_FLOOR = 0.8


@dataclass(frozen=True)
class FactSpec:
    scope: Scope  # which kinds of rule may read it (see rules._READABLE)
    kind: Kind
    description: str
    field: str | None = None  # the profile key it comes from (counterfactuals vary these); None: derived


def _inputs() -> dict[str, FactSpec]:
    plain: dict[str, tuple[Kind, str]] = {
        "task_type": ("enum", "the kind of task"),
        "failures": ("list", "what goes wrong today with prompting"),
        "knowledge_change": ("enum", "how often the needed knowledge changes"),
        "needs_citations": ("bool", "answers must cite their sources"),
        "examples": ("int", "curated labelled examples (distinct examples of --data when given)"),
        "eval_set_size": ("int", "items in the eval set (0: none)"),
        "latency_budget_ms": ("int", "latency budget per request"),
        "prompt_tokens": ("int", "today's prompt size, few-shot examples included"),
        "monthly_requests": ("int", "requests per month"),
        "training_budget_usd": ("number", "training budget"),
        "data_must_stay_local": ("bool", "the data may not leave the premises"),
        "gpu_memory_gb": ("number", "memory per GPU available for training (0: none)"),
        "gpus": ("int", "GPUs available for training"),
        "model_family": ("enum", "which models may be used"),
        "model_size_b": ("number", "open-weights model size in billions of parameters (default 8)"),
        "service_months": ("int", "how long the adapted model must stay in service"),
        "distribution_shift": ("enum", "how far the target domain is from general text"),
        "input_tokens": ("int", "tokens of one input (the profile's, else the p95 of --data)"),
        "context_window": ("int", "the context window of the model that would be used"),
        "answer_span": ("enum", "for inputs past the window: passages or whole_document"),
    }
    facts = {name: FactSpec("approach", kind, text, field=name) for name, (kind, text) in plain.items()}
    for which in ("prompting", "rag", "target"):
        facts[f"score_{which}"] = FactSpec("approach", "number", f"measured {which} score (0..1)",
                                           field=f"scores.{which}")
    facts["retrieval_recall"] = FactSpec("approach", "number", "measured recall@10 of the retriever (0..1)",
                                         field="scores.retrieval_recall")
    return facts


FACTS: dict[str, FactSpec] = {
    **_inputs(),
    # derived from the profile
    "knowledge_failure": FactSpec("approach", "bool", "a failure is missing, stale or proprietary knowledge"),
    "behaviour_failure": FactSpec("approach", "bool", "a failure is format, style, tone or consistency"),
    "retrieval_failure": FactSpec("approach", "bool", "retrieval is the failure: listed in failures, or the "
                                  f"retriever's measured recall@10 is below {RETRIEVAL_RECALL_FLOOR}"),
    "prompting_gap": FactSpec("approach", "number", "target score minus prompting score"),
    "rag_gain": FactSpec("approach", "number", "RAG score minus prompting score"),
    "prompting_meets_target": FactSpec("approach", "bool", "prompting already reaches the target score"),
    "rag_meets_target": FactSpec("approach", "bool", "RAG already reaches the target score"),
    "monthly_prompt_mtokens": FactSpec("approach", "number", "prompt tokens sent per month, in millions"),
    "model_size_stated": FactSpec("approach", "bool", "the profile gives model_size_b (else 8B is assumed)"),
    "has_gpu": FactSpec("approach", "bool", "at least one GPU with memory is available"),
    "local_can_train": FactSpec("approach", "bool", "some method (full, LoRA, QLoRA) fits the stated GPUs"),
    # from --data
    "data_given": FactSpec("approach", "bool", "a dataset was given with --data"),
    "data_duplicate_share": FactSpec("approach", "number", "share of the dataset's examples that are duplicates"),
    "data_errors": FactSpec("approach", "int", "problems of severity error in the dataset"),
    "data_p95_tokens": FactSpec("approach", "int", "95th percentile of tokens per example"),
    # long inputs (issue 15): chunking / RAG or context extension
    "inputs_over_window": FactSpec("approach", "bool", "inputs are longer than the model's context window"),
    "window_factor": FactSpec("approach", "int", "the RoPE scaling factor that would cover the inputs"),
    "long_input_retrieval": FactSpec("approach", "bool", "inputs past the window whose answer lives in a few "
                                     "passages: retrieval over the input itself (false when unknown)"),
    # managed-provider availability (from the model catalog and today's date)
    "openai_training_until": FactSpec("approach", "text", "last day OpenAI accepts new fine-tuning jobs"),
    "openai_training_months_left": FactSpec("approach", "number", "months until OpenAI stops new fine-tuning jobs"),
    # per candidate method (local training)
    "method": FactSpec("method", "enum", "the candidate method: full, lora or qlora"),
    "method_fits": FactSpec("method", "bool", "the method's memory estimate fits the stated GPUs"),
    "method_memory_gb": FactSpec("method", "number", "the method's estimated training memory per GPU"),
    # per candidate backend
    "backend": FactSpec("backend", "enum", "the candidate backend: an installed backend's name"),
    "backend_managed": FactSpec("backend", "bool", "the backend is a provider's managed API (data is uploaded)"),
    "backend_family": FactSpec("backend", "enum", "the model family the backend trains: openai, gemini, open"),
    "backend_training_months_left": FactSpec("backend", "number", "months until the backend stops new jobs"),
    "backend_shutdown_months_left": FactSpec("backend", "number",
                                             "months until the backend's fine-tuned models stop serving"),
    "service_outlives_training": FactSpec("backend", "bool",
                                          "service_months runs past the backend's last day for new jobs"),
    "service_outlives_backend": FactSpec("backend", "bool",
                                         "service_months runs past the shutdown of the backend's fine-tuned models"),
    "backend_fits": FactSpec("backend", "bool", "the backend can train the task (for local: a method fits)"),
    "backend_method": FactSpec("backend", "enum", "the method the backend would use"),
    "backend_cost_usd": FactSpec("backend", "number", "estimated training cost (only with --data)"),
    "backend_over_budget": FactSpec("backend", "bool", "the estimated training cost exceeds training_budget_usd"),
    # the decision, for next steps and warnings
    "recommendation": FactSpec("outcome", "enum", "the recommended approach"),
    "includes_finetune": FactSpec("outcome", "bool", "fine-tuning is part of the recommendation"),
    "chosen_method": FactSpec("outcome", "enum", "the recommended method (lora, qlora, full, managed)"),
    "top_backend": FactSpec("outcome", "enum", "the first backend of the shortlist"),
    "top_backend_managed": FactSpec("outcome", "bool", "the first backend of the shortlist is a provider's managed "
                                    "API (not trained on your GPUs)"),
    "shortlist": FactSpec("outcome", "list", "the backend shortlist"),
    "prompting_floor": FactSpec("outcome", "bool", "prompting leads only because no approach has net evidence"),
}


def months_between(start: date, end: date) -> float:
    return round((end - start).days / 30.44, 1)


def _gap(high: float | None, low: float | None) -> float | None:
    return None if high is None or low is None else round(high - low, 4)


def _meets(score: float | None, target: float | None) -> bool | None:
    return None if score is None or target is None else score >= target


def profile_facts(profile: TaskProfile) -> dict[str, Any]:
    """Facts that depend on the profile alone."""
    scores = profile.scores
    facts: dict[str, Any] = {name: getattr(profile, name) for name in FACTS if FACTS[name].field == name}
    facts["model_size_b"] = profile.effective_model_size_b
    facts.update(
        score_prompting=scores.prompting,
        score_rag=scores.rag,
        score_target=scores.target,
        knowledge_failure=bool(KNOWLEDGE_FAILURES & set(profile.failures)),
        behaviour_failure=bool(BEHAVIOUR_FAILURES & set(profile.failures)),
        retrieval_recall=scores.retrieval_recall,
        retrieval_failure="retrieval" in profile.failures or (
            scores.retrieval_recall is not None and scores.retrieval_recall < RETRIEVAL_RECALL_FLOOR),
        prompting_gap=_gap(scores.target, scores.prompting),
        rag_gain=_gap(scores.rag, scores.prompting),
        prompting_meets_target=_meets(scores.prompting, scores.target),
        rag_meets_target=_meets(scores.rag, scores.target),
        monthly_prompt_mtokens=(
            None if profile.prompt_tokens is None or profile.monthly_requests is None
            else round(profile.prompt_tokens * profile.monthly_requests / 1e6, 3)
        ),
        has_gpu=profile.has_gpu,
        model_size_stated=profile.model_size_b is not None,
    )
    return facts


def data_facts(signals: DataSignals | None) -> dict[str, Any]:
    """Facts from ``--data`` (all unknown when no data was given)."""
    if signals is None:
        return {"data_given": False, "data_duplicate_share": None, "data_errors": None, "data_p95_tokens": None}
    return {
        "data_given": True,
        "data_duplicate_share": round(signals.duplicate_share, 4),
        "data_errors": signals.errors,
        "data_p95_tokens": signals.p95_tokens,
    }


def context_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """Inputs against the model's window: the input length (the profile's, else the data's p95), whether it
    is past the window, and the whole RoPE scaling factor that would cover it."""
    tokens = facts.get("input_tokens")
    if tokens is None:
        tokens = facts.get("data_p95_tokens")
    window = facts.get("context_window")
    over = None if tokens is None or window is None else tokens > window
    return {"input_tokens": tokens, "inputs_over_window": over,
            "window_factor": max(2, -(-tokens // window)) if over and tokens is not None and window else None,
            "long_input_retrieval": bool(over) and facts.get("answer_span") == "passages"}


def extension_seq_len(facts: dict[str, Any]) -> int | None:
    """The sequence a context-extension fine-tune trains at (the whole input), when the task needs one."""
    if facts.get("inputs_over_window") and facts.get("answer_span") == "whole_document":
        return int(facts["input_tokens"])
    return None


def display(value: Any) -> str:
    """How a fact value reads inside a reason sentence."""
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if not value.is_integer() else f"{int(value):,}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)
