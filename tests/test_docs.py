"""The documentation cannot drift from the code: the generated reference pages are fresh, and every
``ftrouter ...`` command shown in the README and docs/ names a real command and real flags."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli

from ftrouter.docs_reference import root_command, stale_pages

REPO = Path(__file__).resolve().parent.parent
DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
_CODE_BLOCK = re.compile(r"```(?:bash|sh|console|shell)?\n(.*?)```", re.S)
_INLINE = re.compile(r"`(ftrouter [^`]+)`")
_FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def _commands_in(text: str) -> list[str]:
    found = []
    for block in _CODE_BLOCK.findall(text):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.strip().removeprefix("$ ")
            if line.startswith("ftrouter "):
                found.append(line)
    found += _INLINE.findall(text)
    return found


def _documented() -> list[tuple[str, str]]:
    return [(str(path.relative_to(REPO)), command) for path in DOC_FILES
            for command in _commands_in(path.read_text(encoding="utf-8"))]


def _tokens(line: str) -> list[str]:
    # a comment or a shell pipe ends the command; `a|b` placeholders and [optional] brackets are words
    text = re.split(r"\s#\s|\s\|\s", f"{line} ")[0].replace("|", " ").replace("[", " ").replace("]", " ")
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote inside a placeholder: plain words are enough here
        return text.split()


def _resolve(tokens: list[str]) -> tuple[Any, list[str], list[str]]:
    """The command a line names, its path, and the rest of the tokens."""
    command: Any = root_command()
    path = ["ftrouter"]
    rest = tokens[1:]
    while rest and hasattr(command, "commands") and rest[0] in command.commands:
        command = command.commands[rest[0]]
        path.append(rest.pop(0))
    return command, path, rest


def _flags(text: str) -> list[str]:
    # a comment, a pipe or a redirection ends the command; placeholders such as [--x N] or a|b stay
    text = re.split(r"\s(?:#|\||>|&&|;)\s", f" {text} ")[0]
    return _FLAG.findall(text)


def test_the_docs_show_commands() -> None:
    assert len(_documented()) > 60


def problem_with(line: str) -> str | None:
    """What is wrong with a documented command line (None when it names a real command and real flags)."""
    command, path, rest = _resolve(_tokens(line))
    known = {opt for param in command.params for opt in (*getattr(param, "opts", ()),
                                                         *getattr(param, "secondary_opts", ()))} | {"--help"}
    if hasattr(command, "commands") and rest and not rest[0].startswith("-") and not rest[0].isupper():
        return f"{rest[0]!r} is not a subcommand of {' '.join(path)}"
    unknown = [flag for flag in _flags(" ".join(rest)) if flag not in known]
    return f"{' '.join(path)} has no {', '.join(unknown)}" if unknown else None


@pytest.mark.parametrize(("where", "line"), _documented(), ids=lambda v: v if "/" in v or v.endswith(".md") else None)
def test_every_documented_command_exists_with_its_flags(where: str, line: str) -> None:
    assert problem_with(line) is None, f"{where}: `{line}`: {problem_with(line)}"


@pytest.mark.parametrize(("line", "problem"), [
    ("ftrouter data inspect f.jsonl --no-such-flag", "ftrouter data inspect has no --no-such-flag"),
    ("ftrouter data nosuch f.jsonl", "'nosuch' is not a subcommand of ftrouter data"),
    ("ftrouter frobnicate", "'frobnicate' is not a subcommand of ftrouter"),
    ("ftrouter data inspect FILE [--model M] | head", None),
])
def test_the_checker_catches_unknown_commands_and_flags(line: str, problem: str | None) -> None:
    assert problem_with(line) == problem


def test_every_documented_command_answers_help(capsys: pytest.CaptureFixture[str]) -> None:
    paths = set()
    for _, line in _documented():
        _, path, _ = _resolve(_tokens(line))
        paths.add(tuple(path[1:]))
    for path in sorted(paths):
        code, out, err = run_cli(capsys, *path, "--help")
        assert code == 0 and "Usage" in out, (path, err)


def test_generated_reference_pages_are_fresh() -> None:
    assert stale_pages(REPO / "docs" / "reference") == [], "run: python -m ftrouter.docs_reference"
