"""The rule catalog is data: it loads, every rule is sourced, overrides change the advice, typos are errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftrouter.advise.conditions import FactTest, holds
from ftrouter.advise.facts import FACTS
from ftrouter.advise.rules import default_rules, load_rules
from ftrouter.errors import CatalogError

from .helpers import profile, run


def test_shipped_rules_load_and_each_has_a_source_a_date_and_a_reason() -> None:
    rules = default_rules()
    kinds = {r.kind for r in rules.rules}
    assert kinds == {"approach", "method", "backend", "step", "warning", "alternative"}
    assert len({r.name for r in rules.rules}) == len(rules.rules)
    for rule in rules.rules:
        assert rule.source.strip() and rule.reason.strip() and rule.as_of


def test_the_research_thresholds_are_in_the_catalog() -> None:
    rules = default_rules()
    assert rules.get("examples.too_few").when["examples"].lt == 20  # Google: 20 minimum
    assert rules.get("examples.few").when["examples"].lt == 50  # OpenAI: start with 50
    assert rules.get("eval.missing").when["eval_set_size"].lt == 20  # OpenAI: 20+ eval questions
    assert rules.get("backend.data_residency").effect == "exclude"


def _override(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "override.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_override_file_replaces_a_rule_and_changes_the_advice(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    p = profile(task_type="extraction", failures=["format"], examples=15, eval_set_size=0)
    assert run(p).recommendation == "prompting"
    override = _override(tmp_path, """
decision_rules:
  - name: examples.too_few
    kind: approach
    factor: curated examples
    when: {examples: {lt: 10}}
    effects: {finetune: -4}
    reason: "house rule: 10 examples are enough for us"
    source: "our own experiments"
    as_of: 2026-11-01
  - name: eval.missing
    kind: approach
    factor: eval set
    when: {eval_set_size: {lt: 0}}
    effects: {finetune: -3}
    reason: "never fires"
    source: "our own experiments"
    as_of: 2026-11-01
""")
    rules = load_rules((override,))
    assert rules.get("examples.too_few").source == "our own experiments"
    assert run(p, rules=rules).recommendation == "finetune"
    monkeypatch.setenv("FTROUTER_CATALOG", str(override))  # the same file via the environment
    assert load_rules().get("examples.too_few").when["examples"].lt == 10


@pytest.mark.parametrize(("rule", "message"), [
    ("when: {exampels: {lt: 3}}\n    effects: {finetune: 1}", "unknown fact 'exampels'"),
    ("when: {backend: {eq: local}}\n    effects: {finetune: 1}", "cannot read the backend fact 'backend'"),
    ("effects: {finetuning: 1}", "effects.finetuning"),
    ("when: {examples: {lower: 3}}\n    effects: {finetune: 1}", "when.examples.lower"),
    ("when: {examples: {}}\n    effects: {finetune: 1}", "needs at least one operator"),
    ("effects: {}", "needs 'effects'"),
])
def test_a_broken_override_rule_is_a_catalog_error_naming_the_rule(tmp_path: Path, rule: str, message: str) -> None:
    override = _override(tmp_path, f"""decision_rules:
  - name: my.rule
    kind: approach
    factor: mine
    {rule}
    reason: "mine"
    source: "me"
    as_of: 2026-11-01
""")
    with pytest.raises(CatalogError) as info:
        load_rules((override,))
    assert message in str(info.value)
    assert "my.rule" in str(info.value)


def test_a_reason_may_only_name_known_facts(tmp_path: Path) -> None:
    override = _override(tmp_path, """decision_rules:
  - {name: my.rule, kind: step, factor: x, reason: "see {nonsense}", source: me, as_of: 2026-11-01}
""")
    with pytest.raises(CatalogError, match="unknown fact 'nonsense'"):
        load_rules((override,))


def test_every_fact_a_shipped_rule_reads_is_declared() -> None:
    for rule in default_rules().rules:
        assert set(rule.when) <= set(FACTS)


class TestConditions:
    def test_unknown_values_never_match_except_missing(self) -> None:
        assert not FactTest(lt=5).holds(None)
        assert not FactTest(ne="x").holds(None)
        assert FactTest(missing=True).holds(None)
        assert not FactTest(missing=True).holds(3)
        assert FactTest(missing=False, ge=3).holds(3)

    def test_ranges_memberships_and_lists(self) -> None:
        assert FactTest(ge=20, lt=50).holds(20) and not FactTest(ge=20, lt=50).holds(50)
        assert FactTest.model_validate({"in": ["weekly", "daily"]}).holds("daily")
        assert FactTest(not_in=("weekly",)).holds("monthly")
        assert FactTest(any_of=("format", "tone")).holds(("tone", "latency"))
        assert not FactTest(none_of=("format",)).holds(("format",))
        assert FactTest(eq=False).holds(False) and not FactTest(eq=False).holds(True)

    def test_all_tests_of_a_condition_must_hold(self) -> None:
        cond = {"examples": FactTest(ge=10), "gpus": FactTest(eq=1)}
        assert holds(cond, {"examples": 10, "gpus": 1})
        assert not holds(cond, {"examples": 10, "gpus": 2})
        assert holds({}, {})


def test_a_failure_rule_names_only_the_failures_it_matched() -> None:
    advice = run(profile(failures=["knowledge_proprietary", "format"], examples=500, eval_set_size=50))
    by_rule = {f["rule"]: f for f in advice.factors}
    knowledge, behaviour = by_rule["failure.knowledge"], by_rule["failure.behaviour"]
    assert knowledge["value"] == ["knowledge_proprietary"] and "(knowledge_proprietary)" in knowledge["reason"]
    assert behaviour["value"] == ["format"] and "(format)" in behaviour["reason"]


def test_private_data_without_a_gpu_says_so_instead_of_zero_gigabytes() -> None:
    advice = run(profile(failures=["format"], examples=500, eval_set_size=50, data_must_stay_local=True))
    rules = {f["rule"]: f["reason"] for f in advice.factors}
    assert "privacy.no_gpu" in rules and "privacy.no_local_hardware" not in rules
    assert "0 GB" not in rules["privacy.no_gpu"]
    small = run(profile(failures=["format"], examples=500, eval_set_size=50, data_must_stay_local=True,
                        gpu_memory_gb=4, model_size_b=70))
    assert "privacy.no_local_hardware" in {f["rule"] for f in small.factors}


def test_openai_service_life_reasons_do_not_repeat_each_other() -> None:
    advice = run(profile(failures=["format"], examples=500, eval_set_size=50, service_months=12))
    openai = next(b for b in advice.backend_details or [] if b["backend"] == "openai")
    reasons = [r["reason"] for r in openai["reasons"]]
    joined = " ".join(reasons)
    assert joined.count("1.5 months") == 1 and joined.count("1.8 months") == 1, reasons  # each date said once
