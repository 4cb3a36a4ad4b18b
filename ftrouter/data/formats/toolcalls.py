"""Tool-call ids and the pairing of tool results with the calls they answer.

The canonical form pairs a ``tool`` message with its call by id (``Message.tool_call_id`` equals a
``ToolCall.id`` of the assistant turn before it), as OpenAI does. Formats that carry no ids (ShareGPT,
OpenAI's legacy ``function_call``, Gemini parts written without ``id``) get stable generated ids on
reading: ``call_1``, ``call_2``, ... in the order the calls appear in the example (skipping ids the
example already uses), and each result without an id is paired with an open call of the turn before
it: the first one with the same function name when the result names one, else the first open call
(pairing by order). Writers of formats without ids write each turn's results in its calls' order, so
that the pairing survives a round trip.
"""

from __future__ import annotations

from ftrouter.data.canonical import Message, ToolCall
from ftrouter.data.problems import ProblemSink

GENERATED_IDS_NOTE = ("tool call ids: the source has none, so ids were generated (call_1, call_2, ... per example) "
                      "and each tool result was paired with an open call of the turn before it by function name, "
                      "else by order")


def _new_id(used: set[str], counter: list[int]) -> str:
    while True:
        counter[0] += 1
        candidate = f"call_{counter[0]}"
        if candidate not in used:
            used.add(candidate)
            return candidate


def _pick(open_calls: list[ToolCall], name: str | None) -> ToolCall:
    if name is not None:
        for call in open_calls:
            if call.name == name:
                return call
    return open_calls[0]


def pair_tool_results(messages: list[Message], *, pair_given_ids: bool) -> bool:
    """Give calls without an id a generated one and pair results without ``tool_call_id`` (in place).

    ``pair_given_ids``: whether a result without an id may also be paired with a call whose id the source
    gave (Gemini: ids are optional on both sides). When False (OpenAI), only calls whose id was generated
    (legacy ``function_call``) take id-less results; other id-less results stay unpaired, which
    ``check_tool_pairing`` reports. Returns True when any id was generated or any result was paired.
    """
    used = {c.id for m in messages if m.tool_calls for c in m.tool_calls if c.id is not None}
    used |= {m.tool_call_id for m in messages if m.tool_call_id is not None}
    counter = [0]
    changed = False
    open_calls: list[ToolCall] = []  # calls of the last assistant turn that id-less results may take
    for m in messages:
        if m.role == "tool":
            if m.tool_call_id is None and open_calls:
                call = _pick(open_calls, m.name)
                open_calls.remove(call)
                m.tool_call_id = call.id
                changed = True
            elif m.tool_call_id is not None:
                open_calls = [c for c in open_calls if c.id != m.tool_call_id]
            continue
        open_calls = []
        for call in m.tool_calls or ():
            if call.id is None:
                call.id = _new_id(used, counter)
                changed = True
                open_calls.append(call)
            elif pair_given_ids:
                open_calls.append(call)
    return changed


def check_tool_pairing(messages: list[Message], sink: ProblemSink) -> None:
    """Every tool result answers a call of the assistant turn right before it, by id, and every call of
    a turn that tool results follow, or that more turns follow, gets its result. An assistant turn whose
    calls end the conversation needs no results (it is the trained target: "call this tool now")."""
    waiting: dict[str, int] = {}  # call id -> message index of the calling turn, not answered yet
    answered_turn = False
    for i, m in enumerate(messages, start=1):
        if m.role == "tool":
            answered_turn = True
            if m.tool_call_id is None:
                sink.add("missing_tool_call_id", f"message {i} (a tool result) has no tool_call_id and no open call "
                         "before it to pair with: it answers no call")
            elif waiting.pop(m.tool_call_id, None) is None:
                sink.add("unknown_tool_call_id", f"message {i} (tool) answers tool_call_id {m.tool_call_id!r}, "
                         "which matches no unanswered call of the assistant turn before it")
            continue
        _report_unanswered(waiting, sink)
        waiting = {c.id or "": i for c in m.tool_calls or ()} if m.role == "assistant" else {}
        answered_turn = False
    if answered_turn:
        _report_unanswered(waiting, sink)


def _report_unanswered(waiting: dict[str, int], sink: ProblemSink) -> None:
    for call_id, index in waiting.items():
        what = f"tool call {call_id!r}" if call_id else "a tool call without an id"
        sink.add("unanswered_tool_call", f"{what} of message {index} gets no tool result before the next turn")
    waiting.clear()


def has_tool_turns(messages: list[Message]) -> bool:
    return any(m.tool_calls or m.role == "tool" for m in messages)


def results_in_call_order(messages: list[Message]) -> list[Message]:
    """The messages with each run of tool results sorted into the order of the calls they answer (results
    whose id matches no call keep their place after the matched ones). For writers of formats that pair
    by position."""
    out: list[Message] = []
    order: dict[str | None, int] = {}
    run: list[Message] = []
    for m in messages:
        if m.role == "tool":
            run.append(m)
            continue
        out += sorted(run, key=lambda r: order.get(r.tool_call_id, len(order)))
        run = []
        out.append(m)
        order = {c.id: k for k, c in enumerate(m.tool_calls or ())}
    out += sorted(run, key=lambda r: order.get(r.tool_call_id, len(order)))
    return out
