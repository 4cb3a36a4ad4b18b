"""The hyperparameter mapping takes each target's facts from its profile (``MigrationTarget``): how it takes
a batch, which learning rates it documents, and why a rate is kept; a backend that states nothing gets the
neutral defaults (batch carried, its own learning rate kept)."""

from __future__ import annotations

from ftrouter.migrate.mapping import map_hyperparameters
from ftrouter.profiles import profile_for

OPENAI_JOB = {"n_epochs": 2, "batch_size": 16, "learning_rate_multiplier": 1.8}


def _rows(backend: str, **kwargs: str) -> dict[str, dict]:
    return {row["param"]: row for row in map_hyperparameters(OPENAI_JOB, backend=backend, **kwargs).rows}


def test_a_per_device_target_splits_the_batch_and_sets_its_documented_rate() -> None:
    facts = profile_for("local").migration
    mapping = map_hyperparameters(OPENAI_JOB, method="sft", backend="local", adapter="qlora")
    per_device = facts.per_device_batch
    assert mapping.hyperparameters["batch_size"] == per_device
    assert mapping.options["gradient_accumulation_steps"] == 16 // per_device
    assert mapping.hyperparameters["learning_rate"] == facts.learning_rates["sft"]["qlora"]
    from ftrouter_local.config import TrainConfig  # the trainer's own default is the rate migrate sets

    assert TrainConfig(model="m", adapter="qlora").resolved_learning_rate == facts.learning_rates["sft"]["qlora"]


def test_a_target_without_a_batch_setting_says_why_and_keeps_its_rate() -> None:
    rows = _rows("vertex", method="sft")
    assert rows["batch_size"]["to"] is None and "Google chooses it" in rows["batch_size"]["why"]
    assert rows["learning_rate_multiplier"]["to"] is None
    assert "learningRateMultiplier" in rows["learning_rate_multiplier"]["why"]


def test_a_profile_that_states_nothing_carries_the_batch_and_keeps_its_own_rate() -> None:
    assert profile_for("together").migration == type(profile_for("together").migration)()  # all defaults
    rows = _rows("together", method="sft")
    assert rows["batch_size"]["to"] == 16 and rows["batch_size"]["why"].startswith("carried")
    assert rows["learning_rate_multiplier"]["to"] is None
    assert "the together backend's default learning rate is kept" in rows["learning_rate_multiplier"]["why"]
