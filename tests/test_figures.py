"""Every figure of the report, drawn from the synthetic trial: lines in time order, text
legible at printed size, direction labels inside forest plots, print resolution, and a
picture regression test against committed reference images.

Refresh the reference images (after an intended change of a figure) with::

    make figures-baseline    # = REPORT_REFRESH_BASELINE=1 python -m pytest tests/test_figures.py

and look at the changed PNGs in ``tests/baseline_images/`` before committing them.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.testing.compare import compare_images  # noqa: E402
from PIL import Image  # noqa: E402

from analysis import pipeline  # noqa: E402
from analysis.data import load_trial  # noqa: E402
from analysis.displays.figio import (  # noqa: E402
    DPI,
    print_scale,
    printed_font_sizes,
    save_figure,
    saved_width,
)
from analysis.displays.style import MIN_FONT_PT, PRINT_WIDTH  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BASELINE = Path(__file__).with_name("baseline_images")
BASELINE_DPI = 50  # small files: enough to see a broken figure
TOLERANCE = 2.0  # RMS of the pixel difference (0-255), matplotlib's image comparison
REFRESH = os.environ.get("REPORT_REFRESH_BASELINE") == "1"


@pytest.fixture(scope="module")
def figures():
    trial = load_trial(ROOT / "data" / "synthetic")
    store = pipeline.compute_results(trial)
    figs = dict(pipeline.iter_figures(trial, store))
    yield figs
    for fig in figs.values():
        plt.close(fig)


def _joined_lines(fig):
    """Every drawn line that joins its points (markers-only lines, e.g. forest estimates and
    error-bar caps, join nothing)."""
    for ax in fig.axes:
        for line in ax.lines:
            if line.get_visible() and line.get_linestyle() not in ("None", "", " "):
                yield ax, line


def test_every_expected_figure_is_drawn(figures):
    assert set(figures) == {
        "consort", "coprimary_forest", "coprimary_tipping", "coprimary_t2",
        "secondary_mean_change", "secondary_mmrm_forest", "secondary_time_to_response",
        "immune_denovo", "immune_mfi"}


def test_plotted_lines_run_forward_in_time(figures):
    n = 0
    for name, fig in figures.items():
        for ax, line in _joined_lines(fig):
            x = np.asarray(line.get_xdata(), dtype=float)
            n += 1
            assert np.all(np.diff(x) >= 0), (name, ax.get_title(), x)
    assert n > 50  # the per-visit and per-patient lines were all checked


def test_mean_change_lines_join_visits_in_time_order(figures):
    fig = figures["secondary_mean_change"]
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        assert [int(t) for t in ticks] == sorted(int(t) for t in ticks)
        for _, line in _joined_lines(fig):
            x = np.asarray(line.get_xdata(), dtype=float)
            assert np.all(np.diff(x) > 0)  # strictly: one point per visit


def test_no_text_smaller_than_7_pt_at_print_width(figures):
    small = []
    for name, fig in figures.items():
        for text, pt in printed_font_sizes(fig):
            if pt < MIN_FONT_PT - 1e-9:
                small.append((name, text[:30], round(pt, 2)))
    assert not small


def test_figures_fit_the_print_width(figures):
    for name, fig in figures.items():
        assert print_scale(fig) > 0.97, name  # drawn at (almost) the size they print


def test_printed_size_follows_the_print_width():
    fig, ax = plt.subplots(figsize=(2 * PRINT_WIDTH, 2))
    ax.set_title("x", fontsize=10)
    try:
        width = saved_width(fig)
        assert width > 1.5 * PRINT_WIDTH  # the tight box: the axes and their labels
        assert print_scale(fig) == pytest.approx(PRINT_WIDTH / width)
        assert dict(printed_font_sizes(fig))["x"] == pytest.approx(10 * PRINT_WIDTH / width)
    finally:
        plt.close(fig)


@pytest.mark.parametrize("name", ["coprimary_forest", "secondary_mmrm_forest"])
def test_forest_plots_have_direction_labels_inside_the_frame(figures, name):
    fig = figures[name]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axes = [ax for ax in fig.axes if ax.get_visible()]
    for ax in axes:
        frame = ax.get_window_extent(renderer)
        labels = {t.get_gid(): t for t in ax.texts if (t.get_gid() or "").startswith("favours")}
        assert set(labels) == {"favours:below", "favours:above"}
        for t in labels.values():
            bb = t.get_window_extent(renderer)
            assert frame.x0 < bb.x0 and bb.x1 < frame.x1 and frame.y0 < bb.y0 and bb.y1 < frame.y1
        zero = ax.transData.transform((0, 0))[0]
        assert labels["favours:below"].get_window_extent(renderer).x1 < zero
        assert labels["favours:above"].get_window_extent(renderer).x0 > zero


def test_mmrm_forest_direction_follows_each_outcome(figures):
    from analysis.spec.locate import current_spec

    fig = figures["secondary_mmrm_forest"]
    by_title = {ax.get_title(): ax for ax in fig.axes if ax.get_visible()}
    for ep in current_spec().endpoints_by(kind="repeated_continuous"):
        texts = {t.get_gid(): t.get_text() for t in by_title[ep.short_label].texts}
        # a lower score is better for VAS and ODI: a negative difference favours BM-MSC
        better_side = "favours:below" if ep.sign < 0 else "favours:above"
        assert "BM-MSC" in texts[better_side], (ep.id, texts)
        other = ({"favours:below", "favours:above"} - {better_side}).pop()
        assert "Sham" in texts[other]


def test_synthetic_mark_on_every_figure(figures):
    for name, fig in figures.items():
        assert any(t.get_text() == pipeline.SYNTHETIC_MARK for t in fig.texts), name


def test_raster_exports_at_print_resolution(figures, tmp_path):
    paths = save_figure(figures["coprimary_forest"], tmp_path / "f", formats=("png",))
    dpi = Image.open(paths[0]).info["dpi"]
    assert DPI >= 300 and tuple(round(d) for d in dpi) == (DPI, DPI)


@pytest.mark.parametrize("name", [
    "consort", "coprimary_forest", "coprimary_tipping", "coprimary_t2",
    "secondary_mean_change", "secondary_mmrm_forest", "secondary_time_to_response",
    "immune_denovo", "immune_mfi"])
def test_figure_matches_reference_image(figures, name, tmp_path):
    fig = figures[name]
    actual = tmp_path / f"{name}.png"
    fig.savefig(actual, dpi=BASELINE_DPI, bbox_inches="tight", metadata={"Software": None})
    expected = BASELINE / f"{name}.png"
    if REFRESH:
        BASELINE.mkdir(exist_ok=True)
        expected.write_bytes(actual.read_bytes())
        pytest.skip(f"reference image refreshed: {expected}")
    assert expected.exists(), (f"no reference image {expected}; create it with "
                               "`make figures-baseline`")
    diff = compare_images(str(expected), str(actual), tol=TOLERANCE, in_decorator=True)
    assert diff is None, (f"{name} differs from {expected} (RMS {diff['rms']:.2f} > "
                          f"{TOLERANCE}); see {diff['diff']}. If the change is intended, "
                          "refresh with `make figures-baseline`.")
