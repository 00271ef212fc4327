"""The decision rule (analysis.families.decision) on hand-made primary-analysis rows: the
three-arm fixture's hierarchical rule (a repeated continuous endpoint, lower is better, then a
binary endpoint), and the other rules by replacing the specification's decision."""

import dataclasses
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from analysis.families import decision
from analysis.results import ResultsStore, result_row
from analysis.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
A, B, P = "Drug A vs Placebo", "Drug B vs Placebo", "Placebo"


@pytest.fixture(scope="module")
def spec():
    return load_spec(ROOT / "tests" / "fixtures" / "three_arm" / "trial.yaml")


def trial(spec):
    return SimpleNamespace(spec=spec, arms=spec.arm_labels, control_arm=spec.control_arm,
                           experimental_arms=spec.experimental_arms)


def rows(score: dict, resp: dict) -> list[dict]:
    """Primary-analysis rows: ``{contrast: (estimate, p)}`` for the MMRM difference of
    ``score`` at the primary visit (week 8) and the risk difference of ``responder_w8``."""
    out = []
    for c, (est, p) in score.items():
        out += [result_row("score", "difference", est, analysis="mmrm", visit=8, arm=c,
                           lower=est - 1, upper=est + 1),
                result_row("score", "p_value", p, analysis="mmrm", visit=8, arm=c),
                # another visit's contrast must not be read
                result_row("score", "difference", 99.0, analysis="mmrm", visit=4, arm=c),
                result_row("score", "p_value", 0.0, analysis="mmrm", visit=4, arm=c)]
    for c, (est, p) in resp.items():
        out += [result_row("responder_w8", "risk_difference", est, visit=8, arm=c,
                           lower=est - 10, upper=est + 10),
                result_row("responder_w8", "p_value", p, visit=8, arm=c)]
    return out


def decide(spec, score, resp) -> ResultsStore:
    r = rows(score, resp)
    return ResultsStore.empty().add(r + decision.compute(trial(spec), r))


def plain(md) -> str:
    return re.sub(r"\\(.)", r"\1", str(md))


def test_hierarchical_stops_at_the_first_failure(spec):
    assert spec.decision.rule == "hierarchical"
    assert spec.decision.endpoints == ("score", "responder_w8")
    # Drug A: score lower (better) and significant, responders significant -> both claims;
    # Drug B: score fails (p 0.2) -> the responder endpoint is not tested even with p 0.001
    s = decide(spec, {A: (-4.0, 0.01), B: (-1.0, 0.2)}, {A: (30.0, 0.02), B: (40.0, 0.001)})
    v = s.value
    for group, expected in (("score", 1), ("responder_w8", 1), ("", 1)):
        assert v("coprimary_decision", "success", arm=A, group=group) == expected
    assert v("coprimary_decision", "success", arm=B, group="score") == 0
    assert v("coprimary_decision", "tested", arm=B, group="responder_w8") == 0
    assert v("coprimary_decision", "success", arm=B, group="responder_w8") == 0
    assert v("coprimary_decision", "success", arm=B, group="") == 0
    assert v("coprimary_decision", "alpha") == 0.05
    text = plain(decision.decision_sentence(s, "Drug B", P, spec))
    assert text.startswith("The trial did not meet its success criterion (superiority of Drug B "
                           "over Placebo tested in a fixed sequence")
    assert "not tested (an earlier endpoint failed)" in text
    both = plain(decision.decision_text(s, spec.arm_labels, P, spec))
    assert both.count("superiority of") == 2  # one sentence per experimental arm


def test_direction_of_benefit(spec):
    # a significant *increase* of a lower-is-better score does not favour the drug
    s = decide(spec, {A: (4.0, 0.001), B: (-4.0, 0.001)}, {A: (30.0, 0.01), B: (-30.0, 0.01)})
    assert s.value("coprimary_decision", "success", arm=A, group="score") == 0
    assert s.value("coprimary_decision", "success", arm=B, group="score") == 1
    # fewer responders on the drug does not favour it either
    assert s.value("coprimary_decision", "success", arm=B, group="responder_w8") == 0


def test_all_any_and_one_sided(spec):
    score, resp = {A: (-4.0, 0.01), B: (-4.0, 0.2)}, {A: (30.0, 0.3), B: (30.0, 0.01)}
    all_ = dataclasses.replace(spec, decision=dataclasses.replace(spec.decision, rule="all"))
    s = decide(all_, score, resp)
    assert s.value("coprimary_decision", "success", arm=A, group="") == 0
    assert s.value("coprimary_decision", "success", arm=B, group="responder_w8") == 1
    assert s.select("coprimary_decision", statistic="tested").empty
    any_ = dataclasses.replace(spec, decision=dataclasses.replace(spec.decision, rule="any"))
    s = decide(any_, score, resp)
    assert s.value("coprimary_decision", "success", arm=A, group="") == 1
    assert s.value("coprimary_decision", "success", arm=B, group="") == 1
    # one-sided at 0.05: p two-sided 0.08 (one-sided 0.04) succeeds when the effect favours
    one = dataclasses.replace(spec, decision=dataclasses.replace(spec.decision, rule="all",
                                                                 sided="one"))
    s = decide(one, {A: (-4.0, 0.08), B: (-4.0, 0.12)}, {A: (30.0, 0.08), B: (30.0, 0.08)})
    assert s.value("coprimary_decision", "success", arm=A, group="") == 1
    assert s.value("coprimary_decision", "success", arm=B, group="score") == 0


def test_missing_primary_analysis_is_not_a_success(spec):
    s = decide(spec, {A: (-4.0, 0.01)}, {})
    assert s.value("coprimary_decision", "success", arm=A, group="score") == 1
    assert s.value("coprimary_decision", "success", arm=A, group="responder_w8") == 0
    assert s.value("coprimary_decision", "success", arm=B, group="") == 0


def test_no_decision_rule_no_rows(spec):
    none = dataclasses.replace(spec, decision=None)
    assert decision.compute(trial(none), []) == []
    assert decision.decision_sentence(ResultsStore.empty(), "Drug A", P, none) == ""


def test_sentence_numbers_and_units(spec):
    s = decide(spec, {A: (-4.3, 0.01), B: (-1.0, 0.2)}, {A: (30.0, 0.02), B: (40.0, 0.001)})
    text = plain(decision.decision_sentence(s, "Drug A", P, spec))
    assert text.startswith("The trial met its success criterion")
    # labels from the specification; the score has no unit, so the difference has none
    assert ("Symptom score: MMRM difference in mean change \u22124.3 (95% CI \u22125.3 to "
            "\u22123.3; p = 0.010), meeting its criterion") in text
    assert "risk difference 30.0 percentage points (95% CI 20.0 to 40.0; p = 0.020)" in text


def test_pipeline_runs_the_decision_after_the_families():
    from analysis import pipeline

    mods = pipeline._modules()
    names = [m.__name__.rsplit(".", 1)[-1] for m in mods]
    assert names[-1] == "decision" and decision.AFTER_FAMILIES
