"""Table typography on the synthetic trial: units written out, p columns with p-values only,
effect sizes with their CI, values that do not wrap, and the rounding rule."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from analysis import pipeline
from analysis.data import load_trial
from analysis.displays.display import markdown_table
from analysis.families import coprimary, immune

ROOT = Path(__file__).resolve().parents[1]
P_VALUE = re.compile(r"^(<0\.001|0\.\d{2,3}|1\.00|–|)$")


@pytest.fixture(scope="module")
def trial():
    return load_trial(ROOT / "data" / "synthetic")


@pytest.fixture(scope="module")
def store(trial):
    return pipeline.compute_results(trial)


@pytest.fixture(scope="module")
def tables(trial, store):
    return pipeline.collect_tables(trial, store)


def test_units_are_written_out_and_no_ascii_comparisons(tables):
    for name, df in tables.items():  # the synthetic data's own text included (reasons)
        for text in [str(c) for c in df.columns] + [str(v) for v in df.to_numpy().ravel()]:
            assert not re.search(r"\bpp\b", text), (name, text)
            assert not re.search(r"\bpoints\b", text) or "percentage points" in text, (name, text)
            assert "<=" not in text and ">=" not in text, (name, text)


def test_p_columns_hold_p_values_only(tables):
    for name, df in tables.items():
        for col in df.columns:
            if str(col) == "p" or str(col).endswith(" p") or str(col).startswith("Fisher p"):
                bad = [v for v in df[col].astype(str) if not P_VALUE.match(v)]
                assert not bad, (name, col, bad)


def test_bayesian_probability_has_its_own_column(store, trial):
    t = coprimary.responder_table(store, trial.arms, trial.control_arm)
    bayes = t.loc[t["Analysis"] == coprimary.ANALYSES["bayes"]].iloc[0]
    assert bayes["p"] == "–"
    pb = store.value("responder_m12", "prob_better", analysis="bayes", arm="BM-MSC vs Sham")
    assert bayes[coprimary.PROB_HEADER] == f"{pb:.2f}"
    assert set(t.loc[t["Analysis"] != bayes["Analysis"], coprimary.PROB_HEADER]) == {""}


def test_effect_table_lists_estimates_not_p_values(store, trial):
    t = coprimary.effect_table(store, trial.arms, trial.control_arm)
    assert not t["Measure"].str.contains(r"\bp\b").any()
    assert all(re.match(r"^−?\d+\.\d+$", v) for v in t["Estimate"])
    rd = t.loc[t["Measure"] == "Risk difference, percentage points"].iloc[0]
    assert rd["p"] == "0.77"  # the Yates chi-square p of the primary analysis (published 0.77)


def test_sensitisation_table_gives_the_risk_difference_with_newcombe_ci(store, trial):
    from statsmodels.stats.proportion import confint_proportions_2indep

    t = immune.sensitisation_table(trial, store)
    row = t.loc[t["Antibodies"] == "Any class"].iloc[0]
    cell = lambda arm: re.match(r"(\d+)/(\d+)", row[f"{arm}, n/N (%)"]).groups()  # noqa: E731
    (x1, n1), (x2, n2) = (map(int, cell(a)) for a in ("BM-MSC", "Sham"))
    lo, hi = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    from analysis.displays.formatting import fmt_ci, fmt_num

    assert row["RD, percentage points (95% CI)"] == (
        f"{fmt_num(100 * (x1 / n1 - x2 / n2))} ({fmt_ci(100 * lo, 100 * hi)})")
    assert P_VALUE.match(row["Fisher p"])


def test_number_cells_do_not_wrap_inside_a_value():
    df = pd.DataFrame({"Arm": ["Arm A, the first one"], "Change": ["−1.7 (4.6); 49"],
                       "Difference": ["0.6 (−1.8 to 2.9); p = 0.64"]})
    body = str(markdown_table(df)).split("\n")[2].replace("\\", "")  # markdown escapes
    assert "−1.7\u00a0(4.6);\u00a049" in body
    assert "p\u00a0=\u00a00.64" in body
    assert "| Arm A, the first one |" in body  # text columns still wrap
