"""The stable problem codes the data engine reports, with their default severity.

A backend's rules may raise a warning to an error (``ftrouter.data.validate``); the code itself never
changes meaning. docs/reference/problem-codes.md is generated from this table; tests cover every code.
"""

from __future__ import annotations

from ftrouter.data.canonical import Problem, Severity

CODES: dict[str, tuple[Severity, str]] = {
    # the file and its lines
    "empty_file": ("error", "the file holds no example"),
    "binary_file": ("error", "the file is binary, not JSON Lines"),
    "invalid_utf8": ("error", "a line has bytes that are not UTF-8"),
    "bom": ("warning", "the file starts with a UTF-8 byte-order mark (ignored)"),
    "blank_line": ("warning", "a blank line (skipped)"),
    "line_too_long": ("error", "a line longer than the reader accepts (skipped)"),
    "invalid_json": ("error", "a line that is not valid JSON"),
    "invalid_unicode": ("error", "a string with a lone surrogate escape such as \\ud800 (not valid Unicode text)"),
    "too_deep": ("error", "JSON nested deeper than the reader accepts (128 levels)"),
    "truncated_line": ("error", "the last line is cut off: no newline and not valid JSON"),
    "not_object": ("error", "a line whose JSON value is not an object"),
    # format
    "unknown_format": ("error", "a line that matches no known format"),
    "mixed_formats": ("error", "a line in another format than the rest of the file"),
    "missing_messages": ("error", "the conversation (messages/contents/conversations/...) is missing or not a list"),
    "unknown_key": ("warning", "a key the format does not define (kept as metadata at top level)"),
    # turns
    "unknown_role": ("error", "a turn with a missing or unknown role"),
    "missing_content": ("error", "a turn without content (and without tool calls)"),
    "non_string_content": ("error", "a turn whose content is not text"),
    "empty_content": ("warning", "a turn whose content is empty or whitespace"),
    "no_assistant": ("error", "no assistant turn to train on"),
    "last_not_assistant": ("warning", "the last turn is not from the assistant (trailing turns are not trained)"),
    "role_order": ("error", "turns out of the order the target backend requires"),
    "malformed_tool_call": ("error", "a tool call without a name, or whose arguments are not a JSON object string"),
    "missing_tool_call_id": ("error", "a tool result without tool_call_id (it answers no call)"),
    "unknown_tool_call_id": ("error", "a tool result whose tool_call_id matches no open call of the turn before it"),
    "unanswered_tool_call": ("error", "a tool call that gets no tool result before the next turn"),
    "invalid_weight": ("error", "a weight that is not 0/1, or a weight on a non-assistant turn"),
    "invalid_preference": ("error", "a preference example without exactly one preferred and one non-preferred reply"),
    # labelled data (classification, token classification, embeddings: ftrouter.data.labelled)
    "missing_field": ("error", "a labelled example without a required field, or with a field of the wrong type"),
    "invalid_label": ("error", "a class label that is not a non-empty string or an integer"),
    "length_mismatch": ("error", "a token-classification example with a different number of tokens and tags"),
    "invalid_bio": ("error", "a tag that is not O/B-TYPE/I-TYPE, or an I- tag that continues no entity of its type"),
    "label_only_in_val": ("warning", "a label of the validation file that the training file never shows"),
    # backend rules and whole-file checks
    "too_long": ("warning", "an example longer than the model's training limit (the provider truncates it)"),
    "too_few_examples": ("error", "fewer examples than the backend's minimum"),
    "too_many_val_examples": ("error", "a validation file larger than the backend accepts"),
    "duplicate": ("warning", "an exact duplicate of an earlier example"),
    "train_val_overlap": ("error", "validation examples that are exact copies of training examples (leakage)"),
    "train_val_near_duplicate": ("warning", "validation examples equal to training examples up to case, whitespace "
                                            "and punctuation"),
    "unsupported_method": ("error", "a training method the backend or model does not train with"),
    "wrong_method": ("error", "data of another kind than the method trains on (conversations vs preference pairs)"),
    "unsupported_feature": ("warning", "a feature the target backend does not carry (it is dropped)"),
    "no_tokenizer": ("warning", "no local tokenizer given: token counts are estimates"),
}


ONCE_PER_FILE = "reported once per file"  # marks problems reported at the first line only


def make_problem(code: str, line: int | None, message: str, severity: Severity | None = None) -> Problem:
    """A Problem with the code's default severity unless one is given."""
    default, _ = CODES[code]
    return Problem(line=line, code=code, severity=severity or default, message=message)


class ProblemSink:
    """Collects the problems of one line while it is parsed."""

    __slots__ = ("line", "problems", "reported")

    def __init__(self, line: int, reported: set[str] | None = None) -> None:
        self.line = line
        self.problems: list[Problem] = []
        self.reported = reported if reported is not None else set()  # shared by one file's lines

    def add_once(self, key: str, code: str, message: str) -> None:
        """Report a file-wide fact (e.g. an extra top-level field) at the first line that shows it."""
        if key not in self.reported:
            self.reported.add(key)
            self.add(code, message)

    def add(self, code: str, message: str, severity: Severity | None = None) -> None:
        self.problems.append(make_problem(code, self.line, message, severity))


# -- showing many problems ------------------------------------------------------------------------

LISTED_REPEATS = 5  # line numbers named when identical warnings collapse into one line


def group_repeated_warnings(entries: list[tuple[str, Problem]]) -> list[list[tuple[str, Problem]]]:
    """Entries in order; identical warnings (file, code, message) gathered under their first occurrence."""
    groups: list[list[tuple[str, Problem]]] = []
    index: dict[tuple[str, str, str], int] = {}
    for path, p in entries:
        if p.severity != "warning":
            groups.append([(path, p)])
            continue
        key = (path, p.code, p.message)
        if key in index:
            groups[index[key]].append((path, p))
        else:
            index[key] = len(groups)
            groups.append([(path, p)])
    return groups


def repeat_note(group: list[tuple[str, Problem]]) -> str:
    if len(group) == 1:
        return ""
    lines = [str(p.line) for _, p in group[1:LISTED_REPEATS + 1] if p.line is not None]
    more = ", ..." if len(group) > LISTED_REPEATS + 1 else ""
    return f" ({len(group)} times; also at line(s) {', '.join(lines)}{more})" if lines else f" ({len(group)} times)"


def render_collapsed(entries: list[tuple[str, Problem]]) -> list[str]:
    """One line per error; identical warnings (same file, code and message) collapse into one line with their
    count and first lines — 250 lines of the same Vertex weight warning say nothing more than one."""
    lines = []
    for group in group_repeated_warnings(entries):
        path, first = group[0]
        lines.append(first.render(path) + repeat_note(group))
    return lines
