"""Baseline characteristics (Table 1), computed with ``tableone`` into the results store.

:func:`baseline_rows` summarises every variable of :data:`BASELINE_VARS` by randomised arm
and overall (all randomised subjects): mean and SD for roughly normal variables, median and
quartiles for skewed ones, counts and percentages (of non-missing values) per level for
categorical ones, missing counts, absolute standardised mean differences (SMD) of each arm
against the control, and optionally p-values (off by default, as CONSORT advises).
:func:`table_one` lays the stored numbers out as a narrow table for the chapter and exports.

Store rows: endpoint ``"baseline:<VAR>"``; statistics ``n``, ``missing``, ``mean``, ``sd``,
``median``, ``q1``, ``q3`` (continuous), ``n`` and ``percent`` with ``group`` = level
(categorical), ``smd`` with ``arm = "<arm> vs <control>"``, ``p_value`` (optional); and
endpoint ``"baseline"``, statistic ``N`` per arm and overall (the column sizes).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.displays.formatting import fmt_int, fmt_num
from analysis.results import ResultsStore, result_row

INDENT = "\u00a0" * 4  # survives markdown, HTML, Typst and DOCX
POPULATION = "ITT"


@dataclass(frozen=True)
class Var:
    """A baseline variable: its name (adsl column or PARAMCD), source dataset and summary."""

    name: str
    dataset: str = "adsl"
    kind: str = "categorical"  # "normal" (mean, SD) | "nonnormal" (median, IQR) | "categorical"
    decimals: int = 1

    @property
    def continuous(self) -> bool:
        return self.kind != "categorical"


BASELINE_VARS: tuple[Var, ...] = (
    Var("AGE", kind="normal"),
    Var("SEX"),
    Var("BMI", kind="normal"),
    Var("COUNTRY"),
    Var("PAINDUR", kind="nonnormal", decimals=0),
    Var("SMOKER"),
    Var("WORKSTAT"),
    Var("ANALGUSE"),
    Var("DISCLVL"),
    Var("PFIRRMN"),
    Var("MODIC"),
    Var("VAS", "adqs", "normal"),
    Var("ODI", "adqs", "normal"),
    Var("SF36PCS", "adqs", "normal"),
    Var("SF36MCS", "adqs", "normal"),
    Var("T2", "admri", "normal"),
)
VALUE_LABELS = {"SEX": {"M": "Male", "F": "Female"}}


def variable_label(var: Var) -> str:
    """Human label with unit from the data dictionary (``column_label``/``param_label``)."""
    from analysis.data import column_label, param_label

    if var.dataset == "adsl":
        return column_label("adsl", var.name)
    return param_label(var.dataset, var.name)


def _allowed_levels(var: Var) -> list[str]:
    """Levels from the dictionary (``allowed`` or ``min``..``max`` for integers), else []."""
    from analysis.data import allowed_values, columns

    try:
        allowed = allowed_values(var.dataset, var.name)
        spec = columns(var.dataset)[var.name]
    except KeyError:
        return []
    if allowed:
        return [str(v) for v in allowed if str(v) != ""]
    if spec.get("type") == "int" and "min" in spec and "max" in spec:
        return [str(v) for v in range(int(spec["min"]), int(spec["max"]) + 1)]
    return []


def _as_category_text(s: pd.Series) -> pd.Series:
    """Values as text, missing as NaN (integers without ``.0``; the text "None" is a level)."""
    def conv(v):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return np.nan
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        v = str(v).strip()
        return v if v else np.nan
    return pd.Series([conv(v) for v in s], index=s.index, dtype=object)


def baseline_frame(trial, variables=BASELINE_VARS) -> pd.DataFrame:
    """One row per randomised subject: ``USUBJID``, ``TRT01P`` and each variable's value.

    adsl variables come from adsl; questionnaire scores from adqs (``ABLFL == "Y"``), MRI T2
    from admri (``AVISITN == 0``).
    """
    adsl = trial.adsl
    out = pd.DataFrame({"USUBJID": adsl["USUBJID"].astype(str).to_numpy(),
                        "TRT01P": adsl["TRT01P"].astype(str).to_numpy()})
    for var in variables:
        if var.dataset == "adsl":
            vals = adsl[var.name].reset_index(drop=True)
        else:
            src = getattr(trial, var.dataset)
            if var.dataset == "adqs":
                base = src[src["ABLFL"].fillna("").astype(str) == "Y"]
            else:
                base = src[pd.to_numeric(src["AVISITN"], errors="coerce") == 0]
            base = base[base["PARAMCD"] == var.name]
            vals = out["USUBJID"].map(base.groupby(base["USUBJID"].astype(str))["AVAL"].first())
        if var.continuous:
            out[var.name] = pd.to_numeric(vals, errors="coerce").astype(float).to_numpy()
        else:
            out[var.name] = _as_category_text(vals).to_numpy()
    return out


def _levels(var: Var, values: pd.Series) -> list[str]:
    """Dictionary levels (zeros kept) then any other observed level, sorted."""
    levels = _allowed_levels(var)
    seen = values.dropna().unique().tolist()
    extra = sorted((v for v in seen if v not in levels),
                   key=lambda v: (float(v), v) if _isnum(v) else (np.inf, v))
    return levels + extra


def _isnum(v) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def run_tableone(frame: pd.DataFrame, variables=BASELINE_VARS, *, smd: bool = True,
                 pval: bool = False):
    """The ``tableone.TableOne`` of ``frame`` by ``TRT01P`` (missing-aware, no null level)."""
    from tableone import TableOne

    cat = [v.name for v in variables if not v.continuous]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TableOne(
            frame, columns=[v.name for v in variables], categorical=cat,
            continuous=[v.name for v in variables if v.continuous],
            nonnormal=[v.name for v in variables if v.kind == "nonnormal"], groupby="TRT01P",
            smd=smd and frame["TRT01P"].nunique() > 1, pval=pval and frame["TRT01P"].nunique() > 1,
            include_null=False, missing=True, label_suffix=False,
            order={v.name: [lv for lv in _levels(v, frame[v.name]) if
                            lv in set(frame[v.name].dropna())] for v in variables
                   if not v.continuous})


def baseline_rows(trial, variables=BASELINE_VARS, *, smd: bool = True,
                  pval: bool = False) -> list[dict]:
    """Table 1 statistics of ``trial`` as results-store rows (see the module docstring)."""
    frame = baseline_frame(trial, variables)
    t1 = run_tableone(frame, variables, smd=smd, pval=pval)
    arms = list(trial.arms)
    rows: list[dict] = []

    def add(endpoint, stat, value, arm, group=""):
        rows.append(result_row(endpoint, stat, value, arm=arm, group=group,
                               population=POPULATION))

    size = {a: int((frame["TRT01P"] == a).sum()) for a in arms}
    size["Overall"] = len(frame)
    for arm, n in size.items():
        add("baseline", "N", n, arm)
    cont = {"count": "n", "mean": "mean", "std": "sd", "median": "median", "q25": "q1",
            "q75": "q3"}
    for var in variables:
        ep = f"baseline:{var.name}"
        values = frame[var.name]
        for arm in [*arms, "Overall"]:
            sub = values if arm == "Overall" else values[frame["TRT01P"] == arm]
            n_obs = int(sub.notna().sum())
            if var.continuous:
                desc = t1.cont_describe_all if arm == "Overall" else t1.cont_describe
                for src, stat in cont.items():
                    if stat == "n":
                        add(ep, "n", n_obs, arm)
                    elif n_obs == 0 or arm not in desc[src].columns and arm != "Overall":
                        add(ep, stat, np.nan, arm)
                    else:
                        add(ep, stat, float(desc[src][arm].loc[var.name]), arm)
            else:
                add(ep, "n", n_obs, arm)
                desc = t1.cat_describe_all if arm == "Overall" else t1.cat_describe
                for level in _levels(var, values):
                    key = (var.name, level)
                    has = (arm in desc["freq"].columns) and key in desc.index
                    count = int(desc["freq"][arm].loc[key]) if has else 0
                    add(ep, "n", count, arm, group=level)
                    add(ep, "percent", 100.0 * count / n_obs if n_obs else np.nan, arm,
                        group=level)
            add(ep, "missing", int(sub.isna().sum()), arm)
        if smd and len(arms) > 1:
            for arm in trial.experimental_arms if hasattr(trial, "experimental_arms") \
                    else [a for a in arms if a != trial.control_arm]:
                add(ep, "smd", _smd_of(t1, var.name, arm, trial.control_arm),
                    f"{arm} vs {trial.control_arm}")
        if pval and len(arms) > 1:
            p = t1.htest_table["P-Value"].loc[var.name] if hasattr(t1, "htest_table") else np.nan
            add(ep, "p_value", float(p), "Overall")
    return rows


def _smd_of(t1, name: str, arm: str, control: str) -> float:
    """Absolute SMD between ``arm`` and ``control`` from tableone's ``smd_table``."""
    table = getattr(t1, "smd_table", None)
    if table is None:
        return np.nan
    for col in (f"SMD ({arm},{control})", f"SMD ({control},{arm})"):
        if col in table.columns and name in table.index:
            return abs(float(table.loc[name, col]))
    return np.nan


def _fmt_cont(store, ep, arm, var: Var) -> str:
    def val(stat):
        return store.value(ep, stat, arm=arm, group="", population=POPULATION)

    d = var.decimals
    if val("n") == 0:
        return "–"
    if var.kind == "nonnormal":
        return f"{fmt_num(val('median'), d)} [{fmt_num(val('q1'), d)}, {fmt_num(val('q3'), d)}]"
    return f"{fmt_num(val('mean'), d)} ({fmt_num(val('sd'), d)})"


def column_header(arm: str, n: int) -> str:
    """Column title, e.g. ``'BM-MSC (n=58)'``."""
    return f"{arm} (n={n})"


def table_one(store: ResultsStore, arms, variables=BASELINE_VARS, *, smd: bool = False,
              pval: bool = False, missing: str = "ifany", labels: dict | None = None,
              pct_digits: int = 0) -> pd.DataFrame:
    """Table 1 laid out from the store: Characteristic | each arm | Overall [| SMD] [| p].

    Parameters
    ----------
    store : ResultsStore
        Holding the rows of :func:`baseline_rows`.
    arms : sequence of str
        Arm columns in order; the last is the control (for the SMD column).
    smd, pval : bool
        Add the (largest) SMD against control and the p-value columns.
    missing : {"ifany", "always", "no"}
        When to show a "Missing" row under a variable.
    labels : dict, optional
        Variable name -> label (default: :func:`variable_label`).
    pct_digits : int
        Decimals of the percentages.
    """
    arms = list(arms)
    cols = [*arms, "Overall"]
    size = {a: int(store.value("baseline", "N", arm=a, population=POPULATION)) for a in cols}
    header = {a: column_header(a, size[a]) for a in cols}
    records = []

    def rec(label, cells, smd_txt="", p_txt=""):
        r = {"Characteristic": label, **{header[a]: cells.get(a, "") for a in cols}}
        if smd:
            r["SMD"] = smd_txt
        if pval:
            r["p"] = p_txt
        records.append(r)

    for var in variables:
        ep = f"baseline:{var.name}"
        rows = store.select(ep, population=POPULATION)
        if rows.empty:
            continue
        label = (labels or {}).get(var.name) or variable_label(var)
        smd_txt = p_txt = ""
        if smd:
            s = rows.loc[rows["statistic"] == "smd", "value"]
            smd_txt = fmt_num(float(s.max()), 2) if len(s) and s.notna().any() else ""
        if pval:
            from analysis.displays.formatting import fmt_p
            s = rows.loc[rows["statistic"] == "p_value", "value"]
            p_txt = fmt_p(float(s.iloc[0])) if len(s) else ""
        if var.continuous:
            suffix = ", median [IQR]" if var.kind == "nonnormal" else ", mean (SD)"
            rec(label + suffix, {a: _fmt_cont(store, ep, a, var) for a in cols}, smd_txt, p_txt)
        else:
            rec(label + ", n (%)", {}, smd_txt, p_txt)
            stored = rows.loc[rows["group"] != "", "group"].drop_duplicates()
            levels = [lv for lv in _levels(var, stored) if lv in set(stored)]
            names = VALUE_LABELS.get(var.name, {})
            for level in levels:
                cells = {}
                for a in cols:
                    n = store.value(ep, "n", arm=a, group=level, population=POPULATION)
                    pct = store.value(ep, "percent", arm=a, group=level, population=POPULATION)
                    cells[a] = f"{fmt_int(n)} ({fmt_num(pct, pct_digits)})" \
                        if not np.isnan(pct) else fmt_int(n)
                rec(INDENT + names.get(level, level), cells)
        miss = {a: store.value(ep, "missing", arm=a, population=POPULATION) for a in cols}
        if missing == "always" or (missing == "ifany" and any(m > 0 for m in miss.values())):
            rec(INDENT + "Missing", {a: fmt_int(m) for a, m in miss.items()})
    return pd.DataFrame.from_records(records)
