"""No core module names a backend (issue #14): the core keeps the logic, each plugin keeps the facts (its
profile and its catalog.yaml). A backend's name written as a string in ``ftrouter/`` (``backend ==
"local"``, ``estimate_training("local", ...)``, a tie order, a ``Literal``) is a backend fact in the wrong
place. The scan reads every string constant of ``ftrouter/**/*.py`` (docstrings and comments aside: words
in prose and help text are fine) and fails naming ``file:line`` for each one that is exactly a backend's
name, except in the few tables listed in ALLOWED."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftrouter.profiles import profile_names

ROOT = Path(__file__).resolve().parent.parent
BUILT_IN_NAMES = frozenset({"openai", "vertex", "local", "together"})  # also when a plugin is not installed

# (module, top-level name) -> why a backend's name may appear there
ALLOWED: dict[tuple[str, str], str] = {
    ("ftrouter/backends.py", "BUILTIN_BACKENDS"): "the one table of the built-in plugins (adapter, install hint)",
    ("ftrouter/jobs/imports.py", "BUILTIN_IMPORTERS"): "the built-in plugins' job importers, by backend name",
    ("ftrouter/eval/specs.py", "BUILTIN_ANSWERERS"): "the built-in plugins' eval answerers, by model-spec prefix",
    ("ftrouter/data/formats/__init__.py", "FORMAT_NAMES"): "'openai' names a data format (OpenAI chat JSONL)",
    ("ftrouter/data/formats/openai.py", "OpenAIChat"): "the reader of that data format",
    ("ftrouter/advise/profile.py", "ModelFamily"): "'openai' names a model family a task profile may require",
}


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring constants (module, classes, functions)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def _owner(statement: ast.stmt) -> str:
    """The top-level name a module statement defines (a table, a type alias, a function or class)."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return statement.name
    targets = statement.targets if isinstance(statement, ast.Assign) else (
        [statement.target] if isinstance(statement, ast.AnnAssign) else [])
    return ",".join(t.id for t in targets if isinstance(t, ast.Name))


def backend_names_in(source: str, module: str, names: frozenset[str]) -> Iterator[tuple[int, str]]:
    """(line, name) of each string constant in ``source`` that is exactly one of ``names``, outside the
    docstrings and the ALLOWED tables of ``module``."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    for statement in tree.body:
        if (module, _owner(statement)) in ALLOWED:
            continue
        for node in ast.walk(statement):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names
                    and id(node) not in docstrings):
                yield node.lineno, node.value


def core_violations(root: Path, names: frozenset[str]) -> list[str]:
    found = []
    for path in sorted((root / "ftrouter").rglob("*.py")):
        module = path.relative_to(root).as_posix()
        hits = sorted(backend_names_in(path.read_text("utf-8"), module, names))
        found += [f"{module}:{line}: {name!r}" for line, name in hits]
    return found


def test_no_core_module_names_a_backend() -> None:
    names = BUILT_IN_NAMES | set(profile_names())
    violations = core_violations(ROOT, frozenset(names))
    assert not violations, ("backend names in core modules (ask ftrouter.profiles.profile_for(name) for the fact "
                            "instead, or keep it in the plugin):\n" + "\n".join(violations))


@pytest.mark.parametrize("code", [
    'if backend == "local":\n    pass\n',
    'BACKENDS = ("local", "vertex", "openai")\n',
    'def f():\n    return estimate_training("local", example_tokens=[1])\n',
    'from typing import Literal\nName = Literal["openai", "vertex"]\n',
])
def test_the_scan_finds_a_backend_name_used_as_a_value(code: str) -> None:
    assert list(backend_names_in(code, "ftrouter/x.py", BUILT_IN_NAMES))


@pytest.mark.parametrize("code", [
    '"""Runs on local, vertex or openai."""\n',
    'def f():\n    """Names "local" in prose."""\n',
    'HELP = "local, vertex, or a plugin backend\'s name."\n',
    'SPEC = "openai:gpt-4.1"\n',
])
def test_the_scan_leaves_prose_and_help_text_alone(code: str) -> None:
    assert not list(backend_names_in(code, "ftrouter/x.py", BUILT_IN_NAMES))


def test_the_allowed_tables_still_exist() -> None:
    """An allow-list entry whose table was renamed or removed would silently allow nothing: keep it exact."""
    for module, owner in ALLOWED:
        tree = ast.parse((ROOT / module).read_text("utf-8"))
        assert owner in {_owner(statement) for statement in tree.body}, f"{module} has no {owner}"
