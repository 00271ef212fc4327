"""Validation of a trial data folder against the data contract (``analysis/dictionary.yaml``).

Every problem names the file, the column, the row(s) (1-based data rows as in the file:
row 1 is the first row after the header) or the subject(s) (USUBJID), and the rule broken.
All problems are collected; :func:`analysis.data.load_trial` raises one
:class:`analysis.data.DataError` listing them, and ``python -m analysis validate DIR``
prints them and exits 1 (0 with a one-line summary when the folder is clean).

Rules (the ``rule`` names in messages): ``file-present``, ``duplicate-format``,
``readable``, ``direct-identifier``, ``column-present``, ``type``, ``missing-value``,
``allowed-values``, ``allowed-arm``, ``allowed-visit``, ``range``, ``unique-key``,
``known-subject``, ``baseline-present``, ``baseline-flag``, ``date-order``, ``study-day``,
``base-chg``, ``positivity-flag``, ``population``, ``disposition``; file-level
``encoding`` (the line of the first byte that is not UTF-8, with the encoding it looks
like), ``empty-file``, ``empty-dataset`` (header only); dates ``after-cutoff`` (later than
``cutoff`` in ``dataset.yaml``) and ``future-date`` (later than today); ``dataset.yaml``
``yaml-syntax`` (line and column of the YAML error) and ``dataset-yaml`` (keys and types,
checked with jsonschema against ``dataset_yaml_schema`` in the dictionary); and the minimum
data for the report to be estimable (``minimum_data`` in the dictionary): ``arm-size``,
``arm-treated``, ``arm-per-protocol``, ``primary-visit``.

Files of a data format that hold no contract dataset (``adcm.csv``) are not an error: they
are named once in a note (:func:`notes`) and ignored.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import yaml

from analysis import data as D

MAX_LISTED = 10


@dataclass(frozen=True)
class Problem:
    """One broken rule: where (file, column, rows or subjects) and what."""

    file: str
    column: str
    rows: str
    rule: str
    message: str

    def __str__(self) -> str:
        where = ", ".join(x for x in (self.file, f"column {self.column}" if self.column else "",
                                      self.rows) if x)
        return f"{where}: {self.message} [rule: {self.rule}]"


def _rows(index, label: str = "row") -> str:
    """'row 3' / 'rows 3, 5 (and 2 more)' from 0-based positions (shown 1-based)."""
    pos = [int(i) + 1 for i in index]
    return _listing(pos, label)


def _listing(items, label: str) -> str:
    items = list(items)
    shown = ", ".join(str(i) for i in items[:MAX_LISTED])
    more = f" (and {len(items) - MAX_LISTED} more)" if len(items) > MAX_LISTED else ""
    plural = label + ("s" if len(items) > 1 else "")
    return f"{plural} {shown}{more}"


def _subjects(ids) -> str:
    return _listing(sorted(set(map(str, ids))), "subject")


def _examples(values) -> str:
    uniq = list(dict.fromkeys(str(v) for v in values))
    txt = ", ".join(repr(v) for v in uniq[:5])
    return txt + (", ..." if len(uniq) > 5 else "")


def _looks_like_identifier(col: str, known: set[str]) -> bool:
    """True when a column name looks like a direct identifier (rules in the dictionary).

    >>> [_looks_like_identifier(c, set()) for c in ("TEL_MOBILE", "DOBDT", "SITE_NAME", "AGE")]
    [True, True, False, False]
    """
    d = D.dictionary()
    norm = re.sub(r"[\s_\-]", "", col.upper())
    if col in known or norm in set(d.get("identifier_allowed", [])):
        return False
    whole = set(d.get("identifier_columns", []))
    parts = [p for p in re.split(r"[\s_\-\d]+", col.upper()) if p]
    if norm in whole or any(p in whole for p in parts):
        return True
    suffixes = d.get("identifier_suffixes", [])
    if any(norm == w + s for w in whole for s in suffixes if len(w) >= 3):
        return True
    return any(f in norm for f in d.get("identifier_fragments", []))


# ---------------------------------------------------------------------------- per table


def _check_table(raw: D.RawTable) -> tuple[list[Problem], pd.DataFrame]:
    """Single-table rules; returns the problems and the typed frame (bad cells as missing)."""
    probs: list[Problem] = []
    f = raw.file
    spec = D.columns(raw.name)
    df = raw.frame
    for col in df.columns:
        if _looks_like_identifier(col, set(spec)):
            probs.append(Problem(f, col, "", "direct-identifier",
                                 f"column {col!r} looks like a direct identifier (name, date of "
                                 "birth, address, phone, e-mail...) and must be removed before "
                                 "analysis"))
    typed = df.copy()
    for col, cs in spec.items():
        if col not in df.columns:
            if cs.get("required", True):
                probs.append(Problem(f, col, "", "column-present",
                                     f"required column {col} is missing"))
            continue
        vals, bad, empty = D.parse(df[col], cs["type"])
        typ = cs["type"]
        if bad.any():
            what = {"flag": "Y or N", "date": "a date YYYY-MM-DD", "int": "an integer",
                    "float": "a number"}.get(typ, typ)
            probs.append(Problem(f, col, _rows(np.flatnonzero(bad)), "type",
                                 f"expected {what}, found {_examples(df[col][bad])}"))
            vals = vals.where(~bad) if typ != "str" else vals
        if not cs.get("nullable", False) and empty.any():
            probs.append(Problem(f, col, _rows(np.flatnonzero(empty)), "missing-value",
                                 "value is empty but the column does not allow missing values"))
        allowed = D.allowed_values(raw.name, col)
        if allowed is not None:
            ok_vals = [str(a) for a in allowed] if typ in ("str", "flag") else allowed
            cmp = vals if typ in ("str", "flag") else vals
            notok = ~cmp.isin(ok_vals) & ~empty & ~bad
            if typ not in ("str", "flag"):
                notok &= cmp.notna()
            if notok.any():
                rule = ("allowed-arm" if col in ("TRT01P", "TRT01A") else
                        "allowed-visit" if col in ("AVISIT", "AVISITN") else "allowed-values")
                probs.append(Problem(f, col, _rows(np.flatnonzero(notok)), rule,
                                     f"value(s) {_examples(df[col][notok])} not in the allowed "
                                     f"values {[a for a in allowed if a != '']}"))
        if typ in ("int", "float"):
            lo, hi = cs.get("min"), cs.get("max")
            out = pd.Series(False, index=df.index)
            if lo is not None:
                out |= vals < lo
            if hi is not None:
                out |= vals > hi
            if out.any():
                probs.append(Problem(f, col, _rows(np.flatnonzero(out)), "range",
                                     f"value(s) {_examples(vals[out])} outside the range "
                                     f"{lo} to {hi}"))
        typed[col] = vals
    key = D.dictionary()["datasets"][raw.name].get("key", [])
    if all(k in typed.columns for k in key) and len(typed):
        dup = typed.duplicated(key, keep=False)
        if dup.any():
            probs.append(Problem(f, "+".join(key), _rows(np.flatnonzero(dup)), "unique-key",
                                 f"duplicate key ({', '.join(key)}) in {int(dup.sum())} rows"))
    return probs, typed


# ---------------------------------------------------------------------------- across tables


def _cross(tables: dict[str, D.RawTable], typed: dict[str, pd.DataFrame],
           minimum: bool = True) -> list[Problem]:
    probs: list[Problem] = []
    if "adsl" not in typed or "USUBJID" not in typed["adsl"]:
        return probs
    adsl = typed["adsl"]
    if adsl.empty:  # reported as empty-dataset; every subject elsewhere would be an orphan
        return probs
    fname = {n: t.file for n, t in tables.items()}
    known = set(adsl["USUBJID"])
    randdt = adsl.set_index("USUBJID")["RANDDT"] if "RANDDT" in adsl else None
    if randdt is not None:
        randdt = randdt[~randdt.index.duplicated()]

    # every USUBJID known to adsl
    for name in ("screening", "adqs", "admri", "adimm", "adae"):
        t = typed.get(name)
        if t is None or "USUBJID" not in t:
            continue
        ids = t["USUBJID"]
        orphan = (ids != "") & ~ids.isin(known)
        if orphan.any():
            probs.append(Problem(fname[name], "USUBJID", _rows(np.flatnonzero(orphan)),
                                 "known-subject",
                                 f"subject(s) {_examples(ids[orphan])} not found in adsl"))

    # screening <-> adsl
    scr = typed.get("screening")
    if scr is not None and {"USUBJID", "RANDFL"} <= set(scr.columns):
        inconsistent = (scr["RANDFL"] == "Y") != (scr["USUBJID"] != "")
        if inconsistent.any():
            probs.append(Problem(fname["screening"], "RANDFL", _rows(np.flatnonzero(inconsistent)),
                                 "population", "RANDFL must be Y exactly when USUBJID is given"))
        missing = known - set(scr["USUBJID"])
        if missing and not scr.empty:
            probs.append(Problem(fname["adsl"], "USUBJID", _subjects(missing), "known-subject",
                                 "randomised subject(s) absent from the screening log"))

    # population flags in adsl
    if {"SAFFL", "TRTSDT", "TRT01A", "ITTFL"} <= set(adsl.columns):
        bad = (adsl["SAFFL"] == "Y") != adsl["TRTSDT"].notna()
        bad |= (adsl["SAFFL"] == "Y") != (adsl["TRT01A"] != "")
        if bad.any():
            probs.append(Problem(fname["adsl"], "SAFFL", _rows(np.flatnonzero(bad)), "population",
                                 "SAFFL must be Y exactly when TRTSDT and TRT01A are given"))
        bad = adsl["ITTFL"] != "Y"
        if bad.any():
            probs.append(Problem(fname["adsl"], "ITTFL", _rows(np.flatnonzero(bad)), "population",
                                 "every randomised subject belongs to the ITT population"))

    # dates not before randomisation, study days
    if randdt is not None:
        if "TRTSDT" in adsl:
            early = adsl["TRTSDT"] < adsl["RANDDT"]
            if early.any():
                probs.append(Problem(fname["adsl"], "TRTSDT", _rows(np.flatnonzero(early)),
                                     "date-order", "injection date before RANDDT"))
        for name, dcol, ycol in (("adqs", "ADT", "ADY"), ("admri", "ADT", "ADY"),
                                 ("adimm", "ADT", "ADY"), ("adae", "ASTDT", "ASTDY")):
            t = typed.get(name)
            if t is None or not {"USUBJID", dcol} <= set(t.columns):
                continue
            rd = t["USUBJID"].map(randdt)
            early = t[dcol] < rd
            if early.any():
                probs.append(Problem(fname[name], dcol, _rows(np.flatnonzero(early)),
                                     "date-order",
                                     f"date before the subject's RANDDT (subject(s) "
                                     f"{_examples(t['USUBJID'][early])})"))
            if ycol in t:
                expect = (t[dcol] - rd).dt.days + 1
                wrong = expect.notna() & t[ycol].notna() & (t[ycol] != expect)
                if wrong.any():
                    probs.append(Problem(fname[name], ycol, _rows(np.flatnonzero(wrong)),
                                         "study-day", f"{ycol} must equal {dcol} - RANDDT + 1"))

    # visit label matches visit number, baseline flag, BASE/CHG
    vis = D.visits()
    for name in ("adqs", "admri", "adimm"):
        t = typed.get(name)
        if t is None:
            continue
        if {"AVISIT", "AVISITN"} <= set(t.columns):
            lab = t["AVISITN"].map(vis)
            bad = lab.notna() & t["AVISIT"].isin(list(vis.values())) & (lab != t["AVISIT"])
            if bad.any():
                probs.append(Problem(fname[name], "AVISIT", _rows(np.flatnonzero(bad)),
                                     "allowed-visit", "AVISIT does not match AVISITN"))
        if {"ABLFL", "AVISITN"} <= set(t.columns):
            bad = (t["ABLFL"] == "Y") != (t["AVISITN"] == 0)
            if bad.any():
                probs.append(Problem(fname[name], "ABLFL", _rows(np.flatnonzero(bad)),
                                     "baseline-flag", "ABLFL must be Y exactly at AVISITN 0"))
        if {"USUBJID", "PARAMCD", "AVISITN", "AVAL", "BASE", "CHG"} <= set(t.columns):
            probs += _base_chg(t, fname[name])

    # baseline present for every ITT subject
    adqs = typed.get("adqs")
    if adqs is not None and {"USUBJID", "PARAMCD", "AVISITN"} <= set(adqs.columns) \
            and "ITTFL" in adsl:
        itt = adsl.loc[adsl["ITTFL"] == "Y", "USUBJID"]
        base = adqs[adqs["AVISITN"] == 0]
        for param in ("VAS", "ODI"):
            have = set(base.loc[base["PARAMCD"] == param, "USUBJID"])
            lack = [u for u in itt if u not in have]
            if lack:
                probs.append(Problem(fname["adqs"], "AVISITN", _subjects(lack),
                                     "baseline-present",
                                     f"no baseline (AVISITN 0) {param} record for ITT subject(s)"))

    # immune positivity flag
    imm = typed.get("adimm")
    if imm is not None and {"AVAL", "POSFL"} <= set(imm.columns):
        thr = float(D.dictionary()["immune_positivity_threshold"])
        bad = imm["AVAL"].notna() & ((imm["AVAL"] >= thr) != (imm["POSFL"] == "Y"))
        if bad.any():
            probs.append(Problem(fname["adimm"], "POSFL", _rows(np.flatnonzero(bad)),
                                 "positivity-flag",
                                 f"POSFL must be Y exactly when AVAL >= {thr:g}"))

    probs += _disposition(adsl, adqs, fname)
    if minimum:
        probs += _estimable(adsl, typed, fname)
    return probs


def _estimable(adsl: pd.DataFrame, typed: dict, fname: dict) -> list[Problem]:
    """The minimum data for every analysis to be estimable (``minimum_data``): enough
    randomised, treated and per-protocol subjects in each arm, and enough ITT subjects with
    each primary endpoint at baseline and its visit. Below that the models cannot be fitted."""
    probs: list[Problem] = []
    need = D.dictionary().get("minimum_data", {})
    if not {"TRT01P", "TRT01A", "SAFFL", "PPROTFL", "USUBJID"} <= set(adsl.columns):
        return probs
    f = fname["adsl"]
    arms = D.arms()
    n_rand = adsl["TRT01P"].value_counts()
    for arm in arms:
        rows = np.flatnonzero(adsl["TRT01P"] == arm)
        n, lo = int(n_rand.get(arm, 0)), int(need.get("randomised_per_arm", 1))
        if n < lo:
            where = _rows(rows) if n else (_rows(range(len(adsl))) if len(adsl) <= MAX_LISTED
                                           else f"all {len(adsl)} rows")
            found = ", ".join(f"{a!r} {int(k)}" for a, k in n_rand.items())
            probs.append(Problem(f, "TRT01P", where, "arm-size",
                                 f"{n} subject(s) randomised to {arm!r} (found {found}); the "
                                 f"report compares the arms {list(arms)} and needs at least "
                                 f"{lo} subjects in each"))
    if any(p.rule == "arm-size" for p in probs):
        return probs
    checks = (("arm-treated", "SAFFL", "TRT01A", "treated_per_arm",
               "treated (SAFFL Y, by actual arm TRT01A)"),
              ("arm-per-protocol", "PPROTFL", "TRT01P", "per_protocol_per_arm",
               "in the per-protocol population (PPROTFL Y)"))
    for rule, flag, armcol, key, what in checks:
        lo = int(need.get(key, 1))
        for arm in arms:
            n = int(((adsl[flag] == "Y") & (adsl[armcol] == arm)).sum())
            if n < lo:
                probs.append(Problem(f, flag, _rows(np.flatnonzero(adsl["TRT01P"] == arm)),
                                     rule, f"{n} subject(s) of arm {arm!r} {what}; the "
                                     f"analyses need at least {lo} per arm"))
    itt = adsl[adsl["ITTFL"] == "Y"] if "ITTFL" in adsl else adsl
    lo = int(need.get("evaluable_per_arm", 1))
    for ep in need.get("primary_endpoints", []):
        t = typed.get(ep["dataset"])
        if t is None or t.empty or not {"USUBJID", "PARAMCD", "AVISITN", "AVAL"} <= set(t.columns):
            continue
        probs += _evaluable(t, fname[ep["dataset"]], itt, ep["parameters"], ep["visit"], lo)
    return probs


def _evaluable(t, file, itt, params, visit, lo) -> list[Problem]:
    """``primary-visit``: fewer than ``lo`` ITT subjects of an arm with every parameter of an
    endpoint at its visit and at baseline."""
    probs = []
    have = None
    for v in (0, visit):
        at = t[(t["AVISITN"] == v) & t["AVAL"].notna()]
        for param in params:
            ids = set(at.loc[at["PARAMCD"] == param, "USUBJID"])
            have = ids if have is None else have & ids
    label = D.visits().get(int(visit), visit)
    for arm in D.arms():
        arm_ids = itt.loc[itt["TRT01P"] == arm, "USUBJID"]
        n = len(set(arm_ids) & (have or set()))
        if n < lo:
            rows = np.flatnonzero((t["AVISITN"] == visit) & t["PARAMCD"].isin(params)
                                  & t["USUBJID"].isin(arm_ids))
            where = (_rows(rows) if len(rows) else
                     f"no row with AVISITN {visit} for {' or '.join(params)} in arm {arm!r}")
            probs.append(Problem(file, "AVISITN", where, "primary-visit",
                                 f"{n} subject(s) of arm {arm!r} evaluable at the primary "
                                 f"visit ({label}: {' and '.join(params)} at baseline and "
                                 f"{label}); the primary analysis needs at least {lo} per arm"))
    return probs


def _dates(typed: dict[str, pd.DataFrame], fname: dict, cutoff, today: dt.date) -> list:
    """Dates later than the data cut-off (``after-cutoff``) or than today (``future-date``)."""
    probs: list[Problem] = []
    for name, t in typed.items():
        for col, cs in D.columns(name).items():
            if cs["type"] != "date" or col not in t or t.empty:
                continue
            d = pd.to_datetime(t[col], errors="coerce")
            future = d > pd.Timestamp(today)
            if future.any():
                probs.append(Problem(fname[name], col, _rows(np.flatnonzero(future)),
                                     "future-date", f"date(s) {_examples(d[future].dt.date)} "
                                     f"later than today ({today.isoformat()})"))
            if cutoff is not None:
                late = (d > pd.Timestamp(cutoff)) & ~future
                if late.any():
                    probs.append(Problem(fname[name], col, _rows(np.flatnonzero(late)),
                                         "after-cutoff", f"date(s) {_examples(d[late].dt.date)} "
                                         f"later than the data cut-off {cutoff.isoformat()} "
                                         "(cutoff in dataset.yaml)"))
    return probs


def _base_chg(t: pd.DataFrame, file: str) -> list[Problem]:
    probs = []
    base = t[t["AVISITN"] == 0].drop_duplicates(["USUBJID", "PARAMCD"])
    base = base.set_index(["USUBJID", "PARAMCD"])["AVAL"]
    idx = pd.MultiIndex.from_arrays([t["USUBJID"], t["PARAMCD"]])
    expect_base = pd.Series(base.reindex(idx).to_numpy(), index=t.index)
    tol = 1e-4
    bad = expect_base.notna() & ((t["BASE"] - expect_base).abs() > tol)
    bad |= expect_base.notna() & t["BASE"].isna()
    if bad.any():
        probs.append(Problem(file, "BASE", _rows(np.flatnonzero(bad)), "base-chg",
                             "BASE differs from the subject's baseline (AVISITN 0) AVAL"))
    wrong = (t["CHG"] - (t["AVAL"] - t["BASE"])).abs() > tol
    wrong |= t["CHG"].isna() & t["AVAL"].notna() & t["BASE"].notna()
    if wrong.any():
        probs.append(Problem(file, "CHG", _rows(np.flatnonzero(wrong)), "base-chg",
                             "CHG must equal AVAL - BASE"))
    return probs


def _disposition(adsl, adqs, fname) -> list[Problem]:
    probs = []
    if not {"EOSSTT", "DCSREAS", "DCSVISN", "USUBJID"} <= set(adsl.columns):
        return probs
    comp = adsl["EOSSTT"] == "COMPLETED"
    bad = (comp & (adsl["DCSREAS"] != "")) | (~comp & (adsl["DCSREAS"] == ""))
    if bad.any():
        probs.append(Problem(fname["adsl"], "DCSREAS", _rows(np.flatnonzero(bad)), "disposition",
                             "DCSREAS must be empty for COMPLETED and given for DISCONTINUED"))
    bad = comp & (adsl["DCSVISN"] != 24)
    if bad.any():
        probs.append(Problem(fname["adsl"], "DCSVISN", _rows(np.flatnonzero(bad)), "disposition",
                             "completers must have DCSVISN 24"))
    if adqs is not None and {"USUBJID", "AVISITN"} <= set(adqs.columns):
        last = adqs.groupby("USUBJID")["AVISITN"].max()
        got = adsl["USUBJID"].map(last)
        bad = got.notna() & adsl["DCSVISN"].notna() & (got != adsl["DCSVISN"])
        if bad.any():
            probs.append(Problem(fname["adsl"], "DCSVISN", _rows(np.flatnonzero(bad)),
                                 "disposition",
                                 "DCSVISN differs from the last visit present in adqs"))
    return probs


# ---------------------------------------------------------------------------- entry points


def validate_tables(tables: dict[str, D.RawTable], folder: str | Path | None = None) -> list:
    """Every problem of already-read tables (plus file-level rules when ``folder`` is given)."""
    return _validate(tables, folder)[1]


def _validate(tables, folder, meta=None, today=None, minimum=True):
    probs: list[Problem] = []
    if folder is not None:
        for name, paths in D.dataset_files(folder).items():
            if len(paths) > 1:
                probs.append(Problem(", ".join(p.name for p in paths), "", "", "duplicate-format",
                                     f"dataset {name} is present in more than one file; keep "
                                     "exactly one"))
    for name in D.DATASETS:
        if name not in tables:
            exts = "/".join(D.FORMATS.values())
            probs.append(Problem(f"{name}.{{{exts}}}", "", "", "file-present",
                                 f"required dataset {name} not found"))
    typed = {}
    for name, raw in tables.items():
        if raw.frame.empty and not D.dictionary()["datasets"][name].get("may_be_empty"):
            probs.append(Problem(raw.file, "", "", "empty-dataset",
                                 "the dataset is empty (header only)"))
        p, typed[name] = _check_table(raw)
        probs += p
    probs += _cross(tables, typed, minimum)
    meta = meta or {}
    cutoff = meta.get("cutoff")
    cutoff = cutoff if isinstance(cutoff, dt.date) else None
    fname = {n: t.file for n, t in tables.items()}
    probs += _dates(typed, fname, cutoff, today or dt.date.today())
    n_decl = meta.get("n_randomised")
    if isinstance(n_decl, int) and "adsl" in typed and n_decl != len(typed["adsl"]):
        probs.append(Problem("dataset.yaml", "n_randomised", "", "dataset-yaml",
                             f"n_randomised is {n_decl} but {fname['adsl']} has "
                             f"{len(typed['adsl'])} rows"))
    return typed, probs


def validate_and_type(folder: str | Path, today: dt.date | None = None, minimum: bool = True
                      ) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Read and validate a folder; returns the typed tables (bad cells missing) and problems.

    ``today`` (default: the current date) is the limit of the ``future-date`` rule;
    ``minimum=False`` skips the minimum-data rules (for the contract's tiny test fixtures).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return {}, [Problem(str(folder), "", "", "file-present", "not a folder of trial data")]
    meta, probs = metadata_problems(folder)
    tables, unreadable = {}, set()
    for name, paths in D.dataset_files(folder).items():
        try:
            tables[name] = D.RawTable(name, paths[0], D.read_file(paths[0]))
        except D.FileProblem as exc:
            probs.append(Problem(paths[0].name, exc.column,
                                 f"line {exc.line}" if exc.line else "", exc.rule, exc.message))
            unreadable.add(name)
        except Exception as exc:  # noqa: BLE001 - any reader failure is reported
            probs.append(Problem(paths[0].name, "", "", "readable", f"cannot read: {exc}"))
            unreadable.add(name)
    typed, rest = _validate(tables, folder, meta, today, minimum)
    rest = [p for p in rest if not (p.rule == "file-present"
                                    and any(p.file.startswith(n + ".") for n in unreadable))]
    return typed, probs + rest


def metadata_problems(folder: str | Path) -> tuple[dict, list[Problem]]:
    """``(metadata, problems)`` of the folder's ``dataset.yaml`` (``({}, [])`` when absent).

    A YAML syntax error is reported with its line and column (``yaml-syntax``); keys and
    types are checked with jsonschema against ``dataset_yaml_schema`` of the dictionary
    (``dataset-yaml``), each problem naming the key and its line. ``cutoff`` is returned as a
    :class:`datetime.date` when valid.
    """
    p = Path(folder) / "dataset.yaml"
    if not p.exists():
        return {}, []
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        return {}, [Problem(p.name, "", f"line {line}", "encoding",
                            f"byte 0x{raw[err.start]:02X} at byte offset {err.start} is not "
                            "UTF-8: re-save as UTF-8")]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        meta = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = "; ".join(x for x in (err.context, err.problem) if x)
        return {}, [Problem(p.name, "", where, "yaml-syntax", f"invalid YAML: {what}")]
    except yaml.YAMLError as err:
        return {}, [Problem(p.name, "", "", "yaml-syntax", f"invalid YAML: {err}")]
    if meta is None:
        return {}, []
    probs = _schema_problems(meta, node, p.name)
    if not isinstance(meta, dict):
        return {}, probs
    meta = dict(meta)
    if "cutoff" in meta and not any(q.column == "cutoff" for q in probs):
        meta["cutoff"] = dt.date.fromisoformat(str(meta["cutoff"]))
    elif "cutoff" in meta:
        meta.pop("cutoff")
    return meta, probs


def check_metadata(folder: str | Path) -> dict:
    """The folder's valid ``dataset.yaml`` (``{}`` when absent), else raise
    :class:`analysis.data.DataError` naming the line and rule: for callers that read the
    metadata before the full validation (the render's page marks)."""
    meta, probs = metadata_problems(folder)
    if probs:
        raise D.DataError(probs)
    return meta


def _schema_problems(meta, node, file: str) -> list[Problem]:
    """Key and type checks of ``dataset.yaml`` against ``dataset_yaml_schema`` (jsonschema)."""

    def jsonable(v):
        if isinstance(v, dict):
            return {str(k): jsonable(x) for k, x in v.items()}
        if isinstance(v, list):
            return [jsonable(x) for x in v]
        return v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v

    schema = D.dictionary()["dataset_yaml_schema"]
    known = schema["properties"]
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    probs = []
    for err in sorted(validator.iter_errors(jsonable(meta)), key=lambda e: list(map(str, e.path))):
        key = str(err.path[0]) if err.path else ""
        if err.validator == "additionalProperties":
            for extra in sorted(set(map(str, meta)) - set(known)):
                probs.append(Problem(file, extra, _key_line(node, extra), "dataset-yaml",
                                     f"unknown key {extra!r}; the known keys are "
                                     f"{', '.join(known)}"))
            continue
        expect = known.get(key, {}).get("description")
        msg = (f"{key} is {err.instance!r}, expected {expect}" if key and expect
               else err.message)
        probs.append(Problem(file, key, _key_line(node, key), "dataset-yaml", msg))
    return probs


def _key_line(node, key: str) -> str:
    """``'line N'`` of a top-level key in the composed YAML document (or of the document)."""
    if node is None:
        return ""
    if isinstance(node, yaml.MappingNode):
        for k, _v in node.value:
            if str(k.value) == key:
                return f"line {k.start_mark.line + 1}"
    return f"line {node.start_mark.line + 1}"


def notes(folder: str | Path) -> list[str]:
    """One line per file of a data format that holds no dataset of the contract (ignored)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    extra = [p.name for p in sorted(folder.iterdir())
             if p.is_file() and p.suffix.lower() in D.FORMATS and p.stem.lower() not in D.DATASETS]
    return [f"note: {name} is not a dataset of the data contract "
            f"({', '.join(D.DATASETS)}); it is ignored" for name in extra]


def check_folder(folder: str | Path, today: dt.date | None = None, minimum: bool = True
                 ) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Read and validate a data folder; returns the typed tables and every problem."""
    return validate_and_type(folder, today, minimum)


def validate_folder(folder: str | Path, today: dt.date | None = None,
                    minimum: bool = True) -> list[Problem]:
    """Every problem of a data folder (empty when clean); arguments as
    :func:`validate_and_type`."""
    return check_folder(folder, today, minimum)[1]


def main(path: str | Path) -> int:
    """Print every problem of the folder and return 1, or a one-line OK summary and 0
    (notes on ignored files are printed either way)."""
    tables, probs = check_folder(path)
    for line in notes(path):
        print(line)
    if probs:
        print(f"{path}: {len(probs)} problem(s)")
        for p in probs:
            print(f"  - {p}")
        return 1
    n = {k: len(tables[k]) for k in D.DATASETS}
    print(f"{path}: OK - {n.get('adsl', 0)} randomised subjects, "
          + ", ".join(f"{k} {v} rows" for k, v in n.items() if k != "adsl"), file=sys.stdout)
    return 0
