"""Builders for small test examples."""

from __future__ import annotations

from typing import Any


def chat(user: str = "Hi", answer: str = "Hello!", system: str | None = None, **extra: Any) -> dict[str, Any]:
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    return {"messages": messages, **extra}
