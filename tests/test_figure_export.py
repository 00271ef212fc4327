"""Journal figure files: column sizes, 600 dpi LZW TIFF, embedded fonts, byte-determinism."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

from publishing import figure_export as fe  # noqa: E402


def _fig(w, h):
    fig, ax = plt.subplots(figsize=(w, h))
    ax.plot([0, 1, 2], [1, 3, 2], marker="o")
    ax.set_xlabel("Month")
    ax.set_title("Pain VAS")
    return fig


@pytest.mark.parametrize("size,col,mm", [((3.2, 2.4), "single", 85.0),
                                         ((7.0, 4.0), "double", 175.0)])
def test_tiff_is_column_wide_600dpi_lzw(tmp_path, size, col, mm):
    fig = _fig(*size)
    assert fe.column(fig) == col
    out = fe.export(fig, tmp_path / "f")
    w, h = fig.get_size_inches()
    plt.close(fig)
    assert h / w == pytest.approx(size[1] / size[0])  # the figure was scaled, aspect kept
    im = Image.open(out["tiff"])
    assert im.size[0] == round(mm / 25.4 * 600)  # 85 mm -> 2008 px, 175 mm -> 4134 px
    assert im.info["compression"] == "tiff_lzw"
    assert tuple(round(d) for d in im.info["dpi"]) == (600, 600)
    assert im.mode == "RGB"


def test_vector_files_embed_fonts_and_carry_no_dates(tmp_path):
    fig = _fig(5, 3)
    out = fe.export(fig, tmp_path / "g")
    plt.close(fig)
    pdf = out["pdf"].read_bytes()
    assert b"/FontFile2" in pdf  # TrueType font program embedded (fonttype 42)
    assert b"/CreationDate" not in pdf and b"/ModDate" not in pdf
    svg = out["svg"].read_text()
    assert "<text" not in svg  # glyphs as paths: no font needed to view it
    assert "<dc:date>" not in svg


def test_export_is_byte_deterministic(tmp_path):
    digests = []
    for i in range(2):
        fig = _fig(3.0, 2.0)
        out = fe.export(fig, tmp_path / f"r{i}" / "fig")
        plt.close(fig)
        digests.append({k: p.read_bytes() for k, p in out.items()})
    assert digests[0] == digests[1]
