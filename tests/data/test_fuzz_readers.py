"""Hostile input never escapes the data engine as an internal error (exit 70) or a traceback.

Property-based: hypothesis writes files of random bytes and of format-shaped JSON whose every field may be
replaced by any JSON value (lists for roles, huge numbers, NaN, lone surrogates, deep nesting...), and
every reader entry point must either succeed or raise one of ftrouter's typed errors. Then the CLI, on
one file holding every known hostile line next to a good one: a per-line error, exit 1, the good line read.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftrouter.data import convert_file, inspect_file, split_file, validate_file
from ftrouter.data.formats import FORMAT_NAMES
from ftrouter.errors import FtrouterError

from .helpers import chat

SURROGATES = st.sampled_from(["y\ud800", "\udfff", "a\udc00b", "\ud83d"])
scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=2**64, max_value=10**40)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20) | SURROGATES)
junk = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                         max_size=3), max_leaves=8)


def maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The valid value most of the time, anything else otherwise."""
    return st.one_of(valid, valid, junk)


text = st.text(max_size=30) | SURROGATES
role = maybe(st.sampled_from(["system", "user", "assistant", "tool", "function", "model", "human", "gpt"]))
call = st.fixed_dictionaries({"id": maybe(st.text(max_size=5)), "type": maybe(st.just("function")),
                              "function": maybe(st.fixed_dictionaries({"name": maybe(text),
                                                                       "arguments": maybe(st.just('{"a": 1}'))}))})
openai_message = st.fixed_dictionaries(
    {"role": role, "content": maybe(text)},
    optional={"tool_calls": maybe(st.lists(maybe(call), max_size=2)), "tool_call_id": maybe(text),
              "weight": maybe(st.sampled_from([0, 1])), "name": maybe(text)})
messages = maybe(st.lists(maybe(openai_message), max_size=4))
part = maybe(st.one_of(st.fixed_dictionaries({"text": maybe(text)}),
                       st.fixed_dictionaries({"functionCall": maybe(st.fixed_dictionaries(
                           {"name": maybe(text), "args": maybe(st.dictionaries(st.text(max_size=3), junk))}))}),
                       st.fixed_dictionaries({"functionResponse": maybe(st.fixed_dictionaries(
                           {"name": maybe(text), "response": junk}))})))
FORMAT_OBJECTS = [
    st.fixed_dictionaries({"messages": messages}, optional={"tools": junk, "id": junk}),
    st.fixed_dictionaries({"input": maybe(st.fixed_dictionaries({"messages": messages})),
                           "preferred_output": maybe(st.lists(maybe(openai_message), max_size=2)),
                           "non_preferred_output": maybe(st.lists(maybe(openai_message), max_size=2))}),
    st.fixed_dictionaries({"prompt": maybe(text), "completion": maybe(text)}),
    st.fixed_dictionaries({"instruction": maybe(text), "output": maybe(text)},
                          optional={"input": maybe(text), "system": maybe(text), "history": junk}),
    st.fixed_dictionaries({"conversations": maybe(st.lists(maybe(st.fixed_dictionaries(
        {"from": maybe(st.sampled_from(["human", "gpt", "system", "function_call", "observation"])),
         "value": maybe(text)})), max_size=4))}, optional={"system": maybe(text), "tools": junk}),
    st.fixed_dictionaries({"contents": maybe(st.lists(maybe(st.fixed_dictionaries(
        {"role": role, "parts": maybe(st.lists(part, max_size=3))})), max_size=4))},
        optional={"systemInstruction": junk, "tools": maybe(st.lists(maybe(st.fixed_dictionaries(
            {"functionDeclarations": maybe(st.lists(junk, max_size=2))})), max_size=2))}),
    st.fixed_dictionaries({"chosen": maybe(st.one_of(text, messages)), "rejected": maybe(st.one_of(text, messages))},
                          optional={"prompt": maybe(st.one_of(text, messages)), "tools": junk}),
    junk,
]


def deep(depth: int) -> str:
    return '{"messages": ' + "[" * depth + "]" * depth + "}"


def raw_lines(objects: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """Lines of one format's objects, with the odd line that is not (json.dumps writes NaN, Infinity and
    \\ud800 escapes: what the json module accepts and orjson does not)."""
    return st.one_of(
        objects.map(lambda o: json.dumps(o).encode()), objects.map(lambda o: json.dumps(o).encode()),
        st.binary(max_size=40),
        st.integers(min_value=100, max_value=3000).map(lambda d: deep(d).encode()),
        st.just(b'{"prompt": "a", "completion": "b", "n": ' + b"9" * 5000 + b"}"),
    )


def engine_calls(path: Path, out: Path) -> None:
    """Every reader entry point on ``path``; only ftrouter's typed errors may come out."""
    calls = [lambda: inspect_file(path), lambda: split_file(path, out / "split", val=0.5)]
    calls += [lambda b=b: validate_file(path, backend=b) for b in ("openai", "vertex", "local")]
    calls += [lambda t=t: convert_file(path, out / f"out.{t}.jsonl", t) for t in FORMAT_NAMES]
    for call_ in calls:
        with contextlib.suppress(FtrouterError):  # a typed error is a clean exit 1 or 2
            call_()


@pytest.mark.parametrize("objects", FORMAT_OBJECTS, ids=[*FORMAT_NAMES, "any"])
def test_no_file_escapes_as_an_internal_error(objects: st.SearchStrategy[Any], tmp_path: Path) -> None:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(lines=st.lists(raw_lines(objects), min_size=1, max_size=5))
    def check(lines: list[bytes]) -> None:
        path = tmp_path / "fuzz.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        engine_calls(path, tmp_path)

    check()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_random_bytes_never_escape(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "bytes.jsonl"
    path.write_bytes(data)
    engine_calls(path, tmp_path)


GOOD = json.dumps(chat("a question", "an answer"))
HOSTILE = [  # (line, code)
    ('{"messages": [{"role": "user", "content": "y\\ud800"}, {"role": "assistant", "content": "ok"}]}',
     "invalid_unicode"),
    ('{"messages": [{"role": ["user"], "content": "y"}, {"role": "assistant", "content": "ok"}]}', "unknown_role"),
    ('{"contents": [{"role": ["user"], "parts": [{"text": "y"}]}]}', "mixed_formats"),
    (deep(1000), "too_deep"),
    (deep(100_000), "too_deep"),
    ('{"prompt": "a", "completion": "b", "n": ' + "9" * 5000 + "}", "invalid_json"),
]


@pytest.fixture
def hostile_file(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join([line for line, _ in HOSTILE] + [GOOD]) + "\n", encoding="utf-8")
    return path


def test_each_hostile_line_is_its_own_error_and_the_good_line_reads(hostile_file: Path) -> None:
    report = inspect_file(hostile_file)
    assert "integer of 5,000 digits" in report.problems[-1].message
    assert report.examples >= 1 and report.tokens.min > 0  # the good line (a broken one may count as well)
    assert not [p for p in report.problems if p.line == len(HOSTILE) + 1]
    by_line = {p.line: p.code for p in report.problems if p.severity == "error"}
    assert by_line == {i: code for i, (_, code) in enumerate(HOSTILE, start=1)}


@pytest.mark.parametrize("command", [
    "data inspect {file}", "data validate --backend openai {file}", "data convert --to gemini -o {out} {file}",
    "data split -o {out} {file}",
    "submit --backend openai --model gpt-4.1-mini-2025-04-14 --dry-run --data {file}",
])
def test_cli_reports_hostile_lines_with_exit_1(command: str, hostile_file: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    args = [a.format(file=hostile_file, out=tmp_path / "out") for a in command.split()]
    code, out, err = run_cli(capsys, *args)
    assert code == 1, (out, err)
    assert "internal error" not in err and "Traceback" not in err
    assert f"{hostile_file}:1:" in out + err  # FILE:LINE of the first hostile line
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_a_hundred_thousand_messages_in_one_example(tmp_path: Path) -> None:
    turns = [{"role": r, "content": f"turn {i}"} for i in range(50_000) for r in ("user", "assistant")]
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps({"messages": turns}) + "\n" + GOOD + "\n", encoding="utf-8")
    report = inspect_file(path)
    assert report.examples == 2 and report.messages["max"] == 100_000 and report.errors == 0
