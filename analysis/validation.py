"""Validation of a trial data folder against its data contract (:func:`analysis.data.dictionary`:
the generic ADaM contract, what the trial's specification implies and the trial's own
dictionary).

Every problem names the file, the column, the row(s) (1-based data rows as in the file:
row 1 is the first row after the header) or the subject(s) (USUBJID), and the rule broken.
All problems are collected; :func:`analysis.data.load_trial` raises one
:class:`analysis.data.DataError` listing them, and ``python -m analysis validate DIR``
prints them and exits 1 (0 with a one-line summary when the folder is clean).

Rules (the ``rule`` names in messages): ``file-present``, ``duplicate-format``,
``readable``, ``direct-identifier``, ``column-present``, ``type``, ``missing-value``,
``allowed-values``, ``allowed-arm``, ``allowed-visit``, ``range``, ``unique-key``,
``known-subject``, ``baseline-present``, ``baseline-flag``, ``date-order``, ``study-day``,
``base-chg``, ``positivity-flag``, ``population``, ``disposition`` (only when the
specification declares the disposition module); file-level
``encoding`` (the line of the first byte that is not UTF-8, with the encoding it looks
like), ``empty-file``, ``empty-dataset`` (header only); dates ``after-cutoff`` (later than
``cutoff`` in ``dataset.yaml``) and ``future-date`` (later than today); ``dataset.yaml``
``yaml-syntax`` (line and column of the YAML error) and ``dataset-yaml`` (keys and types,
checked with jsonschema against ``dataset_yaml_schema`` in the dictionary); and the minimum
data for the report to be estimable (``minimum_data`` in the dictionary, the evaluable
endpoints being the specification's decision endpoints): ``arm-size``, ``arm-treated``,
``arm-per-protocol``, ``primary-visit``. Then the data are checked against the values the
specification names (:func:`analysis.spec.contract.check_data`): a declared arm or visit
that does not occur in the data (``spec-arm``, ``spec-visit``), a parameter code absent from
its dataset (``spec-parameter``); these name the specification file, key and line.

A dataset is required only when an endpoint or a declared module without a dataset of its
own needs it; a module whose dataset is absent is off. Files of a data format that hold no
dataset of the trial (``adcm.csv``) are not an error: they are named once in a note
(:func:`notes`) and ignored.
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


def _looks_like_identifier(col: str, known: set[str], spec=None) -> bool:
    """True when a column name looks like a direct identifier (rules in the dictionary;
    without ``spec``, the generic contract's).

    >>> [_looks_like_identifier(c, set()) for c in ("TEL_MOBILE", "DOBDT", "SITE_NAME", "AGE")]
    [True, True, False, False]
    """
    d = D.dictionary(spec) if spec is not None else D.generic()
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


def _check_table(raw: D.RawTable, trial_spec=None) -> tuple[list[Problem], pd.DataFrame]:
    """Single-table rules; returns the problems and the typed frame (bad cells as missing)."""
    probs: list[Problem] = []
    f = raw.file
    spec = D.columns(raw.name, trial_spec)
    ts = D.resolve_spec(trial_spec)
    arm_cols = {ts.data.arm_column, ts.data.actual_arm_column}
    df = raw.frame
    for col in df.columns:
        if _looks_like_identifier(col, set(spec), ts):
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
        allowed = D.allowed_values(raw.name, col, ts)
        if allowed is not None:
            ok_vals = [str(a) for a in allowed] if typ in ("str", "flag") else allowed
            cmp = vals if typ in ("str", "flag") else vals
            notok = ~cmp.isin(ok_vals) & ~empty & ~bad
            if typ not in ("str", "flag"):
                notok &= cmp.notna()
            if notok.any():
                src = cs.get("allowed_from")
                rule = ("allowed-arm" if col in arm_cols or src == "arms" else
                        "allowed-visit" if col in ("AVISIT", "AVISITN")
                        or src in ("visits", "visit_numbers") else "allowed-values")
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
    probs += _parameter_ranges(typed, f, D.dictionary(ts)["datasets"][raw.name])
    key = D.dictionary(ts)["datasets"][raw.name].get("key", [])
    if all(k in typed.columns for k in key) and len(typed):
        dup = typed.duplicated(key, keep=False)
        if dup.any():
            probs.append(Problem(f, "+".join(key), _rows(np.flatnonzero(dup)), "unique-key",
                                 f"duplicate key ({', '.join(key)}) in {int(dup.sum())} rows"))
    return probs, typed


def _parameter_ranges(typed: pd.DataFrame, f: str, dspec: dict) -> list[Problem]:
    """``range``: AVAL outside the valid range of its parameter (PARAMCD)."""
    probs = []
    if not {"PARAMCD", "AVAL"} <= set(typed.columns) or typed.empty:
        return probs
    aval = pd.to_numeric(typed["AVAL"], errors="coerce")
    col = dspec["columns"].get("AVAL", {})
    clo, chi = col.get("min"), col.get("max")  # cells outside these are reported already
    seen = ((aval < clo) if clo is not None else False) | ((aval > chi) if chi is not None
                                                          else False)
    for code, ps in dspec.get("parameters", {}).items():
        lo, hi = ps.get("min"), ps.get("max")
        if lo is None and hi is None:
            continue
        out = (typed["PARAMCD"] == code) & aval.notna() & ~seen
        out &= ((aval < lo) if lo is not None else False) | ((aval > hi) if hi is not None
                                                            else False)
        if out.any():
            probs.append(Problem(f, "AVAL", _rows(np.flatnonzero(out)), "range",
                                 f"{code} value(s) {_examples(aval[out])} outside the valid "
                                 f"range {D._range_text(lo, hi)} of the parameter"))
    return probs


# ---------------------------------------------------------------------------- across tables


def _cross(tables: dict[str, D.RawTable], typed: dict[str, pd.DataFrame],
           minimum: bool = True, spec=None) -> list[Problem]:
    probs: list[Problem] = []
    spec = D.resolve_spec(spec)
    dic = D.dictionary(spec)
    subj = spec.data.subject_column
    if "adsl" not in typed or subj not in typed["adsl"]:
        return probs
    adsl = typed["adsl"]
    if adsl.empty:  # reported as empty-dataset; every subject elsewhere would be an orphan
        return probs
    fname = {n: t.file for n, t in tables.items()}
    roles = {n: ds["role"] for n, ds in dic["datasets"].items()}
    known = set(adsl[subj])
    randdt = adsl.set_index(subj)["RANDDT"] if "RANDDT" in adsl else None
    if randdt is not None:
        randdt = randdt[~randdt.index.duplicated()]

    # every subject known to adsl
    for name, t in typed.items():
        if name == "adsl" or subj not in t:
            continue
        ids = t[subj]
        orphan = (ids != "") & ~ids.isin(known)
        if orphan.any():
            probs.append(Problem(fname[name], subj, _rows(np.flatnonzero(orphan)),
                                 "known-subject",
                                 f"subject(s) {_examples(ids[orphan])} not found in adsl"))

    # screening log <-> adsl
    scr_mod = spec.modules.get("screening") or {}
    scr = typed.get(scr_mod.get("dataset", ""))
    rflag = scr_mod.get("randomised_flag")
    if scr is not None and rflag and {subj, rflag} <= set(scr.columns):
        sfile = fname[scr_mod["dataset"]]
        inconsistent = (scr[rflag] == "Y") != (scr[subj] != "")
        if inconsistent.any():
            probs.append(Problem(sfile, rflag, _rows(np.flatnonzero(inconsistent)),
                                 "population", f"{rflag} must be Y exactly when {subj} is given"))
        missing = known - set(scr[subj])
        if missing and not scr.empty:
            probs.append(Problem(fname["adsl"], subj, _subjects(missing), "known-subject",
                                 "randomised subject(s) absent from the screening log"))

    # population flags in adsl: the as-treated population and the ITT population
    actual = spec.data.actual_arm_column
    for pop in spec.populations.values():
        if pop.arm != "actual":
            continue
        if {pop.flag, "TRTSDT", actual} <= set(adsl.columns):
            bad = (adsl[pop.flag] == "Y") != adsl["TRTSDT"].notna()
            bad |= (adsl[pop.flag] == "Y") != (adsl[actual] != "")
            if bad.any():
                probs.append(Problem(fname["adsl"], pop.flag, _rows(np.flatnonzero(bad)),
                                     "population", f"{pop.flag} must be Y exactly when TRTSDT "
                                     f"and {actual} are given"))
    itt = spec.populations.get("itt")
    if itt is not None and itt.flag in adsl:
        bad = adsl[itt.flag] != "Y"
        if bad.any():
            probs.append(Problem(fname["adsl"], itt.flag, _rows(np.flatnonzero(bad)),
                                 "population",
                                 "every randomised subject belongs to the ITT population"))

    # dates not before randomisation, study days
    if randdt is not None:
        if "TRTSDT" in adsl:
            early = adsl["TRTSDT"] < adsl["RANDDT"]
            if early.any():
                probs.append(Problem(fname["adsl"], "TRTSDT", _rows(np.flatnonzero(early)),
                                     "date-order", "treatment start date before RANDDT"))
        for name, t in typed.items():
            dcol, ycol = (("ASTDT", "ASTDY") if roles.get(name) == "adae" else ("ADT", "ADY"))
            if name == "adsl" or not {subj, dcol} <= set(t.columns):
                continue
            if not pd.api.types.is_datetime64_any_dtype(t[dcol]):
                continue
            rd = t[subj].map(randdt)
            early = t[dcol] < rd
            if early.any():
                probs.append(Problem(fname[name], dcol, _rows(np.flatnonzero(early)),
                                     "date-order",
                                     f"date before the subject's RANDDT (subject(s) "
                                     f"{_examples(t[subj][early])})"))
            if ycol in t:
                expect = (t[dcol] - rd).dt.days + 1
                wrong = expect.notna() & t[ycol].notna() & (t[ycol] != expect)
                if wrong.any():
                    probs.append(Problem(fname[name], ycol, _rows(np.flatnonzero(wrong)),
                                         "study-day", f"{ycol} must equal {dcol} - RANDDT + 1"))

    # visit label matches visit number, baseline flag, BASE/CHG
    vis = D.visits(spec)
    b0 = spec.baseline_visit
    for name, t in typed.items():
        if roles.get(name) != "bds":
            continue
        if {"AVISIT", "AVISITN"} <= set(t.columns):
            lab = t["AVISITN"].map(vis)
            bad = lab.notna() & t["AVISIT"].isin(list(vis.values())) & (lab != t["AVISIT"])
            if bad.any():
                probs.append(Problem(fname[name], "AVISIT", _rows(np.flatnonzero(bad)),
                                     "allowed-visit", "AVISIT does not match AVISITN"))
        if {"ABLFL", "AVISITN"} <= set(t.columns):
            bad = (t["ABLFL"] == "Y") != (t["AVISITN"] == b0)
            if bad.any():
                probs.append(Problem(fname[name], "ABLFL", _rows(np.flatnonzero(bad)),
                                     "baseline-flag",
                                     f"ABLFL must be Y exactly at AVISITN {b0}"))
        if {subj, "PARAMCD", "AVISITN", "AVAL", "BASE", "CHG"} <= set(t.columns):
            probs += _base_chg(t, fname[name], subj, b0)

    # baseline present for every subject of the population of a decision endpoint's rule
    for ep in dic["minimum_data"]["endpoints"]:
        e = spec.endpoint(ep["endpoint"])
        t = typed.get(ep["dataset"])
        flag = ep["population"]
        if e.rule is None or t is None or not {subj, "PARAMCD", "AVISITN"} <= set(t.columns) \
                or flag not in adsl:
            continue
        pop = adsl.loc[adsl[flag] == "Y", subj]
        base = t[t["AVISITN"] == b0]
        for param in ep["parameters"]:
            have = set(base.loc[base["PARAMCD"] == param, subj])
            lack = [u for u in pop if u not in have]
            if lack:
                who = spec.populations[e.population].label if e.population in \
                    spec.populations else flag
                probs.append(Problem(fname[ep["dataset"]], "AVISITN", _subjects(lack),
                                     "baseline-present",
                                     f"no baseline (AVISITN {b0}) {param} record for "
                                     f"subject(s) of the {who} ({flag} Y)"))

    # immune positivity flag
    imm_mod = spec.modules.get("immunogenicity") or {}
    imm = typed.get(imm_mod.get("dataset", ""))
    if imm is not None and {"AVAL", "POSFL"} <= set(imm.columns) \
            and "immune_positivity_threshold" in dic:
        thr = float(dic["immune_positivity_threshold"])
        bad = imm["AVAL"].notna() & ((imm["AVAL"] >= thr) != (imm["POSFL"] == "Y"))
        if bad.any():
            probs.append(Problem(fname[imm_mod["dataset"]], "POSFL", _rows(np.flatnonzero(bad)),
                                 "positivity-flag",
                                 f"POSFL must be Y exactly when AVAL >= {thr:g}"))

    probs += _disposition(adsl, typed, fname, spec)
    if minimum:
        probs += _estimable(adsl, typed, fname, spec)
    return probs


def _estimable(adsl: pd.DataFrame, typed: dict, fname: dict, spec) -> list[Problem]:
    """The minimum data for every analysis to be estimable (``minimum_data``): enough
    randomised, treated and per-protocol subjects in each arm, and enough subjects with
    each decision endpoint at baseline and its visit. Below that the models cannot be fitted."""
    probs: list[Problem] = []
    need = D.dictionary(spec).get("minimum_data", {})
    subj, armcol = spec.data.subject_column, spec.data.arm_column
    if not {armcol, subj} <= set(adsl.columns):
        return probs
    f = fname["adsl"]
    arms = D.arms(spec)
    n_rand = adsl[armcol].value_counts()
    for arm in arms:
        rows = np.flatnonzero(adsl[armcol] == arm)
        n, lo = int(n_rand.get(arm, 0)), int(need.get("randomised_per_arm", 1))
        if n < lo:
            where = _rows(rows) if n else (_rows(range(len(adsl))) if len(adsl) <= MAX_LISTED
                                           else f"all {len(adsl)} rows")
            found = ", ".join(f"{a!r} {int(k)}" for a, k in n_rand.items())
            probs.append(Problem(f, armcol, where, "arm-size",
                                 f"{n} subject(s) randomised to {arm!r} (found {found}); the "
                                 f"report compares the arms {list(arms)} and needs at least "
                                 f"{lo} subjects in each"))
    if any(p.rule == "arm-size" for p in probs):
        return probs
    checks = []
    for pop in spec.populations.values():
        if pop.arm == "actual":
            checks.append(("arm-treated", pop.flag, spec.data.actual_arm_column,
                           "treated_per_arm", f"treated ({pop.flag} Y, by actual arm "
                           f"{spec.data.actual_arm_column})"))
    pp = spec.populations.get("per_protocol")
    if pp is not None and pp.arm != "actual":
        checks.append(("arm-per-protocol", pp.flag, armcol, "per_protocol_per_arm",
                       f"in the per-protocol population ({pp.flag} Y)"))
    for rule, flag, col, key, what in checks:
        if not {flag, col} <= set(adsl.columns):
            continue
        lo = int(need.get(key, 1))
        for arm in arms:
            n = int(((adsl[flag] == "Y") & (adsl[col] == arm)).sum())
            if n < lo:
                probs.append(Problem(f, flag, _rows(np.flatnonzero(adsl[armcol] == arm)),
                                     rule, f"{n} subject(s) of arm {arm!r} {what}; the "
                                     f"analyses need at least {lo} per arm"))
    lo = int(need.get("evaluable_per_arm", 1))
    for ep in need.get("endpoints", []):
        t = typed.get(ep["dataset"])
        if t is None or t.empty or not {subj, "PARAMCD", "AVISITN", "AVAL"} <= set(t.columns):
            continue
        flag = ep["population"]
        pop = adsl[adsl[flag] == "Y"] if flag in adsl else adsl
        probs += _evaluable(t, fname[ep["dataset"]], pop, ep["parameters"], ep["visit"], lo,
                            spec)
    return probs


def _evaluable(t, file, pop, params, visit, lo, spec) -> list[Problem]:
    """``primary-visit``: fewer than ``lo`` subjects of an arm with every parameter of an
    endpoint at its visit and at baseline."""
    probs = []
    subj, armcol = spec.data.subject_column, spec.data.arm_column
    have = None
    for v in (spec.baseline_visit, visit):
        at = t[(t["AVISITN"] == v) & t["AVAL"].notna()]
        for param in params:
            ids = set(at.loc[at["PARAMCD"] == param, subj])
            have = ids if have is None else have & ids
    label = D.visits(spec).get(int(visit), visit)
    what = "the primary visit" if visit == spec.primary_visit else "its visit"
    for arm in D.arms(spec):
        arm_ids = pop.loc[pop[armcol] == arm, subj]
        n = len(set(arm_ids) & (have or set()))
        if n < lo:
            rows = np.flatnonzero((t["AVISITN"] == visit) & t["PARAMCD"].isin(params)
                                  & t[subj].isin(arm_ids))
            where = (_rows(rows) if len(rows) else
                     f"no row with AVISITN {visit} for {' or '.join(params)} in arm {arm!r}")
            probs.append(Problem(file, "AVISITN", where, "primary-visit",
                                 f"{n} subject(s) of arm {arm!r} evaluable at {what} "
                                 f"({label}: {' and '.join(params)} at baseline and "
                                 f"{label}); the decision analysis needs at least {lo} per arm"))
    return probs


def _dates(typed: dict[str, pd.DataFrame], fname: dict, cutoff, today: dt.date,
           spec=None) -> list:
    """Dates later than the data cut-off (``after-cutoff``) or than today (``future-date``)."""
    probs: list[Problem] = []
    for name, t in typed.items():
        for col, cs in D.columns(name, spec).items():
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


def _base_chg(t: pd.DataFrame, file: str, subj: str = "USUBJID", b0: int = 0) -> list[Problem]:
    probs = []
    base = t[t["AVISITN"] == b0].drop_duplicates([subj, "PARAMCD"])
    base = base.set_index([subj, "PARAMCD"])["AVAL"]
    idx = pd.MultiIndex.from_arrays([t[subj], t["PARAMCD"]])
    expect_base = pd.Series(base.reindex(idx).to_numpy(), index=t.index)
    tol = 1e-4
    bad = expect_base.notna() & ((t["BASE"] - expect_base).abs() > tol)
    bad |= expect_base.notna() & t["BASE"].isna()
    if bad.any():
        probs.append(Problem(file, "BASE", _rows(np.flatnonzero(bad)), "base-chg",
                             f"BASE differs from the subject's baseline (AVISITN {b0}) AVAL"))
    wrong = (t["CHG"] - (t["AVAL"] - t["BASE"])).abs() > tol
    wrong |= t["CHG"].isna() & t["AVAL"].notna() & t["BASE"].notna()
    if wrong.any():
        probs.append(Problem(file, "CHG", _rows(np.flatnonzero(wrong)), "base-chg",
                             "CHG must equal AVAL - BASE"))
    return probs


def _disposition(adsl, typed, fname, spec) -> list[Problem]:
    """``disposition`` (only when the specification declares the module): the reason is
    given exactly for those who did not complete; completers attended the last scheduled
    visit; the last visit attended is the last visit of the repeated endpoints' datasets."""
    probs = []
    mod = spec.modules.get("disposition")
    if not mod:
        return probs
    subj = spec.data.subject_column
    status, reason = mod.get("status_column"), mod.get("reason_column")
    lastcol, done = mod.get("last_visit_column"), mod.get("completed_value", "COMPLETED")
    f = fname["adsl"]
    if status not in adsl.columns:
        return probs
    comp = adsl[status] == done
    if reason and reason in adsl.columns:
        bad = (comp & (adsl[reason] != "")) | (~comp & (adsl[reason] == ""))
        if bad.any():
            probs.append(Problem(f, reason, _rows(np.flatnonzero(bad)), "disposition",
                                 f"{reason} must be empty for {done} and given otherwise"))
    if not lastcol or lastcol not in adsl.columns:
        return probs
    final = spec.visit_numbers[-1]
    bad = comp & (adsl[lastcol] != final)
    if bad.any():
        probs.append(Problem(f, lastcol, _rows(np.flatnonzero(bad)), "disposition",
                             f"completers must have {lastcol} {final} (the last scheduled "
                             "visit)"))
    names = list(dict.fromkeys(e.dataset for e in spec.endpoints
                               if e.kind == "repeated_continuous" and e.dataset))
    frames = [typed[n][[subj, "AVISITN"]] for n in names
              if n in typed and {subj, "AVISITN"} <= set(typed[n].columns)]
    if frames:
        last = pd.concat(frames).groupby(subj)["AVISITN"].max()
        got = adsl[subj].map(last)
        bad = got.notna() & adsl[lastcol].notna() & (got != adsl[lastcol])
        if bad.any():
            probs.append(Problem(f, lastcol, _rows(np.flatnonzero(bad)), "disposition",
                                 f"{lastcol} differs from the last visit present in "
                                 f"{', '.join(names)}"))
    return probs


# ---------------------------------------------------------------------------- entry points


def validate_tables(tables: dict[str, D.RawTable], folder: str | Path | None = None,
                    spec=None) -> list:
    """Every problem of already-read tables (plus file-level rules when ``folder`` is given)."""
    return _validate(tables, folder, spec=spec)[1]


def _spec_problems(spec, tables: dict[str, D.RawTable]) -> list[Problem]:
    """The data checked against the values the specification names (arms, visits, parameter
    codes), as problems naming the specification file, key and line. Rules validation
    already covers (datasets, columns, types, ranges, keys) are left to it."""
    from analysis.spec.contract import check_data

    covered = {"dataset", "column", "read", "one file", "one row per subject", "flag", "type",
               "range", "folder"}
    frames = {n: (t.file, t.frame) for n, t in tables.items()}
    out = []
    for sp in check_data(spec, frames=frames):
        rule = sp.rule.removeprefix("data: ")
        if rule in covered:
            continue
        out.append(Problem(_shown(sp.file), sp.key, f"line {sp.line}" if sp.line else "",
                           "spec-" + rule.replace(" ", "-"), sp.message))
    return out


def _shown(path: str) -> str:
    """A path relative to the working folder when it is inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _validate(tables, folder, meta=None, today=None, minimum=True, spec=None):
    spec = D.resolve_spec(spec)
    dic = D.dictionary(spec)
    probs: list[Problem] = []
    if folder is not None:
        for name, paths in D.dataset_files(folder, dic["datasets"]).items():
            if len(paths) > 1:
                probs.append(Problem(", ".join(p.name for p in paths), "", "", "duplicate-format",
                                     f"dataset {name} is present in more than one file; keep "
                                     "exactly one"))
    for name, ds in dic["datasets"].items():
        if ds["required"] and name not in tables:
            exts = "/".join(D.FORMATS.values())
            probs.append(Problem(f"{name}.{{{exts}}}", "", "", "file-present",
                                 f"required dataset {name} not found"))
    typed = {}
    for name, raw in tables.items():
        if raw.frame.empty and not dic["datasets"][name].get("may_be_empty"):
            probs.append(Problem(raw.file, "", "", "empty-dataset",
                                 "the dataset is empty (header only)"))
        p, typed[name] = _check_table(raw, spec)
        probs += p
    probs += _cross(tables, typed, minimum, spec)
    meta = meta or {}
    cutoff = meta.get("cutoff")
    cutoff = cutoff if isinstance(cutoff, dt.date) else None
    fname = {n: t.file for n, t in tables.items()}
    probs += _dates(typed, fname, cutoff, today or dt.date.today(), spec)
    n_decl = meta.get("n_randomised")
    if isinstance(n_decl, int) and "adsl" in typed and n_decl != len(typed["adsl"]):
        probs.append(Problem("dataset.yaml", "n_randomised", "", "dataset-yaml",
                             f"n_randomised is {n_decl} but {fname['adsl']} has "
                             f"{len(typed['adsl'])} rows"))
    if minimum and not probs and "adsl" in tables:  # on data that meet every other rule
        probs += _spec_problems(spec, tables)
    return typed, probs


def validate_and_type(folder: str | Path, today: dt.date | None = None, minimum: bool = True,
                      spec=None) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Read and validate a folder; returns the typed tables (bad cells missing) and problems.

    ``today`` (default: the current date) is the limit of the ``future-date`` rule;
    ``minimum=False`` skips the minimum-data rules and the completeness checks against the
    specification (every declared arm, visit and parameter present), for the contract's tiny
    test fixtures;
    ``spec``: the trial's specification (default: the one in use).
    """
    spec = D.resolve_spec(spec)
    folder = Path(folder)
    if not folder.is_dir():
        return {}, [Problem(str(folder), "", "", "file-present", "not a folder of trial data")]
    meta, probs = metadata_problems(folder)
    tables, unreadable = {}, set()
    for name, paths in D.dataset_files(folder, D.datasets(spec)).items():
        try:
            tables[name] = D.RawTable(name, paths[0], D.read_file(paths[0]))
        except D.FileProblem as exc:
            probs.append(Problem(paths[0].name, exc.column,
                                 f"line {exc.line}" if exc.line else "", exc.rule, exc.message))
            unreadable.add(name)
        except Exception as exc:  # noqa: BLE001 - any reader failure is reported
            probs.append(Problem(paths[0].name, "", "", "readable", f"cannot read: {exc}"))
            unreadable.add(name)
    typed, rest = _validate(tables, folder, meta, today, minimum, spec)
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

    schema = D.generic()["dataset_yaml_schema"]
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


def notes(folder: str | Path, spec=None) -> list[str]:
    """One line per file of a data format that holds no dataset of the trial (ignored)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    names = D.datasets(spec)
    extra = [p.name for p in sorted(folder.iterdir())
             if p.is_file() and p.suffix.lower() in D.FORMATS and p.stem.lower() not in names]
    return [f"note: {name} is not a dataset of the data contract "
            f"({', '.join(names)}); it is ignored" for name in extra]


def check_folder(folder: str | Path, today: dt.date | None = None, minimum: bool = True,
                 spec=None) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Read and validate a data folder; returns the typed tables and every problem."""
    return validate_and_type(folder, today, minimum, spec)


def validate_folder(folder: str | Path, today: dt.date | None = None,
                    minimum: bool = True, spec=None) -> list[Problem]:
    """Every problem of a data folder (empty when clean); arguments as
    :func:`validate_and_type`."""
    return check_folder(folder, today, minimum, spec)[1]


def main(path: str | Path | None = None, spec=None) -> int:
    """Print every problem of the folder and return 1, or a one-line OK summary and 0
    (notes on ignored files are printed either way). ``path`` defaults to the
    specification's data folder; ``spec`` to the specification in use."""
    spec = D.resolve_spec(spec)
    if path is None:
        from analysis.spec.locate import data_folder

        path = data_folder(spec)
    tables, probs = check_folder(path, spec=spec)
    for line in notes(path, spec):
        print(line)
    if probs:
        print(f"{path}: {len(probs)} problem(s)")
        for p in probs:
            print(f"  - {p}")
        return 1
    n = {k: len(tables[k]) for k in D.datasets(spec) if k in tables}
    others = ", ".join(f"{k} {v} rows" for k, v in n.items() if k != "adsl")
    print(f"{path}: OK - {n.get('adsl', 0)} randomised subjects"
          + (f", {others}" if others else "") + f" ({spec.identity.short_name})",
          file=sys.stdout)
    return 0
