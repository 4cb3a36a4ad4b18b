"""Gemini / Vertex AI supervised tuning: ``{"systemInstruction": {"parts": [{"text"}]}, "contents": [{"role":
"user"|"model", "parts": [{"text"} | {"functionCall"} | {"functionResponse"}]}], "tools"?}``."""

from __future__ import annotations

import json
from typing import Any

from ftrouter.data.canonical import Example, Message, ToolCall
from ftrouter.data.formats.base import Format, JSONObject, Notes, check_conversation
from ftrouter.data.formats.toolcalls import results_in_call_order
from ftrouter.data.problems import ProblemSink

_ROLE = {"user": "user", "model": "assistant"}
CONTENT_KEYS = frozenset({"role", "parts"})


def _system_text(raw: Any, sink: ProblemSink) -> str | None:
    if raw is None:
        return None
    parts = raw.get("parts") if isinstance(raw, dict) else None
    texts = [p.get("text") for p in parts] if isinstance(parts, list) and all(isinstance(p, dict) for p in parts) \
        else None
    if texts is None or not all(isinstance(t, str) for t in texts):
        sink.add("non_string_content", "systemInstruction must be {parts: [{text}]}")
        return None
    return "".join(texts)


def _id(part: JSONObject) -> str | None:
    """A functionCall's / functionResponse's optional ``id`` (Gemini pairs results with calls by it)."""
    value = part.get("id")
    return value if isinstance(value, str) and value else None


def _split_parts(parts: list[Any], what: str, sink: ProblemSink) -> tuple[list[str], list[ToolCall], list[Message]]:
    texts: list[str] = []
    calls: list[ToolCall] = []
    results: list[Message] = []
    for part in parts:
        if isinstance(part, dict) and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif isinstance(part, dict) and isinstance(part.get("functionCall"), dict):
            fc = part["functionCall"]
            args = fc.get("args", {})
            if not isinstance(fc.get("name"), str) or not isinstance(args, dict):
                sink.add("malformed_tool_call", f"{what}: functionCall needs a name and an args object")
                continue
            calls.append(ToolCall(name=fc["name"], arguments=json.dumps(args, ensure_ascii=False), id=_id(fc)))
        elif isinstance(part, dict) and isinstance(part.get("functionResponse"), dict):
            fr = part["functionResponse"]
            content = _response_text(fr.get("response", {}))
            results.append(Message("tool", content, name=fr.get("name") if isinstance(fr.get("name"), str) else None,
                                   tool_call_id=_id(fr)))
        else:
            kind = ", ".join(sorted(part)) if isinstance(part, dict) else type(part).__name__
            sink.add("non_string_content", f"{what}: part {kind!r} is not text, functionCall or functionResponse")
    return texts, calls, results


def _parse_content(raw: Any, index: int, sink: ProblemSink) -> list[Message]:
    what = f"contents[{index - 1}]"
    if not isinstance(raw, dict):
        sink.add("not_object", f"{what} is {type(raw).__name__}, not an object")
        return []
    role = raw.get("role", "user")  # Gemini defaults a missing role to "user"
    role = _ROLE.get(role) if isinstance(role, str) else None  # a list or object is no role
    if role is None:
        sink.add("unknown_role", f"{what} has role {raw.get('role')!r} (expected user or model)")
        return []
    if set(raw) - CONTENT_KEYS:
        sink.add("unknown_key", f"{what} has unknown key(s): {', '.join(sorted(set(raw) - CONTENT_KEYS))}")
    parts = raw.get("parts")
    if not isinstance(parts, list) or not parts:
        sink.add("missing_content", f"{what} has no parts")
        return []
    texts, calls, results = _split_parts(parts, what, sink)
    out = list(results)
    if texts or calls or not results:
        out.append(Message(role, "".join(texts) if texts or not calls else None,  # type: ignore[arg-type]
                           tool_calls=calls or None))
    return out


class Gemini(Format):
    name = "gemini"
    keys = frozenset({"contents", "systemInstruction", "system_instruction", "tools"})
    signature = ("contents",)
    carries_call_ids = True
    description = '{"systemInstruction"?: {"parts": [{"text"}]}, "contents": [{"role": "user"|"model", "parts"}]}'

    def parse(self, obj: JSONObject, sink: ProblemSink) -> Example | None:
        meta = self.take_meta(obj, sink)
        raw = obj.get("contents")
        if not isinstance(raw, list) or not raw:
            sink.add("missing_messages", "contents must be a non-empty list")
            return None
        system = _system_text(obj.get("systemInstruction", obj.get("system_instruction")), sink)
        messages = [Message("system", system)] if system else []
        for i, content in enumerate(raw, start=1):
            messages += _parse_content(content, i, sink)
        ex = Example(messages=messages, tools=_parse_tools(obj.get("tools"), sink), meta=meta, line=sink.line)
        check_conversation(ex, sink, pair_given_ids=True)  # ids are optional on calls and on responses
        return ex

    def dump(self, example: Example, notes: Notes) -> JSONObject | None:
        turns = list(example.messages)
        if example.is_preference:
            notes.add("non-preferred outputs dropped (written as supervised Gemini data)")
            turns += example.chosen or []
        _note_gemini_losses(turns, notes)
        system = [m.content or "" for m in turns if m.role == "system"]
        out: JSONObject = {}
        if system:
            out["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
        out["contents"] = _dump_contents(results_in_call_order([m for m in turns if m.role != "system"]))
        if example.tools:
            decls = [t.get("function", t) for t in example.tools]
            out["tools"] = [{"functionDeclarations": decls}]
        return out


def _note_gemini_losses(turns: list[Message], notes: Notes) -> None:
    if any(m.weight is not None for m in turns):
        notes.add("per-turn weights dropped (Gemini tuning data has no weights)")
    if any(m.name for m in turns if m.role != "tool"):
        notes.add("message names dropped (Gemini has no per-turn names)")
    systems = [i for i, m in enumerate(turns) if m.role == "system"]
    if systems and (systems[0] != 0 or len(systems) > 1):
        notes.add("system turns merged into one systemInstruction")


def _response_object(content: str | None) -> Any:
    """A tool result as Gemini's ``response`` object: JSON object text as is, other text under ``output``
    (the key Gemini's FunctionResponse schema names for a function's output)."""
    try:
        value = json.loads(content or "")
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {"output": content or ""}


def _response_text(response: Any) -> str:
    """The inverse of ``_response_object``: a bare ``{"output": text}`` is the text, anything else its JSON."""
    if isinstance(response, dict) and len(response) == 1 and isinstance(response.get("output"), str):
        return str(response["output"])
    return json.dumps(response, ensure_ascii=False)


def _dump_contents(turns: list[Message]) -> list[JSONObject]:
    contents: list[JSONObject] = []
    call_names: dict[str, str] = {}
    for m in turns:
        parts: list[JSONObject] = []
        if m.role == "tool":
            name = m.name or call_names.get(m.tool_call_id or "", "tool")
            response: JSONObject = {"name": name, "response": _response_object(m.content)}
            if m.tool_call_id is not None:
                response["id"] = m.tool_call_id
            parts.append({"functionResponse": response})
        else:
            if m.content is not None:
                parts.append({"text": m.content})
            for c in m.tool_calls or []:
                call_names[c.id or ""] = c.name
                call: JSONObject = {"name": c.name, "args": json.loads(c.arguments)}
                if c.id is not None:
                    call["id"] = c.id
                parts.append({"functionCall": call})
        role = "model" if m.role == "assistant" else "user"
        if m.role == "tool" and contents and contents[-1]["role"] == "user" and "functionResponse" in \
                contents[-1]["parts"][-1]:
            contents[-1]["parts"] += parts  # parallel tool results go into one user turn
        else:
            contents.append({"role": role, "parts": parts})
    return contents


def _parse_tools(raw: Any, sink: ProblemSink) -> list[dict[str, Any]] | None:
    if raw is None:
        return None
    lists = [t.get("functionDeclarations", t.get("function_declarations", [])) if isinstance(t, dict) else None
             for t in raw] if isinstance(raw, list) else [None]
    ok = all(isinstance(found, list) for found in lists)
    decls = [d for found in lists if isinstance(found, list) for d in found]
    if not ok or not all(isinstance(d, dict) for d in decls):
        sink.add("malformed_tool_call", "tools must be a list of {functionDeclarations: [...]}")
        return None
    return [{"type": "function", "function": d} for d in decls] or None
