"""The frame chapters' generic prose (analysis.narrative): written from a specification and a
results store, for any trial; numbers from the store, words from the specification."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace as NS

import pytest

from analysis import narrative as nar
from analysis.report import Report
from analysis.results import ResultsStore, result_row
from analysis.spec.load import load_spec

ROOT = Path(__file__).resolve().parents[1]


def _rep(store_rows, modules=()):
    spec = load_spec(ROOT / "trials" / "btheb" / "trial.yaml")
    trial = NS(spec=spec, arms=("BtheB", "TAU"), control_arm="TAU",
               experimental_arms=("BtheB",), modules=modules, synthetic=False)
    return Report(trial, ResultsStore.empty().add(store_rows))


C = "BtheB vs TAU"
MMRM = [result_row("bdi", "difference", -3.24, analysis="mmrm", visit=8, arm=C, lower=-6.01,
                   upper=-0.47),
        result_row("bdi", "p_value", 0.0221, analysis="mmrm", visit=8, arm=C),
        result_row("consort", "randomised", 100, population="Randomised"),
        result_row("consort", "allocated", 52, arm="BtheB", population="Randomised"),
        result_row("consort", "allocated", 48, arm="TAU", population="Randomised")]


def test_abstract_results_read_the_store():
    text = nar.abstract_results(_rep(MMRM))
    assert text.startswith("A total of 100 patients were randomised, 52 to BtheB and 48 to "
                           "TAU.")
    assert ("Beck Depression Inventory II at month 8: difference in least\\-squares mean "
            "change from baseline −3\\.2 points (95% CI −6\\.0 to −0\\.5\\; p") in text


def test_a_missing_statistic_leaves_its_sentence_out():
    rep = _rep([])
    assert nar.abstract_results(rep) == ""
    assert nar.precision_sentence(rep) == "" and nar.control_rate_sentence(rep) == ""


def test_generic_decision_follows_the_rule_and_the_direction_of_benefit():
    rep = _rep(MMRM)
    assert nar.generic_decision(rep).startswith("The trial met its decision rule for BtheB "
                                                "against TAU")
    worse = [dict(r, value=3.24, lower=0.47, upper=6.01) if r["statistic"] == "difference"
             else r for r in MMRM]  # significant, but in favour of the control arm
    assert nar.generic_decision(_rep(worse)).startswith("The trial did not meet")


def test_methods_prose_comes_from_the_specification():
    rep = _rep(MMRM)
    assert nar.schedule_sentence(rep) == ("Patients were assessed at baseline and at month 2, "
                                          "month 3, month 5 and month 8; the primary visit was "
                                          "month 8.")
    assert "\\[to be supplied: registrations\\]" in nar.design_paragraph(rep)
    assert nar.covariates_sentence(rep) == ("Adjusted analyses included antidepressant use and "
                                            "length of current episode as covariates.")
    items = nar.outcomes_list(rep).splitlines()
    assert len(items) == 3 and items[2].endswith("Responder rule as above.")
    assert "\\[to be supplied: sample\\_size\\]" in nar.sample_size(rep)


def test_objective_is_the_trial_text_else_built_from_the_arms():
    rep = _rep(MMRM)
    assert nar.objective(rep).startswith("To compare Beat the Blues")
    bare = Report(NS(spec=NS(text={}, path=ROOT / "x.yaml", arms=(
        NS(label="A", name="Drug A"), NS(label="C", name="Placebo"))), arms=("A", "C"),
        control_arm="C", experimental_arms=("A",)), ResultsStore.empty())
    assert nar.objective(bare) == "To compare Drug A with Placebo."


@pytest.mark.parametrize("text, expected", [("Pain score", "pain score"),
                                            ("Month 3", "month 3"), ("BDI-II", "BDI-II"),
                                            ("Beck Depression Inventory II",
                                             "Beck Depression Inventory II")])
def test_lower_first_keeps_names(text, expected):
    assert nar.lower_first(text) == expected


def test_family_sentence_binds_arguments_by_name():
    rep = _rep(MMRM)
    assert nar.family_sentence(rep, "nosuchfamily", "f") is None
    assert nar.family_sentence(rep, "decision", "no_such_function") is None


def test_randomness_sentence_names_the_seeded_steps_of_this_trial():
    respine = load_spec(ROOT / "trials" / "respine" / "trial.yaml")
    btheb = load_spec(ROOT / "trials" / "btheb" / "trial.yaml")
    assert nar.randomness_sentence(NS(spec=respine, trial=NS(synthetic=True))) == (
        "Randomness is seeded (the synthetic-data generator and multiple imputation)")
    assert nar.randomness_sentence(NS(spec=btheb, trial=NS(synthetic=False))) == (
        "No step of the analysis draws random numbers")
