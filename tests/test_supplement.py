"""Supplement: deterministic files (zip, XLSX, DOCX dates), dates from SOURCE_DATE_EPOCH,
the manifest; and (opt-in, ~1 min: REPORT_SLOW_TESTS=1) two full builds give the same zip."""

from __future__ import annotations

import hashlib
import json
import os
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from publishing import supplement as sp

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic"


def test_source_date_epoch():
    assert sp.source_date_epoch({"SOURCE_DATE_EPOCH": "1700000000"}) == 1700000000
    assert sp.source_date_epoch({}) == sp.DEFAULT_EPOCH
    assert sp.source_date_epoch({"SOURCE_DATE_EPOCH": "5"}) == 315532800  # zip needs >= 1980
    assert sp.iso_date(1700000000) == "2023-11-14"
    assert sp.zip_name(True) == "online-supplement-blinded.zip"


def _tree(root: Path, mtime: int) -> Path:
    (root / "b").mkdir(parents=True)
    (root / "z.txt").write_text("last")
    (root / "b" / "a.txt").write_text("inner")
    (root / "a.txt").write_text("first")
    for p in root.rglob("*"):
        os.utime(p, (mtime, mtime))
    return root


def test_zip_is_deterministic_sorted_and_dated(tmp_path):
    z1 = sp.write_zip(_tree(tmp_path / "one", 1_000_000_000), tmp_path / "1.zip", 1700000000,
                      "pkg/")
    z2 = sp.write_zip(_tree(tmp_path / "two", 1_600_000_000), tmp_path / "2.zip", 1700000000,
                      "pkg/")
    assert z1.read_bytes() == z2.read_bytes()  # file times and folder names do not matter
    with zipfile.ZipFile(z1) as zf:
        assert zf.namelist() == ["pkg/a.txt", "pkg/b/a.txt", "pkg/z.txt"]
        assert {i.date_time for i in zf.infolist()} == {time.gmtime(1700000000)[:6]}
        assert zf.read("pkg/b/a.txt") == b"inner"
    z3 = sp.write_zip(tmp_path / "one", tmp_path / "3.zip", 1700086400, "pkg/")
    assert z3.read_bytes() != z1.read_bytes()  # the epoch is the only date


def test_xlsx_deterministic_and_dated_from_epoch(tmp_path):
    df = pd.DataFrame({"Arm": ["A", "B"], "n": [3, 4]})
    a = sp.write_table(df, tmp_path / "x" / "t", 1700000000)
    time.sleep(1.1)  # openpyxl stamps the current second: it must not reach the file
    b = sp.write_table(df, tmp_path / "y" / "t", 1700000000)
    assert [p.name for p in a] == ["t.csv", "t.xlsx"]
    assert a[0].read_text() == "Arm,n\nA,3\nB,4\n"
    assert a[1].read_bytes() == b[1].read_bytes()
    with zipfile.ZipFile(a[1]) as zf:
        core = zf.read("docProps/core.xml").decode()
    assert "2023-11-14T22:13:20Z" in core
    assert pd.read_excel(a[1]).equals(df)


def test_manifest_hashes_every_output(tmp_path):
    stage = tmp_path / "s"
    (stage / "tables").mkdir(parents=True)
    (stage / "tables" / "t.csv").write_text("x\n")
    (stage / "README.md").write_text("r")
    (stage / "manifest.json").write_text("old")
    m = sp.manifest(stage, DATA, ROOT, "builtin (test)", 1700000000, blinded=False)
    assert [o["file"] for o in m["outputs"]] == ["README.md", "tables/t.csv"]
    assert m["outputs"][1]["sha256"] == hashlib.sha256(b"x\n").hexdigest()
    files = {f["file"]: f["sha256"] for f in m["data"]["files"]}
    assert files["adsl.csv"] == hashlib.sha256((DATA / "adsl.csv").read_bytes()).hexdigest()
    assert m["date"] == "2023-11-14" and m["data"]["synthetic"] is True
    pk = {p["package"].lower(): p for p in m["software"]["packages"]}
    assert "pandas" in pk and pk["pandas"]["locked"]
    assert set(m["code"]) == {"commit", "clean"}
    json.dumps(m)  # serialisable


@pytest.mark.slow  # two full supplement builds (about a minute); runs in `make test`
def test_two_builds_give_the_same_zip(tmp_path):
    env = {"REPORT_BLINDED": "0", "SOURCE_DATE_EPOCH": "1700000000"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        z1 = sp.build(ROOT, DATA, "builtin", tmp_path / "a", progress=lambda m: None)
        z2 = sp.build(ROOT, DATA, "builtin", tmp_path / "b", progress=lambda m: None)
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    assert z1.read_bytes() == z2.read_bytes()
    with zipfile.ZipFile(z1) as zf:
        names = zf.namelist()
    assert names == sorted(names)
    for want in ("online-supplement/online-supplement.pdf",
                 "online-supplement/online-supplement.docx",
                 "online-supplement/manifest.json", "online-supplement/README.md",
                 "online-supplement/results/results.csv",
                 "online-supplement/tables/consort2025_checklist.xlsx",
                 "online-supplement/figures/consort.tiff"):
        assert want in names
