"""Baseline characteristics (Table 1), computed with ``tableone`` into the results store.

The variables are the specification's ``baseline_table`` (:func:`variables`): ADSL columns and
endpoints' baseline values, each with its summary type, label, unit, levels, value labels and
decimals. :func:`baseline_rows` summarises every variable by randomised arm and overall (all
randomised subjects): mean and SD for roughly normal variables, median and quartiles for
skewed ones, counts and percentages (of non-missing values) per level for categorical ones,
missing counts, absolute standardised mean differences (SMD) of each arm against the control,
and optionally p-values (off by default, as CONSORT advises). :func:`table_one` lays the
stored numbers out as a narrow table for the chapter and exports.

Store rows: endpoint ``"baseline:<VAR>"`` (``VAR`` = the ADSL column, or the endpoint's
PARAMCD); statistics ``n``, ``missing``, ``mean``, ``sd``, ``median``, ``q1``, ``q3``
(continuous), ``n`` and ``percent`` with ``group`` = level (categorical), ``smd`` with
``arm = "<arm> vs <control>"``, ``p_value`` (optional); and endpoint ``"baseline"``, statistic
``N`` per arm and overall (the column sizes).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.displays.formatting import fmt_int, fmt_num
from analysis.results import ResultsStore, result_row

INDENT = "\u00a0" * 4  # survives markdown, HTML, Typst and DOCX
POPULATION = "ITT"


@dataclass(frozen=True)
class Var:
    """A baseline variable: its name (ADSL column or PARAMCD), source dataset and summary.

    ``label``, ``unit``, ``levels`` (display order, zeros shown) and ``value_labels`` come
    from the specification; without a label the name is shown.
    """

    name: str
    dataset: str = "adsl"
    kind: str = "categorical"  # "normal" (mean, SD) | "nonnormal" (median, IQR) | "categorical"
    decimals: int = 1
    label: str | None = None
    unit: str | None = None
    levels: tuple[str, ...] = ()
    value_labels: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def continuous(self) -> bool:
        return self.kind != "categorical"


def variables(spec) -> tuple[Var, ...]:
    """The baseline table of the specification as :class:`Var` items, in declared order."""
    out = []
    for b in spec.baseline_table:
        if b.endpoint:
            ep = spec.endpoint(b.endpoint)
            name, dataset = ep.paramcd, ep.dataset
            label, unit = b.label or ep.label, b.unit or ep.unit
        else:
            name, dataset, label, unit = b.column, "adsl", b.label or b.column, b.unit
        out.append(Var(name, dataset, b.type, b.decimals, label, unit,
                       tuple(str(v) for v in b.levels),
                       {str(k): str(v) for k, v in (b.value_labels or {}).items()}))
    return tuple(out)


def _variables(trial, given):
    return variables(trial.spec) if given is None else tuple(given)


def variable_label(var: Var) -> str:
    """Human label with its unit, e.g. ``'Age (years)'``."""
    label = var.label or var.name
    return f"{label} ({var.unit})" if var.unit else label


def _columns(trial) -> tuple[str, str, int]:
    """Subject column, arm column and baseline visit (from the specification, if any)."""
    spec = getattr(trial, "spec", None)
    if spec is None:
        return "USUBJID", "TRT01P", 0
    return spec.data.subject_column, spec.data.arm_column, spec.baseline_visit


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


def baseline_frame(trial, variables=None) -> pd.DataFrame:
    """One row per randomised subject: the subject and arm columns and each variable's value.

    ADSL variables come from ADSL; an endpoint's baseline is its ``AVAL`` on the record
    flagged ``ABLFL == "Y"`` (when the dataset flags baselines), else at the baseline visit.
    """
    variables = _variables(trial, variables)
    subj, arm, base_visit = _columns(trial)
    adsl = trial.adsl
    out = pd.DataFrame({subj: adsl[subj].astype(str).to_numpy(),
                        arm: adsl[arm].astype(str).to_numpy()})
    for var in variables:
        if var.dataset == "adsl":
            vals = adsl[var.name].reset_index(drop=True)
        else:
            src = _dataset(trial, var.dataset)
            src = src[src["PARAMCD"] == var.name]
            flagged = (src["ABLFL"].fillna("").astype(str) == "Y") if "ABLFL" in src.columns \
                else pd.Series(False, index=src.index)
            if flagged.any():
                base = src[flagged]
            else:
                base = src[pd.to_numeric(src["AVISITN"], errors="coerce") == base_visit]
            vals = out[subj].map(base.groupby(base[subj].astype(str))["AVAL"].first())
        if var.continuous:
            out[var.name] = pd.to_numeric(vals, errors="coerce").astype(float).to_numpy()
        else:
            out[var.name] = _as_category_text(vals).to_numpy()
    return out


def _dataset(trial, name: str) -> pd.DataFrame:
    fn = getattr(trial, "dataset", None)
    if callable(fn):
        return fn(name)
    df = getattr(trial, name, None)
    return df if isinstance(df, pd.DataFrame) else pd.DataFrame()


def _levels(var: Var, values: pd.Series) -> list[str]:
    """Declared levels (zeros kept) then any other observed level, sorted."""
    levels = list(var.levels)
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


def run_tableone(frame: pd.DataFrame, variables, *, smd: bool = True, pval: bool = False,
                 arm: str = "TRT01P"):
    """The ``tableone.TableOne`` of ``frame`` by the ``arm`` column (missing-aware, no null
    level)."""
    from tableone import TableOne

    cat = [v.name for v in variables if not v.continuous]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TableOne(
            frame, columns=[v.name for v in variables], categorical=cat,
            continuous=[v.name for v in variables if v.continuous],
            nonnormal=[v.name for v in variables if v.kind == "nonnormal"], groupby=arm,
            smd=smd and frame[arm].nunique() > 1, pval=pval and frame[arm].nunique() > 1,
            include_null=False, missing=True, label_suffix=False,
            order={v.name: [lv for lv in _levels(v, frame[v.name]) if
                            lv in set(frame[v.name].dropna())] for v in variables
                   if not v.continuous})


def baseline_rows(trial, variables=None, *, smd: bool = True,
                  pval: bool = False) -> list[dict]:
    """Table 1 statistics of ``trial`` as results-store rows (see the module docstring);
    ``variables`` default to the specification's baseline table."""
    variables = _variables(trial, variables)
    arm_col = _columns(trial)[1]
    frame = baseline_frame(trial, variables)
    t1 = run_tableone(frame, variables, smd=smd, pval=pval, arm=arm_col)
    arms = list(trial.arms)
    rows: list[dict] = []

    def add(endpoint, stat, value, arm, group=""):
        rows.append(result_row(endpoint, stat, value, arm=arm, group=group,
                               population=POPULATION))

    size = {a: int((frame[arm_col] == a).sum()) for a in arms}
    size["Overall"] = len(frame)
    for arm, n in size.items():
        add("baseline", "N", n, arm)
    cont = {"count": "n", "mean": "mean", "std": "sd", "median": "median", "q25": "q1",
            "q75": "q3"}
    for var in variables:
        ep = f"baseline:{var.name}"
        values = frame[var.name]
        for arm in [*arms, "Overall"]:
            sub = values if arm == "Overall" else values[frame[arm_col] == arm]
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
    """Column title, e.g. ``'Placebo (n=58)'``."""
    return f"{arm} (n={n})"


def table_one(store: ResultsStore, arms, variables, *, smd: bool = False,
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
            names = var.value_labels
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
