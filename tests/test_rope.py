"""RoPE scaling values (ftrouter.rope): what a recipe or an option may say, and the window it covers."""

from __future__ import annotations

import pytest

from ftrouter.errors import UsageError
from ftrouter.rope import RopeScaling, check_training_length, parse_rope_scaling


@pytest.mark.parametrize(("value", "expected"), [
    ("linear:4", RopeScaling(type="linear", factor=4)),
    ("dynamic:2.5", RopeScaling(type="dynamic", factor=2.5)),
    ("yarn:4:32768", RopeScaling(type="yarn", factor=4, original_max_position_embeddings=32768)),
    ({"type": "yarn", "factor": 2}, RopeScaling(type="yarn", factor=2)),
    ({"rope_type": "linear", "factor": 8}, RopeScaling(type="linear", factor=8)),  # transformers' key name
    ("none", None), (None, None),
])
def test_accepted_forms(value: object, expected: RopeScaling | None) -> None:
    assert parse_rope_scaling(value) == expected


@pytest.mark.parametrize(("value", "message"), [
    ("ntk:2", "unknown RoPE scaling type 'ntk' (known: linear, dynamic, yarn)"),
    ({"type": "longrope", "factor": 2}, "unknown RoPE scaling type 'longrope'"),
    ("linear:1", "factor must be above 1 (got 1)"),
    ({"type": "dynamic", "factor": 0.5}, "factor must be above 1 (got 0.5)"),
    ("linear:4:2048", "original_max_position_embeddings applies to yarn only, not linear"),
    ("linear", "'linear' is not TYPE:FACTOR"),
    ("linear:four", "factor: Input should be a valid number"),
    ({"type": "linear", "factor": 2, "scale": 3}, "scale: Extra inputs are not permitted"),
    (4, "expected a mapping {type, factor} or TYPE:FACTOR, got int"),
])
def test_bad_values_say_what_is_wrong(value: object, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")
                       .replace("{", r"\{").replace("}", r"\}")):
        parse_rope_scaling(value)


def test_the_window_is_the_native_one_or_yarns_original_times_the_factor() -> None:
    assert RopeScaling(type="linear", factor=4).window(2048) == 8192
    assert RopeScaling(type="yarn", factor=4, original_max_position_embeddings=4096).window(32768) == 16384
    assert RopeScaling(type="yarn", factor=4).label() == "yarn x4"
    assert RopeScaling(type="yarn", factor=2, original_max_position_embeddings=4096).as_spec() == "yarn:2:4096"


def test_a_length_past_the_window_is_refused_without_scaling() -> None:
    with pytest.raises(UsageError, match=r"max_length 1,500 is beyond m's native context of 512 tokens .*"
                       r"rope_scaling=linear:3"):
        check_training_length(1500, 512, None, model="m")
    assert check_training_length(512, 512, None, model="m") == (512, [])


def test_the_default_length_is_lowered_to_the_window_instead() -> None:
    length, warnings = check_training_length(1024, 512, None, model="m", length_was_set=False)
    assert length == 512 and warnings == ["max_length lowered to 512, m's native context (max_position_embeddings)"]


def test_a_scaling_that_covers_the_length_passes_and_one_that_does_not_warns() -> None:
    assert check_training_length(2048, 512, RopeScaling(type="linear", factor=4), model="m") == (2048, [])
    length, warnings = check_training_length(3000, 512, RopeScaling(type="dynamic", factor=4), model="m")
    assert length == 3000
    assert warnings == ["max_length 3,000 is beyond the 2,048 tokens that RoPE scaling dynamic x4 covers on m "
                        "(native 512): positions past 2,048 are extrapolated; use a factor of 6 or more"]


def test_an_unknown_window_is_not_checked() -> None:
    assert check_training_length(100_000, None, None, model="m") == (100_000, [])
