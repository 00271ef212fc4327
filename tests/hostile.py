"""A hostile copy of the shipped data: markup and formula payloads in the free-text fields that
reach the report, for tests/test_hostile_render.py (and ``tests/test_escape.py``).

:func:`make` copies ``data/synthetic`` and plants every string of :data:`PAYLOADS`:

- as the preferred term (``AEDECOD``) of one treatment-emergent event each, made serious so the
  term is in the SAE listing as well as in the table by system organ class;
- as the system organ class (``AEBODSYS``) of other events (bold SOC rows of that table);
- as a reason not treated (``NTRTREAS``: CONSORT counts table and diagram), :data:`REASONS`
  first (matplotlib reads ``$...$`` as mathtext, and fails on a bad one);
- as a site name (``SITE``) and a reported term (``AETERM``), free text that must be accepted
  although it reaches no display;
- in ``dataset.yaml``: ``name`` (reproducibility appendix) and ``generator`` (a code span).

``python tests/hostile.py DIR`` writes the folder (to render it by hand).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd
import yaml

SOURCE = Path(__file__).resolve().parents[1] / "data" / "synthetic"

#: Markup of every kind pandoc, HTML, Typst and spreadsheets interpret, and formula starts.
PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "**x**",
    "_x_",
    "[x](http://evil.example)",
    "$x^2$",
    "@sec-methods",
    "[@key]",
    "`#text(fill: red)[X]`{=typst}",
    "#set page(width: 1cm)",
    "a\\b\\\\c",
    '=HYPERLINK("http://evil.example","click")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\tTab first",
]
#: Reasons not treated, for the CONSORT diagram: valid and invalid mathtext.
REASONS = ["$x^2$", "$\\frac$ <b>x</b>"]
#: Payloads kept for the columns of one dataset.yaml string.
NAME = "Hostile <script>alert(1)</script> **x** $x^2$ @sec-methods `#text(fill: red)[X]`{=typst}"
GENERATOR = "gen`{=typst} #set page(width: 1cm) <b>x</b>"
#: Prefix making each SOC payload distinct from the same PT payload.
SOC = "SOC "
#: Loaded values are stripped of surrounding blanks (analysis.data), so the tab payload reaches
#: the outputs without its tab; this is what a display must show for each payload.
SHOWN = {p: p.strip() for p in PAYLOADS}


def make(dest: Path) -> Path:
    """Write the hostile copy of ``data/synthetic`` into ``dest`` (created); returns ``dest``."""
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(SOURCE, dest)
    adsl = _read(dest, "adsl")
    adae = _read(dest, "adae")
    saf = set(adsl.loc[adsl["SAFFL"] == "Y", "USUBJID"])
    teae = adae.index[(adae["TRTEMFL"] == "Y") & adae["USUBJID"].isin(saf)].tolist()
    k = len(PAYLOADS)
    assert len(teae) >= 2 * k, "the shipped data have too few events for the payloads"
    for p, i in zip(PAYLOADS, teae[:k], strict=True):
        adae.loc[i, ["AEDECOD", "AETERM", "AESER"]] = [p, p, "Y"]
    for p, i in zip(PAYLOADS, teae[k:2 * k], strict=True):
        adae.loc[i, "AEBODSYS"] = SOC + p
    untreated = adsl.index[adsl["NTRTREAS"] != ""].tolist()
    for p, i in zip(REASONS + PAYLOADS, untreated, strict=False):
        adsl.loc[i, "NTRTREAS"] = p
    for p, site in zip(PAYLOADS, sorted(set(adsl["SITE"])), strict=False):
        adsl.loc[adsl["SITE"] == site, "SITE"] = p
    _write(dest, "adsl", adsl)
    _write(dest, "adae", adae)
    meta = yaml.safe_load((dest / "dataset.yaml").read_text(encoding="utf-8"))
    meta.update(name=NAME, generator=GENERATOR)
    (dest / "dataset.yaml").write_text(yaml.safe_dump(meta, sort_keys=False, width=88),
                                       encoding="utf-8")
    return dest


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


def _write(folder: Path, name: str, df: pd.DataFrame) -> None:
    df.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")


if __name__ == "__main__":
    print(make(Path(sys.argv[1])))
