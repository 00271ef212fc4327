from types import SimpleNamespace

import matplotlib.pyplot as plt
import pandas as pd

from analysis import pipeline
from analysis.results import ResultsStore, result_row


class _Family:
    __name__ = "analysis.fake"

    @staticmethod
    def compute(trial):
        return [result_row("fake", "n", 3, arm="A")]

    @staticmethod
    def tables(trial, store):
        return {"fake_table": pd.DataFrame({"Arm": ["A"], "n": [int(store.value("fake", "n"))]})}

    @staticmethod
    def figures(trial, store):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        return {"fake_figure": fig}


def test_outputs_of_every_family_are_written(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "_modules", lambda: [_Family])
    trial = SimpleNamespace(synthetic=True)
    store = pipeline.compute_results(trial)
    assert store.value("fake", "n", arm="A") == 3
    pipeline.write_outputs(trial, store, tmp_path)
    assert pd.read_csv(tmp_path / "tables" / "fake_table.csv")["n"].tolist() == [3]
    assert (tmp_path / "tables" / "fake_table.xlsx").exists()
    for ext in ("pdf", "svg", "png"):
        assert (tmp_path / "figures" / f"fake_figure.{ext}").stat().st_size > 0
    assert ResultsStore.from_csv(tmp_path / "results.csv").value("fake", "n", arm="A") == 3


def test_synthetic_figures_carry_the_mark_and_real_ones_do_not(monkeypatch):
    monkeypatch.setattr(pipeline, "_modules", lambda: [_Family])
    store = pipeline.compute_results(None)
    for synthetic, expected in ((True, [pipeline.SYNTHETIC_MARK]), (False, [])):
        (name, fig), = pipeline.iter_figures(SimpleNamespace(synthetic=synthetic), store)
        assert [t.get_text() for t in fig.texts] == expected
        plt.close(fig)


def test_tables_are_written_as_safe_csv_and_numeric_xlsx_with_the_synthetic_note(tmp_path,
                                                                              monkeypatch):
    import openpyxl

    from analysis.export import SYNTHETIC_NOTE

    class Hostile(_Family):
        @staticmethod
        def tables(trial, store):
            return {"t": pd.DataFrame({"Term": ["=1+1", "ok"], "n": ["3", "−2"]})}

        @staticmethod
        def figures(trial, store):
            return {}

    monkeypatch.setattr(pipeline, "_modules", lambda: [Hostile])
    for synthetic in (True, False):
        out = tmp_path / str(synthetic)
        pipeline.write_outputs(SimpleNamespace(synthetic=synthetic), ResultsStore.empty(), out)
        assert (out / "tables" / "t.csv").read_text().splitlines() == [
            "Term,n", "'=1+1,3", "ok,−2"]
        ws = openpyxl.load_workbook(out / "tables" / "t.xlsx").active
        assert [[c.value for c in r] for r in ws.iter_rows(max_row=3)] == [
            ["Term", "n"], ["'=1+1", 3], ["ok", -2]]
        assert ws["A4"].value == (SYNTHETIC_NOTE if synthetic else None)
