"""The one canonical in-memory form of a training example.

Every reader turns its format INTO these types and every writer works FROM them; no format is
converted to another directly. They are plain slotted dataclasses, not pydantic models, because the
data engine builds hundreds of thousands of them per file and validation of the raw JSON happens in
the readers anyway (where the line number is known).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]
ROLES: tuple[str, ...] = ("system", "user", "assistant", "tool")


@dataclass(slots=True)
class ToolCall:
    """A function call made by an assistant turn. ``arguments`` is the raw JSON string, as sent."""

    name: str
    arguments: str
    id: str | None = None
    type: str = "function"


@dataclass(slots=True)
class Message:
    """One turn of a conversation.

    ``weight`` is the per-turn training weight (OpenAI's ``weight`` 0/1 on assistant turns); ``None``
    means "the format's default", which is: assistant turns are trained, others are not.
    """

    role: Role
    content: str | None
    name: str | None = None
    weight: float | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    @property
    def trained(self) -> bool:
        """Whether a trainer computes loss on this turn."""
        if self.role != "assistant":
            return False
        return self.weight is None or self.weight > 0


@dataclass(slots=True)
class Example:
    """A training example.

    - Supervised data: ``messages`` is the whole conversation, the assistant turns are the targets.
    - Preference data (DPO): ``messages`` is the prompt (ending on a user turn), ``chosen`` and
      ``rejected`` hold the preferred and the non-preferred assistant reply.

    ``tools`` keeps function declarations as given (OpenAI ``tools`` objects). ``meta`` keeps
    top-level fields a format carries that are not part of the conversation (useful for
    ``data split --stratify FIELD``). ``line`` is the 1-based line in the source file.
    ``generated_call_ids``: the source had no tool-call ids; the reader generated them and paired the
    results by name or order (``formats.toolcalls``), which a conversion report says.
    """

    messages: list[Message]
    tools: list[dict[str, Any]] | None = None
    chosen: list[Message] | None = None
    rejected: list[Message] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    line: int = 0
    generated_call_ids: bool = field(default=False, compare=False)

    @property
    def is_preference(self) -> bool:
        return self.chosen is not None or self.rejected is not None

    @property
    def kind(self) -> Literal["sft", "dpo"]:
        return "dpo" if self.is_preference else "sft"


Severity = Literal["error", "warning"]


@dataclass(slots=True, frozen=True)
class Problem:
    """One finding about a data file, with a stable ``code`` (see docs/reference/problem-codes.md)."""

    line: int | None
    code: str
    severity: Severity
    message: str

    def render(self, path: str) -> str:
        where = f"{path}:{self.line}" if self.line is not None else path
        return f"{where}: {self.severity}: {self.code}: {self.message}"
