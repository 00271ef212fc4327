"""CONSORT drawing: no overlapping text, boxes or arrows, for 2 and 3 arms, at any count."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pytest

from analysis.displays.consort_plot import _wrap, draw_consort
from analysis.families.consort import Analysed, ConsortFlow, box_texts

LONG = "Canal stenosis worse than Schizas B with a very long free-text explanation added"


def make_flow(arms, big: bool, enrolment: bool = True) -> ConsortFlow:
    """A flow with small or very large counts and many (long) reasons; ``enrolment=False``:
    no screening log (no assessed/excluded boxes)."""
    k = 123_457 if big else 1
    reasons = [(f"Reason {i}" if i % 3 else LONG, k * i) for i in range(10 if big else 2)]
    visits = (1, 3, 6, 12, 24)
    screen = dict(assessed=1000 * k, excluded=100 * k, exclusion_reasons=reasons) \
        if enrolment else {}
    return ConsortFlow(
        arms=tuple(arms), **screen,
        randomised=900 * k, allocated={a: 300 * k for a in arms},
        received={a: 290 * k for a in arms},
        not_received={a: reasons[:3] for a in arms}, visits=visits,
        visit_labels={v: f"Month {v}" for v in visits},
        visit_assessed={(a, v): 280 * k for a in arms for v in visits},
        visit_missed={(a, v): k for a in arms for v in visits},
        discontinued={(a, v): reasons[: (3 if big else 1)] for a in arms for v in visits},
        analyses=(Analysed("primary", "the primary endpoint", {a: 250 * k for a in arms},
                           {a: reasons[:4] for a in arms}, 12),))


def _geometry(fig, dpi=100):
    fig.set_dpi(dpi)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    boxes = {p.get_gid(): p.get_window_extent(r) for p in ax.patches}
    texts = {t.get_gid(): t.get_window_extent(r) for t in ax.texts
             if t.get_gid() != "arrow"}
    arrows = [(ax.transData.transform(a.xyann), ax.transData.transform(a.xy))
              for a in ax.texts if a.get_gid() == "arrow"]
    return boxes, texts, arrows, fig.bbox


def _overlap(a, b, tol=0.5):
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > tol) and (min(a.y1, b.y1) - max(a.y0, b.y0) > tol)


def _inside(inner, outer, tol=0.5):
    return (inner.x0 >= outer.x0 - tol and inner.x1 <= outer.x1 + tol
            and inner.y0 >= outer.y0 - tol and inner.y1 <= outer.y1 + tol)


@pytest.mark.parametrize("arms", [("BM-MSC", "Sham"), ("Low dose", "High dose", "Placebo")])
@pytest.mark.parametrize(("big", "dpi", "enrolment"), [
    (False, 110, True), (True, 72, True), (True, 110, True), (True, 300, True),
    (False, 110, False), (True, 110, False)])
def test_no_overlap_and_text_inside_boxes(arms, big, dpi, enrolment):
    fig = draw_consort(box_texts(make_flow(arms, big, enrolment)))
    try:
        boxes, texts, arrows, page = _geometry(fig, dpi)
        top = 3 if enrolment else 1  # assessed, excluded, randomised
        assert len(boxes) == top + 3 * len(arms) + 4  # flow boxes + stage strip
        for name, bb in texts.items():  # every text in its own box, and on the page
            owner = boxes[name.replace("stagetext:", "stage:").replace("text:", "box:")]
            assert _inside(bb, owner), name
            assert _inside(bb, page), name
        for (n1, a), (n2, b) in itertools.combinations(texts.items(), 2):
            assert not _overlap(a, b), (n1, n2)
        for (n1, a), (n2, b) in itertools.combinations(boxes.items(), 2):
            assert not _overlap(a, b), (n1, n2)
        t = np.linspace(0.01, 0.99, 99)[:, None]
        for start, end in arrows:  # arrows run between boxes, never through one
            x, y = (start + t * (end - start)).T
            for name, bb in boxes.items():
                inside = (bb.x0 + 1 < x) & (x < bb.x1 - 1) & (bb.y0 + 1 < y) & (y < bb.y1 - 1)
                assert not inside.any(), name
    finally:
        plt.close(fig)


def test_arrows_end_on_box_edges():
    fig = draw_consort(box_texts(make_flow(("A", "B", "C"), False)))
    try:
        boxes, _, arrows, _ = _geometry(fig)
        flow_boxes = [b for n, b in boxes.items() if n.startswith("box:")]
        ends = [end for start, end in arrows]
        touching = [any(abs(e[1] - b.y1) < 1 or abs(e[0] - b.x0) < 1 for b in flow_boxes)
                    for e in ends]
        assert sum(touching) >= 1 + 1 + 3 + 6  # randomised, excluded, 3 allocations, 6 below
    finally:
        plt.close(fig)


def test_boxes_grow_with_text():
    small = draw_consort(box_texts(make_flow(("A", "B"), False)))
    big = draw_consort(box_texts(make_flow(("A", "B"), True)))
    try:
        assert big.get_size_inches()[1] > small.get_size_inches()[1]
        wide = {"max_width": 100}  # no print-width limit: columns keep their 50 characters
        two = draw_consort(box_texts(make_flow(("A", "B"), False)), **wide)
        three = draw_consort(box_texts(make_flow(("A", "B", "C"), False)), **wide)
        assert three.get_size_inches()[0] > two.get_size_inches()[0] + 1.5
        plt.close(two)
        plt.close(three)
    finally:
        plt.close(small)
        plt.close(big)


def test_every_count_is_drawn():
    flow = make_flow(("A", "B"), True)
    fig = draw_consort(box_texts(flow))
    try:
        drawn = " ".join(t.get_text() for t in fig.axes[0].texts).replace("\u00a0", " ")
        drawn = " ".join(drawn.split())
        assert "Assessed for eligibility (n = 123,457,000)" in drawn
        assert f"(n = {250 * 123_457:,})" in drawn
        assert "Reason 8 (n = 987,656)" in drawn
    finally:
        plt.close(fig)


def test_wrap_keeps_indent_and_counts_whole():
    text = "  " + "word " * 12 + "(n = 12,345)"
    lines = _wrap(text, 30).splitlines()
    assert all(len(line) <= 30 for line in lines)
    assert lines[0].startswith("  word")
    assert all(line.startswith("    ") for line in lines[1:])
    assert "(n\u00a0=\u00a012,345)" in lines[-1]


def test_diagram_fits_the_print_width_so_its_text_prints_at_its_size():
    from analysis.displays.style import MIN_FONT_PT, PRINT_WIDTH

    wide = draw_consort(box_texts(make_flow(("A", "B"), False)), max_width=100)
    fig = draw_consort(box_texts(make_flow(("A", "B"), False)))
    try:
        assert wide.get_size_inches()[0] > PRINT_WIDTH  # 50 characters a line would not fit
        assert fig.get_size_inches()[0] <= PRINT_WIDTH  # shorter lines make it fit
        assert min(t.get_fontsize() for t in fig.axes[0].texts if t.get_text()) >= MIN_FONT_PT
    finally:
        plt.close(wide)
        plt.close(fig)


def test_analysed_counts_of_every_decision_endpoint_come_from_the_store():
    from pathlib import Path

    from analysis.data import load_trial
    from analysis.families.consort import consort_rows
    from analysis.families.coprimary import continuous_rows
    from analysis.families.participants import consort_figure, store_analysed
    from analysis.results import ResultsStore

    trial = load_trial(Path(__file__).resolve().parents[1] / "data" / "synthetic")
    ep = next(trial.spec.endpoint(e) for e in trial.spec.decision.endpoints
              if trial.spec.endpoint(e).kind == "single_visit_continuous")
    store = ResultsStore.empty().add(consort_rows(trial) + continuous_rows(trial, ep))
    # independently: randomised patients with a value at baseline and at the endpoint's visit
    d = trial.dataset(ep.dataset)
    wide = d[d["PARAMCD"] == ep.paramcd].pivot_table(index="USUBJID", columns="AVISITN",
                                                     values="AVAL")
    both = wide.dropna(subset=[trial.spec.baseline_visit, ep.visit]).index
    arm = trial.adsl.set_index("USUBJID")["TRT01P"]
    expected = arm.loc[arm.index.isin(both)].value_counts().to_dict()
    [(label, counts)] = store_analysed(store, trial.spec, trial.arms)
    assert label == (ep.short_label or ep.label)
    assert counts == expected == {"BM-MSC": 49, "Sham": 46}
    fig = consort_figure(trial, store)
    try:
        drawn = " ".join(" ".join(t.get_text() for t in fig.axes[0].texts).split())
        drawn = drawn.replace("\u00a0", " ")
        for a, n in expected.items():
            assert f"Analysed for {label} (n = {n})" in " ".join(drawn.split()), a
    finally:
        plt.close(fig)


def test_btheb_diagram_has_no_enrolment_boxes():
    from analysis.families.consort import consort_rows
    from analysis.families.participants import consort_figure
    from analysis.results import ResultsStore
    from tests.test_consort import load_example

    trial = load_example("trials/btheb")
    fig = consort_figure(trial, ResultsStore.empty().add(consort_rows(trial)))
    try:
        boxes, texts, _, _ = _geometry(fig)
        names = set(boxes)
        assert "box:assessed" not in names and "box:excluded" not in names
        assert {"box:randomised", "box:allocation:BtheB", "box:analysis:TAU"} <= names
        drawn = " ".join(t.get_text() for t in fig.axes[0].texts).replace("\u00a0", " ")
        assert "Randomised (n = 100)" in " ".join(drawn.split())
    finally:
        plt.close(fig)
