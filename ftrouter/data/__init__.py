"""The data engine: read any common fine-tuning format into canonical examples, find what is wrong,
count tokens, and write the format each backend needs.

Public API (other parts of ftrouter code against these names):
``read_examples``, ``inspect_file`` / ``DatasetReport``, ``validate_file`` / ``ValidationReport``,
``convert_file`` / ``write_examples`` / ``ConversionResult``, ``split_file``, ``count_example_tokens``,
``estimate_gemini_tokens``, ``FORMAT_NAMES``.
"""

from __future__ import annotations

from ftrouter.data.canonical import Example, Message, Problem, ToolCall
from ftrouter.data.convert import ConversionResult, convert_file, write_examples
from ftrouter.data.formats import FORMAT_NAMES
from ftrouter.data.inspect import DatasetReport, TokenStats, inspect_file
from ftrouter.data.reader import read_examples
from ftrouter.data.split import SplitResult, split_file
from ftrouter.data.tokens import count_example_tokens, counter_for_model, estimate_gemini_tokens
from ftrouter.data.validate import ValidationReport, validate_file

__all__ = [
    "FORMAT_NAMES",
    "ConversionResult",
    "DatasetReport",
    "Example",
    "Message",
    "Problem",
    "SplitResult",
    "TokenStats",
    "ToolCall",
    "ValidationReport",
    "convert_file",
    "count_example_tokens",
    "counter_for_model",
    "estimate_gemini_tokens",
    "inspect_file",
    "read_examples",
    "split_file",
    "validate_file",
    "write_examples",
]
