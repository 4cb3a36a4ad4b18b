"""Records longer than the training length: count them with the model's own tokenizer, then do what
``on_long`` says — never what TRL would do silently.

What TRL 1.16's ``SFTTrainer`` does with conversational prompt-completion records and ``max_length``
(``_prepare_dataset``, read in its source): it tokenizes prompt and prompt+completion with the chat
template, cuts every sequence to its first ``max_length`` tokens (``truncation_mode="keep_start"``),
then DROPS the records left with no completion token — those whose prompt alone fills ``max_length``.
With packing it cuts nothing per record. Nothing of this is reported, and with every record dropped
torch fails with ``num_samples=0``.

So the records are measured here, the same way (same template, same prefix rule), and filtered BEFORE
TRL sees them; TRL then only ever cuts what we chose to keep as "truncated":

* ``truncate``: records over ``max_length`` are cut to it (the end of the completion is lost);
  records whose prompt alone reaches ``max_length`` have nothing left to learn and are dropped.
* ``drop``: every record over ``max_length`` is left out; the kept ones are trained whole.
* ``error``: any record over ``max_length`` stops the job before it starts.

The default (``on_long`` not set) is ``truncate``, refusing when it would drop more than
:data:`MAX_DEFAULT_DROP_SHARE` of the records: cutting the tail of a long answer keeps most of its
signal, while dropping silently loses whole examples. Whatever the policy, no record left is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

OnLong = Literal["truncate", "drop", "error"]
ON_LONG_CHOICES: tuple[str, ...] = ("truncate", "drop", "error")
MAX_DEFAULT_DROP_SHARE = 0.05  # the default may drop at most this share of the records (prompt alone too long)
LISTED_LINES = 10


class TooLong(Exception):
    """The policy refuses the data (``error`` with long records, the default past its share, nothing left)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def common_prefix_length(ids: list[int], other: list[int]) -> int:
    """TRL's rule: the completion starts where the tokenized prompt and prompt+completion diverge."""
    length = 0
    for a, b in zip(ids, other, strict=False):
        if a != b:
            break
        length += 1
    return length


def record_lengths(record: dict[str, Any], tokenizer: Any) -> tuple[int, int]:
    """(prompt tokens, prompt+completion tokens) of one record, as TRL's tokenization sees them. A
    preference record (DPO: ``chosen`` / ``rejected``) is as long as its longer reply."""
    tools = record.get("tools") or None
    prompt = tokenizer.apply_chat_template(record["prompt"], tools=tools, add_generation_prompt=True,
                                           tokenize=True, return_dict=True)["input_ids"]
    replies = [record[key] for key in ("completion", "chosen", "rejected") if key in record]
    fulls = [tokenizer.apply_chat_template(record["prompt"] + reply, tools=tools, tokenize=True,
                                           return_dict=True)["input_ids"] for reply in replies]
    full = max(fulls, key=len)
    return common_prefix_length(list(prompt), list(full)), len(full)


@dataclass
class LengthCheck:
    """What the length check found in one file's records and what the policy did with them."""

    records: int = 0
    over: list[int] = field(default_factory=list)  # record indexes with prompt+completion > max_length
    prompt_over: list[int] = field(default_factory=list)  # record indexes whose prompt alone >= max_length
    dropped: list[int] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # source line of each record (for messages)

    @property
    def truncated(self) -> int:
        dropped = set(self.dropped)
        return sum(1 for i in self.over if i not in dropped)

    @property
    def kept(self) -> int:
        return self.records - len(self.dropped)

    def _lines(self, indexes: list[int]) -> list[int]:
        return [self.lines[i] for i in indexes[:LISTED_LINES]] if self.lines else []

    def as_dict(self) -> dict[str, Any]:
        return {"records": self.records, "longer_than_max_length": len(self.over),
                "prompt_alone_too_long": len(self.prompt_over), "truncated": self.truncated,
                "dropped": len(self.dropped), "kept": self.kept, "example_lines": self._lines(self.over)}


def measure(records: list[dict[str, Any]], tokenizer: Any, max_length: int,
            lines: list[int] | None = None) -> LengthCheck:
    check = LengthCheck(records=len(records), lines=list(lines or []))
    for index, record in enumerate(records):
        prompt, total = record_lengths(record, tokenizer)
        if total > max_length:
            check.over.append(index)
        if prompt >= max_length:
            check.prompt_over.append(index)
    return check


def _shown(check: LengthCheck) -> str:
    lines = check._lines(check.over)
    return f" (lines {', '.join(map(str, lines))}{', ...' if len(check.over) > len(lines) else ''})" if lines else ""


def decide(check: LengthCheck, on_long: OnLong | None, max_length: int, role: str) -> None:
    """Fill ``check.dropped`` by the policy, or raise :class:`TooLong`."""
    where = f"{role}: " if role else ""
    shown = _shown(check)
    if on_long == "error" and check.over:
        raise TooLong("examples_too_long", f"{where}{len(check.over)} of {check.records} record(s) are longer than "
                      f"max_length {max_length}{shown}; raise --max-length, or pass --on-long truncate or drop")
    check.dropped = list(check.over) if on_long == "drop" else list(check.prompt_over)
    if check.records and not check.kept:
        raise TooLong("no_examples_fit", f"{where}none of the {check.records} record(s) fits in max_length "
                      f"{max_length}{shown}: raise --max-length (the training length)")
    share = len(check.dropped) / check.records if check.records else 0.0
    if on_long is None and share > MAX_DEFAULT_DROP_SHARE:
        raise TooLong("examples_too_long", f"{where}{len(check.dropped)} of {check.records} record(s) have a prompt "
                      f"that alone fills max_length {max_length} and would be dropped ({share:.0%}, more than the "
                      f"{MAX_DEFAULT_DROP_SHARE:.0%} the default allows); raise --max-length, pass --on-long "
                      "truncate to accept dropping them, or --on-long drop to drop every record over it")


def describe(check: LengthCheck, on_long: OnLong | None, max_length: int, role: str) -> str | None:
    """One line saying what happens to the long records (None when there are none)."""
    if not check.over and not check.dropped:
        return None
    parts = [f"{role}: {len(check.over)} of {check.records} record(s) are longer than max_length {max_length}"
             f"{_shown(check)}"]
    if check.prompt_over:
        parts.append(f"{len(check.prompt_over)} with a prompt that alone fills it")
    policy = on_long or "truncate"
    parts.append(f"--on-long {policy}: {check.truncated} cut to {max_length} tokens, {len(check.dropped)} dropped, "
                 f"{check.kept} trained")
    return "; ".join(parts)


def keep(records: list[dict[str, Any]], check: LengthCheck) -> list[dict[str, Any]]:
    dropped = set(check.dropped)
    return [record for index, record in enumerate(records) if index not in dropped]
