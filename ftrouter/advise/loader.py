"""Read a task profile (YAML or JSON) and, separately, a baseline eval-scores file.

Errors name the file, the YAML line of the offending key when it is known, the key, and the
allowed values — as one ``ProfileError`` (exit 2), never a pydantic traceback.
"""

from __future__ import annotations

import difflib
import json
import math
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, Field, ValidationError

from ftrouter import safeyaml
from ftrouter.advise.profile import Scores, TaskProfile
from ftrouter.errors import ProfileError

_TYPE_WORDS = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "string_type": "text",
    "tuple_type": "a list",
    "list_type": "a list",
    "model_type": "a mapping",
    "dict_type": "a mapping",
}
_RANGE_WORDS = {
    "greater_than_equal": (">=", "ge"),
    "greater_than": (">", "gt"),
    "less_than_equal": ("<=", "le"),
    "less_than": ("<", "lt"),
}


def read_text(path: Path, what: str) -> str:
    """The file's text, or a ProfileError that says why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise ProfileError(f"{what} is a directory, not a file", path=path) from None
    except FileNotFoundError:
        raise ProfileError(f"{what} not found", path=path) from None
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{what} is not UTF-8 text ({exc.reason} at byte {exc.start})", path=path) from None
    except OSError as exc:
        raise ProfileError(f"cannot read {what}: {exc.strerror}", path=path) from None


def _key_lines(node: yaml.Node | None, prefix: tuple[Any, ...] = (), source: Path | None = None,
               ) -> dict[tuple[Any, ...], int]:
    """Map each key path (``("scores", "rag")``, ``("failures", 1)``) to its 1-based line.

    A key given twice in one mapping is an error: YAML would silently keep the last value."""
    lines: dict[tuple[Any, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = (*prefix, key_node.value)
            line = key_node.start_mark.line + 1
            if path in lines:
                key = ".".join(str(p) for p in path)
                raise ProfileError(f"duplicate key {key!r} (first given on line {lines[path]})", path=source,
                                   line=line)
            lines[path] = line
            lines.update(_key_lines(value_node, path, source))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            path = (*prefix, index)
            lines[path] = item.start_mark.line + 1
            lines.update(_key_lines(item, path, source))
    return lines


def _parse_document(text: str, path: Path) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """Parse YAML (JSON is read by the JSON parser for its exact error positions). Both go through
    :mod:`ftrouter.safeyaml` first, so an alias bomb or an unreadable number is refused before the
    line map below walks the tree."""
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
        except json.JSONDecodeError as exc:
            raise ProfileError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from None
        except ValueError as exc:  # an integer of more than 4,300 digits, NaN or Infinity
            raise ProfileError(f"not valid JSON: {exc}", path=path) from None
        except RecursionError:
            raise ProfileError("not valid JSON: nested too deeply", path=path) from None
        try:
            return doc, _key_lines(safeyaml.compose(text), source=path)
        except safeyaml.YamlProblem:  # valid JSON that PyYAML cannot compose: no line numbers, still fine
            return doc, {}
    try:
        parsed = safeyaml.load(text)
    except safeyaml.YamlProblem as exc:
        raise ProfileError(exc.message, path=path, line=exc.line) from None
    return parsed.data, _key_lines(parsed.node, source=path)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a profile can hold")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400
        raise ValueError(f"{text} is not a finite number")
    return value


def _allowed(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The allowed keys of the mapping that ``loc`` points into."""
    current: type[BaseModel] = model
    for part in loc[:-1]:
        field = current.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            current = annotation
    return list(current.model_fields)


def _allowed_values(model: type[BaseModel], key: str) -> str:
    field = model.model_fields.get(key)
    args = get_args(field.annotation) if field else ()
    literal = next((get_args(a) for a in args if get_args(a)), args)
    values = [str(a) for a in literal if isinstance(a, str)]
    return f" (allowed values: {', '.join(values)})" if values else ""


def _describe(error: Any, model: type[BaseModel]) -> str:
    """One readable sentence for one pydantic error."""
    loc = tuple(error["loc"])
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "profile"
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed(model, loc)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown key {key!r}{hint}; allowed keys: {', '.join(allowed)}"
    if kind == "missing":
        return f"missing required key {key!r}{_allowed_values(model, key)}"
    if kind == "literal_error":
        return f"{key}: {error['input']!r} is not allowed; allowed values: {error['ctx']['expected']}"
    if kind in _TYPE_WORDS:
        return f"{key}: expected {_TYPE_WORDS[kind]}, got {error['input']!r}"
    if kind in _RANGE_WORDS:
        symbol, ctx_key = _RANGE_WORDS[kind]
        return f"{key}: {error['input']!r} is out of range; it must be {symbol} {error['ctx'][ctx_key]}"
    if kind == "string_too_short":
        return f"{key}: must not be empty"
    message = str(error["msg"]).removeprefix("Value error, ")
    return message if not loc else f"{key}: {message}"


def _validate(model: type[BaseModel], doc: Any, path: Path, lines: dict[tuple[Any, ...], int]) -> Any:
    if not isinstance(doc, dict):
        got = "an empty file" if doc is None else type(doc).__name__
        raise ProfileError(f"expected a mapping of keys (task, task_type, ...), got {got}", path=path, line=1)
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        errors = sorted(exc.errors(), key=lambda e: lines.get(tuple(e["loc"]), 0))
        problems = [(_line_of(tuple(e["loc"]), lines), _describe(e, model)) for e in errors]  # every one, in order
        line, message = problems[0]
        raise ProfileError(message, path=path, line=line, problems=problems) from None


def _line_of(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int | None:
    """The line of the key at ``loc``, else of its top-level key (a missing key has no line of its own)."""
    return lines.get(loc) or (lines.get(loc[:1]) if loc else None)


def parse_profile(text: str, path: Path) -> TaskProfile:
    """Parse and validate profile text; ``path`` is used for messages and to spot JSON."""
    doc, lines = _parse_document(text, path)
    profile: TaskProfile = _validate(TaskProfile, doc, path, lines)
    return profile


def load_profile(path: str | Path) -> TaskProfile:
    """Read and validate a task profile file."""
    path = Path(path)
    return parse_profile(read_text(path, "task profile"), path)


class EvalScores(Scores):
    """The ``--eval`` file: measured baseline scores (and optionally the eval set's size)."""

    eval_set_size: int | None = Field(default=None, ge=0)


def load_eval_scores(path: str | Path) -> EvalScores:
    """Read an eval-scores file: ``{prompting: 0.71, rag: 0.8, target: 0.95, eval_set_size: 120}``."""
    path = Path(path)
    doc, lines = _parse_document(read_text(path, "eval scores file"), path)
    if isinstance(doc, dict) and isinstance(doc.get("scores"), dict):  # also accept a profile-style block
        doc = {**doc.pop("scores"), **doc}
    scores: EvalScores = _validate(EvalScores, doc, path, lines)
    return scores


def apply_eval_scores(profile: TaskProfile, scores: EvalScores) -> TaskProfile:
    """The profile with measured scores (and eval set size) from ``--eval`` taking precedence."""
    merged = profile.scores.model_copy(
        update={k: v for k, v in scores.model_dump(exclude={"eval_set_size"}).items() if v is not None}
    )
    update: dict[str, Any] = {"scores": merged}
    if scores.eval_set_size is not None:
        update["eval_set_size"] = scores.eval_set_size
    return profile.model_copy(update=update)
