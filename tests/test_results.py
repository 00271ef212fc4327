import math

import pandas as pd
import pytest

from analysis.results import COLUMNS, ResultNotFound, ResultsStore, result_row


def _store():
    return ResultsStore.empty().add([
        result_row("responder_m12", "n_responders", 37, arm="BM-MSC", visit=12, n=50),
        result_row("responder_m12", "n_responders", 34, arm="Sham", visit=12, n=49),
        result_row("responder_m12", "risk_difference", 4.6, arm="BM-MSC vs Sham", visit=12,
                   lower=-12.9, upper=21.8),
    ])


def test_add_returns_a_new_store_and_keeps_the_old_one():
    empty = ResultsStore.empty()
    store = empty.add([result_row("e", "n", 1)])
    assert len(empty) == 0 and len(store) == 1
    assert list(store.table.columns) == COLUMNS


def test_lookup_by_key():
    store = _store()
    assert store.value("responder_m12", "n_responders", arm="Sham") == 34
    row = store.get("responder_m12", "risk_difference", arm="BM-MSC vs Sham", visit=12)
    assert (row["lower"], row["upper"]) == (-12.9, 21.8)


def test_ambiguous_or_missing_lookup_raises():
    with pytest.raises(ResultNotFound):
        _store().value("responder_m12", "n_responders")  # two arms match
    with pytest.raises(ResultNotFound):
        _store().value("t2", "p_value")


def test_duplicate_keys_are_refused():
    with pytest.raises(ValueError, match="duplicate"):
        _store().add([result_row("responder_m12", "n_responders", 1, arm="Sham", visit=12)])


def test_csv_round_trip_and_json_nulls(tmp_path):
    store = _store()
    store.to_csv(tmp_path / "r.csv")
    back = ResultsStore.from_csv(tmp_path / "r.csv")
    pd.testing.assert_frame_equal(back.table, store.sorted().table)
    store.to_json(tmp_path / "r.json")
    text = (tmp_path / "r.json").read_text()
    assert "NaN" not in text and "null" in text
    assert math.isnan(back.get("responder_m12", "n_responders", arm="Sham")["lower"])


def test_csv_is_deterministic(tmp_path):
    _store().to_csv(tmp_path / "a.csv")
    ResultsStore(_store().table.iloc[::-1]).to_csv(tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
