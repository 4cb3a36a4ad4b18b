"""Readers and writers for every supported format, by the names used everywhere in ftrouter."""

from __future__ import annotations

from ftrouter.data.formats.base import Format, JSONObject, Notes
from ftrouter.data.formats.gemini import Gemini
from ftrouter.data.formats.openai import OpenAIChat, OpenAIPreference
from ftrouter.data.formats.sharegpt import ShareGPT
from ftrouter.data.formats.simple import Alpaca, PromptCompletion
from ftrouter.data.formats.trl import TRLPreference
from ftrouter.errors import UnknownName

# Detection order matters only for objects that match several signatures (none of the shipped ones do).
FORMATS: dict[str, Format] = {f.name: f for f in (OpenAIPreference(), OpenAIChat(), PromptCompletion(), Alpaca(),
                                                   ShareGPT(), Gemini(), TRLPreference())}
FORMAT_NAMES: tuple[str, ...] = ("openai", "dpo", "prompt-completion", "alpaca", "sharegpt", "gemini",
                                 "trl-preference")


def get_format(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownName("format", name, FORMAT_NAMES) from None


def detect_format(obj: JSONObject) -> str | None:
    """The name of the format whose signature keys ``obj`` has, or None."""
    for name, fmt in FORMATS.items():
        if fmt.matches(obj):
            return name
    return None


__all__ = ["FORMATS", "FORMAT_NAMES", "Format", "Notes", "detect_format", "get_format"]
