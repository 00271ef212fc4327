from types import SimpleNamespace

from analysis.report import Report, synthetic_notice
from analysis.results import ResultsStore, result_row


def _report():
    store = ResultsStore.empty().add([
        result_row("responder_m12", "percent", 69.387755, arm="Sham", visit=12),
        result_row("responder_m12", "n_responders", 34, arm="Sham", visit=12),
        result_row("responder_m12", "p_value", 0.774659, arm="BM-MSC vs Sham", visit=12),
        result_row("t2", "mean_difference", 0.5967, arm="BM-MSC vs Sham", visit=12,
                   lower=-1.8746, upper=3.0679),
    ])
    return Report(trial=SimpleNamespace(synthetic=True), store=store)


def test_prose_lookups_format_the_store_values():
    rep = _report()
    assert rep.pct("responder_m12", arm="Sham") == "69%"
    assert rep.count("responder_m12", "n_responders", arm="Sham") == "34"
    assert rep.p("responder_m12", arm="BM-MSC vs Sham") == "0.77"
    assert rep.ci("t2", "mean_difference", arm="BM-MSC vs Sham") == "0.6 (95% CI −1.9 to 3.1)"


def test_synthetic_notice_only_for_synthetic_data():
    assert "synthetic" in synthetic_notice(SimpleNamespace(synthetic=True)).lower()
    assert synthetic_notice(SimpleNamespace(synthetic=False)) == ""
