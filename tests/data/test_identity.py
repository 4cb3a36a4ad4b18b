"""``session_key`` (the cheap duplicate key of ``data inspect``) tells examples apart exactly as
``example_key`` does."""

from __future__ import annotations

from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from ftrouter.data.canonical import Example, Message, ToolCall
from ftrouter.data.identity import example_key, session_key

# small alphabets, so that equal and nearly equal examples are drawn often
texts = st.sampled_from(["", "hi", "Hi", "hi ", "a b", "\u00e9"]) | st.none()
weights = st.sampled_from([None, 0.0, 1.0, 0, 1, True, False])
calls = st.none() | st.lists(st.builds(ToolCall, st.sampled_from(["f", "g"]), st.sampled_from(["{}", '{"a":1}']),
                                       st.sampled_from([None, "c1"])), max_size=2)
messages = st.builds(Message, st.sampled_from(["system", "user", "assistant", "tool"]), texts,
                     st.sampled_from([None, "bob"]), weights, calls, st.sampled_from([None, "c1"]))
examples = st.builds(Example, st.lists(messages, min_size=1, max_size=3),
                     st.none() | st.just([{"type": "function", "function": {"name": "f"}}]),
                     st.none() | st.lists(messages, max_size=1), st.none(),
                     st.dictionaries(st.sampled_from(["id", "label"]), st.integers(0, 2)), st.integers(0, 9))


@settings(max_examples=150, deadline=None)
@given(st.lists(examples, min_size=2, max_size=6))
def test_session_key_groups_examples_like_example_key(batch: list[Example]) -> None:
    for a, b in combinations(batch, 2):
        assert (session_key(a) == session_key(b)) == (example_key(a) == example_key(b)), (a, b)


def test_metadata_and_line_do_not_count_but_weights_types_do() -> None:
    def ex(weight: float | None, **kw: object) -> Example:
        return Example([Message("user", "q"), Message("assistant", "a", weight=weight)], **kw)  # type: ignore[arg-type]

    assert session_key(ex(None, meta={"id": 1}, line=3)) == session_key(ex(None, meta={"id": 2}, line=9))
    assert session_key(ex(1.0)) != session_key(ex(None))
    assert session_key(ex(1)) != session_key(ex(1.0))  # example_key tells 1 from 1.0 apart: so must this
