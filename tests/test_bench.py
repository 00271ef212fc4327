"""Tests of analysis.bench that need no timing: the trial's generator comes from its spec."""

from pathlib import Path

import pytest

from analysis import bench
from analysis.spec.load import load_spec

ROOT = Path(__file__).resolve().parents[1]


def test_generator_is_the_spec_s_data_generator():
    spec = load_spec(ROOT / "trials" / "respine" / "trial.yaml")
    assert spec.data.generator == ROOT / "trials" / "respine" / "synthetic.py"
    gen = bench.generator(spec)
    assert bench.generator(spec) is gen  # imported once
    tables = gen.generate(40, 5)
    assert len(tables["adsl"]) == 40
    assert set(tables) >= {"adsl", "adqs"}


def test_a_trial_without_generator_is_a_clear_error(monkeypatch, capsys, tmp_path):
    spec = load_spec(ROOT / "trials" / "btheb" / "trial.yaml")
    assert spec.data.generator is None
    with pytest.raises(bench.NoGenerator, match="data.generator is not declared"):
        bench.generator(spec)
    monkeypatch.setenv("REPORT_TRIAL", str(ROOT / "trials" / "btheb"))
    assert bench.main([1000], json_path=tmp_path / "b.json", render=False) == 2
    assert "data.generator is not declared" in capsys.readouterr().err
    assert not (tmp_path / "b.json").exists()


def test_paths_map_into_the_project_copy(tmp_path):
    assert bench._in_copy(ROOT / "data" / "synthetic", tmp_path) == tmp_path / "data" / "synthetic"
    assert bench._in_copy(Path("/elsewhere/x"), tmp_path) == Path("/elsewhere/x")


def test_exponent():
    assert bench.exponent([10, 100, 1000], [1.0, 10.0, 100.0]) == pytest.approx(1.0)
    assert bench.exponent([10, 100], [1.0, 100.0]) == pytest.approx(2.0)
