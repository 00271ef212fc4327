"""Blinded mode: the mapping, the refusal without a key, and no true arm label anywhere in the
blinded statistics, tables, figures or computed sentences (default synthetic data)."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from analysis import blinding  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic"
TRUE = ("BM-MSC", "Sham")
# the true labels and their case/spelling variants (BM MSC, bm_msc, SHAM, sham-...)
LEAK = re.compile(r"bm[-\s_]?msc|sham", re.IGNORECASE)


def test_mapping_depends_on_key_and_is_hmac():
    import hashlib
    import hmac

    seen = set()
    for i in range(16):
        key = f"key-{i}".encode()
        m = blinding.mapping(TRUE, key)
        assert sorted(m.values()) == ["Group A", "Group B"]
        # independent recomputation of the documented rule
        tags = {a: hmac.new(key, b"respine-blinding-v1\x00" + a.encode(), hashlib.sha256)
                .hexdigest() for a in TRUE}
        assert m[min(TRUE, key=tags.get)] == "Group A"
        seen.add(m["Sham"])
    assert seen == {"Group A", "Group B"}  # the control is not always the same group


def test_secret_sources_and_refusal(tmp_path):
    assert blinding.secret({"BLIND_KEY": " abc \n"}) == b"abc"
    f = tmp_path / "k"
    f.write_text("from-file\n")
    assert blinding.secret({"BLIND_KEY_FILE": str(f)}) == b"from-file"
    with pytest.raises(blinding.BlindingError, match="BLIND_KEY"):
        blinding.secret({})
    with pytest.raises(blinding.BlindingError, match="not a readable file"):
        blinding.secret({"BLIND_KEY_FILE": str(tmp_path / "missing")})
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(blinding.BlindingError, match="empty"):
        blinding.secret({"BLIND_KEY_FILE": str(tmp_path / "empty")})
    assert not blinding.is_blinded({})
    assert blinding.is_blinded({"REPORT_BLINDED": "1"})
    with pytest.raises(blinding.BlindingError):
        blinding.check({"REPORT_BLINDED": "1"})
    blinding.check({"REPORT_BLINDED": "0"})  # not blinded: nothing needed


def test_mask_frame_whole_cells_and_free_text():
    df = pd.DataFrame({"ARM": ["BM-MSC", "Sham", ""], "NOTE": ["gave sham twice", "x", None],
                       "N": [1, 2, 3]})
    out = blinding.mask_frame(df, {"BM-MSC": "Group B", "Sham": "Group A"})
    assert out["ARM"].tolist() == ["Group B", "Group A", ""]
    assert out["NOTE"].tolist() == ["gave Group A twice", "x", None]
    assert out["N"].tolist() == [1, 2, 3]
    assert df["ARM"].tolist() == ["BM-MSC", "Sham", ""]  # input untouched


def test_cli_refuses_without_key(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "REPORT_BLINDED": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, "-m", "analysis", "results", "--data", str(DATA),
                           "--out", str(tmp_path / "out")], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "BLIND_KEY" in proc.stderr and "Refusing" in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def blinded():
    from analysis.data import load_trial
    from analysis.pipeline import compute_results

    true = load_trial(DATA)
    trial = blinding.load(DATA, env={"REPORT_BLINDED": "1", "BLIND_KEY": "unit-test-key"})
    return true, trial, compute_results(trial)


def test_blinded_trial_counts_preserved(blinded):
    true, trial, _ = blinded
    assert trial.arms == ("Group A", "Group B") and trial.control_arm == "Group B"
    m = blinding.mapping(true.arms, b"unit-test-key")
    want = true.adsl["TRT01P"].map(m).value_counts().to_dict()
    assert trial.adsl["TRT01P"].value_counts().to_dict() == want
    assert sorted(want.values()) == [56, 58]
    assert (trial.adsl["TRT01A"] == true.adsl["TRT01A"].map(m).fillna("")).all()


def test_no_true_label_in_store(blinded):
    _, trial, store = blinded
    text = store.table.astype(str).to_csv(index=False)
    assert not LEAK.search(text), LEAK.findall(text)[:5]
    assert set(store.table["arm"]) >= {"Group A", "Group B", "Group A vs Group B"}


def test_no_true_label_in_tables_and_figures(blinded):
    from analysis.pipeline import _modules

    _, trial, store = blinded
    n_tables = n_figs = named = 0
    for mod in _modules():
        for name, df in getattr(mod, "tables", lambda t, s: {})(trial, store).items():
            csv = df.to_csv(index=False)
            assert not LEAK.search(csv), (name, LEAK.findall(csv)[:5])
            n_tables += 1
        for name, fig in getattr(mod, "figures", lambda t, s: {})(trial, store).items():
            texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
            assert not any(LEAK.search(t) for t in texts), (name, texts)
            buf = io.StringIO()
            with plt.rc_context({"svg.fonttype": "none"}):
                fig.savefig(buf, format="svg")
            assert not LEAK.search(buf.getvalue()), name
            named += "Group A" in buf.getvalue()  # the SVG text is searchable
            plt.close(fig)
            n_figs += 1
    assert n_tables >= 10 and n_figs >= 5 and named >= 3


def test_no_true_label_in_result_sentences(blinded):
    from analysis.families import coprimary, immune, participants, safety, secondary
    from analysis.report import Report

    _, trial, store = blinded
    a, c = trial.arms[0], trial.control_arm
    sentences = [
        coprimary.decision_sentence(store, a, c), coprimary.tipping_sentence(store, a, c),
        secondary.mmrm_sentence(store, trial.arms, c),
        safety.summary_sentence(trial, store), safety.related_sae_sentence(trial, store),
        immune.visit_text(trial), immune.sensitisation_sentence(trial, store),
        immune.response_sentence(trial, store),
        participants.exclusion_sentence(store), participants.smd_sentence(Report(trial, store)),
    ]
    for s in sentences:
        assert isinstance(s, str) and s
        assert not LEAK.search(s), s
    assert any("Group A" in s for s in sentences)


def test_blinded_spec_has_masked_arms(blinded):
    import yaml

    true, trial, _ = blinded
    spec = trial.spec
    assert spec.arm_labels == ("Group A", "Group B") and spec.control_arm == "Group B"
    assert spec.experimental_arms == ("Group A",)
    assert [(a.label, a.short_label, a.name) for a in spec.arms] == [
        ("Group A", "Group A", "Group A"), ("Group B", "Group B", "Group B")]
    assert not LEAK.search(repr(spec.arms))
    raw = yaml.safe_dump(spec.raw["arms"]) + yaml.safe_dump(spec.raw.get("modules", {}))
    assert not LEAK.search(raw)
    assert true.spec.arm_labels == TRUE  # the true specification is untouched
    from analysis.data import allowed_values

    assert allowed_values("adsl", "TRT01P", spec) == ["Group A", "Group B"]
