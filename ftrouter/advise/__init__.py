"""The decision framework behind ``ftrouter advise``: prompting, RAG, fine-tuning or both?

Public API::

    profile = load_profile("configs/tasks/invoice-extraction.yaml")   # TaskProfile (ProfileError on bad input)
    signals = read_signals("train.jsonl")                             # optional: DataSignals from the data engine
    advice = advise(profile, signals=signals)                         # Advice; advice.model_dump() is the JSON

Rules and weights are data (``ftrouter/catalog/decision_rules.yaml``); see ``rules.py`` for their shape.
"""

from __future__ import annotations

from ftrouter.advise.advisor import Advice, advise
from ftrouter.advise.loader import EvalScores, apply_eval_scores, load_eval_scores, load_profile, parse_profile
from ftrouter.advise.profile import Scores, TaskProfile
from ftrouter.advise.rules import APPROACHES, DecisionRule, RuleSet, default_rules, load_rules
from ftrouter.advise.signals import DataSignals, read_signals, signals_from_report

__all__ = [
    "APPROACHES",
    "Advice",
    "DataSignals",
    "DecisionRule",
    "EvalScores",
    "RuleSet",
    "Scores",
    "TaskProfile",
    "advise",
    "apply_eval_scores",
    "default_rules",
    "load_eval_scores",
    "load_profile",
    "load_rules",
    "parse_profile",
    "read_signals",
    "signals_from_report",
]
