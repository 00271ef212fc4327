"""Convert the Beat the Blues data (HSAUR3 ``BtheB``, wide) to ADaM-style CSVs.

Step 2 of 2 (step 1, ``convert.R``, exports the data as shipped to ``raw/btheb.csv``).
Run from the repository root: ``python trials/btheb/convert.py [OUT]`` (default ``data/``
beside this file). Deterministic: the same raw file always gives the same bytes (a test
regenerates the committed tables and compares them byte for byte).

Output in ``trials/btheb/data/``:

* ``adsl.csv``: one row per randomised patient (the raw row order gives ``SUBJID``);
  ``TRT01P`` is the randomised arm as coded in the source (``BtheB``, ``TAU``);
* ``adqs.csv``: BDS, one row per patient and attended visit (``PARAMCD = BDI``; a missing
  assessment has no row). ``AVISITN`` is the month after the start of treatment (0, 2, 3, 5,
  8), ``BASE`` the pre-treatment BDI, ``CHG = AVAL - BASE``, ``ABLFL = "Y"`` at baseline.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
RAW = HERE / "raw" / "btheb.csv"
OUT = HERE / "data"
STUDY = "BTHEB"
#: raw column -> (AVISITN in months, AVISIT)
VISITS = {"bdi.pre": (0, "Baseline"), "bdi.2m": (2, "Month 2"), "bdi.3m": (3, "Month 3"),
          "bdi.5m": (5, "Month 5"), "bdi.8m": (8, "Month 8")}
PARAM = "Beck Depression Inventory II (score)"


def adsl(raw: pd.DataFrame) -> pd.DataFrame:
    """Subject-level table: identifiers, arm, population flags, baseline characteristics."""
    subjid = [f"{i:03d}" for i in range(1, len(raw) + 1)]
    post = raw[[c for c in VISITS if c != "bdi.pre"]].notna()
    last = post.apply(lambda r: max([VISITS[c][0] for c in r.index[r]], default=0), axis=1)
    return pd.DataFrame({
        "STUDYID": STUDY,
        "USUBJID": [f"{STUDY}-{s}" for s in subjid],
        "SUBJID": subjid,
        "TRT01P": raw["treatment"].astype(str),
        "TRT01A": raw["treatment"].astype(str),
        "ITTFL": "Y",
        "SAFFL": "Y",
        "EFFFL": post.any(axis=1).map({True: "Y", False: "N"}),
        "DRUG": raw["drug"].astype(str),
        "LENGTH": raw["length"].astype(str),
        "LSTVISN": last.astype(int),
    })


def adqs(raw: pd.DataFrame, subjects: pd.DataFrame) -> pd.DataFrame:
    """BDS of the BDI-II: one row per patient and visit with a value."""
    rows = []
    for i, r in raw.iterrows():
        base = r["bdi.pre"]
        for col, (visitn, visit) in VISITS.items():
            if pd.isna(r[col]):
                continue
            rows.append({
                "STUDYID": STUDY, "USUBJID": subjects["USUBJID"].iloc[i], "PARAMCD": "BDI",
                "PARAM": PARAM, "AVISIT": visit, "AVISITN": visitn, "AVAL": int(r[col]),
                "BASE": "" if pd.isna(base) else int(base),
                "CHG": "" if pd.isna(base) else int(r[col] - base),
                "ABLFL": "Y" if visitn == 0 else "",
            })
    return pd.DataFrame(rows)


def main(out: str | Path = OUT, raw_file: str | Path = RAW) -> Path:
    """Write ``adsl.csv``, ``adqs.csv`` and ``dataset.yaml`` to ``out``; returns ``out``."""
    raw = pd.read_csv(raw_file, keep_default_na=True, na_values=[""])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    s = adsl(raw)
    q = adqs(raw, s)
    s.to_csv(out / "adsl.csv", index=False, lineterminator="\n")
    q.to_csv(out / "adqs.csv", index=False, lineterminator="\n")
    (out / "dataset.yaml").write_text(
        "name: Beat the Blues (HSAUR3::BtheB), ADaM form\n"
        "synthetic: false\n"
        "description: >-\n"
        "  Public data of a randomised trial of computerised cognitive behavioural therapy\n"
        "  (Beat the Blues) versus treatment as usual; converted by trials/btheb/convert.py.\n",
        encoding="utf-8")
    print(f"{len(s)} subjects, {len(q)} BDS rows -> {out}")
    return out


if __name__ == "__main__":
    main(*sys.argv[1:2])
