"""The one way ftrouter reads a YAML file a user wrote (profiles, eval scores, catalogs, recipes).

``yaml.safe_load`` alone is not enough for files that come from someone else:

* an alias bomb ("billion laughs": ``a: &a [x, x]``, ``b: &b [*a, *a]``, ...) is cheap for the
  constructor (it shares objects) but every pass that walks the node tree — the line-number maps the
  error messages need, pydantic's validation of the result — follows each alias and runs for ever;
* an integer of more than 4,300 digits makes Python's ``int()`` raise ``ValueError`` (not a YAML
  error), which escaped as exit 70;
* ``.inf`` / ``.nan`` are valid YAML floats that no setting, price or score here can mean.

:func:`load` composes the document once, measures what its aliases expand to in time linear in the
file, checks number scalars, and only then constructs the Python value from the same nodes. Every
problem is raised as :class:`YamlProblem` (message + 1-based line); each caller turns it into its own
typed error (``ProfileError``, ``CatalogError``, ``UsageError``), so the exit code stays the caller's.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any

import yaml

# libyaml when present: the pure-Python parser alone costs ~0.25 s on the decision rules, which would
# blow the CLI's start-up budget (`ftrouter advise` must answer in well under half a second).
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# What the nodes of a document may expand to through aliases before it is refused. Real files here
# are a few thousand nodes; a billion-laughs file of 1 KB expands to billions.
MAX_EXPANDED_NODES = 200_000
# Python refuses to turn longer digit strings into an int (sys.int_info.default_max_str_digits).
MAX_INT_DIGITS = getattr(sys.int_info, "default_max_str_digits", 4300) or 4300

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"


class YamlProblem(Exception):
    """Why a YAML text was refused, and where (1-based line, when known)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class Document:
    """A parsed document: its Python value and the node tree it came from (for line numbers)."""

    data: Any
    node: yaml.Node | None


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _check_scalar(node: yaml.ScalarNode, key: str | None) -> None:
    what = f"{key}: " if key else ""
    if node.tag == _INT_TAG:
        digits = sum(ch.isdigit() for ch in node.value)
        if digits > MAX_INT_DIGITS:
            raise YamlProblem(f"{what}a number of {digits} digits is too large (at most {MAX_INT_DIGITS})",
                              _line(node))
    elif node.tag == _FLOAT_TAG and not math.isfinite(_float(node.value)):
        raise YamlProblem(f"{what}{node.value!r} is not a finite number", _line(node))


def _float(text: str) -> float:
    """The value of a YAML float scalar, as far as finiteness goes (``.inf``, ``.NaN``, ``1.0e+400``)."""
    bare = text.replace("_", "").lower()
    if bare.lstrip("+-") in (".inf", ".nan"):
        return math.inf
    try:
        return float(bare)
    except ValueError:  # YAML 1.1 forms Python does not read (sexagesimal "1:30.5"): finite anyway
        return 0.0


class _Measure:
    """Expanded size of each node (aliases counted every time they are used), memoised by identity,
    so the measure itself is linear in the number of distinct nodes."""

    def __init__(self) -> None:
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()

    def size(self, node: yaml.Node, key: str | None = None) -> int:
        ident = id(node)
        if ident in self.sizes:
            return self.sizes[ident]
        if ident in self.open:
            raise YamlProblem("an alias refers to the node that contains it (a recursive alias)", _line(node))
        self.open.add(ident)
        total = 1
        if isinstance(node, yaml.ScalarNode):
            _check_scalar(node, key)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(self.size(item, key) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                name = key_node.value if isinstance(key_node, yaml.ScalarNode) else key
                total += self.size(key_node, key) + self.size(value_node, str(name))
        self.open.discard(ident)
        self.sizes[ident] = min(total, sys.maxsize)
        return total


def _yaml_problem(exc: yaml.YAMLError) -> YamlProblem:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]  # one line, not PyYAML's excerpt
    return YamlProblem(f"not valid YAML: {problem}", int(mark.line) + 1 if mark else None)


def compose(text: str) -> yaml.Node | None:
    """The document's node tree, refused when its aliases expand past :data:`MAX_EXPANDED_NODES` or a
    number cannot be read safely. Walking the returned tree is then bounded."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise _yaml_problem(exc) from None
    except RecursionError:
        raise YamlProblem("not valid YAML: nested too deeply") from None
    if node is None:
        return None
    try:
        expanded = _Measure().size(node)
    except RecursionError:
        raise YamlProblem("not valid YAML: nested too deeply") from None
    if expanded > MAX_EXPANDED_NODES:
        raise YamlProblem(f"aliases expand this document to {expanded:,} values (more than "
                          f"{MAX_EXPANDED_NODES:,}); an alias bomb? write the values out instead", 1)
    return node


def load(text: str) -> Document:
    """Parse ``text`` safely (see the module docstring); raises :class:`YamlProblem`."""
    node = compose(text)
    if node is None:
        return Document(None, None)
    loader = _Loader("")
    try:
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _yaml_problem(exc) from None
    except ValueError as exc:  # a value Python itself refuses; the checks above should catch them first
        raise YamlProblem(f"not valid YAML: {exc}", None) from None
    finally:
        loader.dispose()
    return Document(data, node)
