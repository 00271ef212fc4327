"""The data contract that follows from a specification and CDISC ADaM conventions.

:func:`needs` lists, for a specification, every dataset and column it needs and which key
of the specification needs it; :func:`contract` groups them by dataset. The conventions:

* ADSL (one row per subject): the subject and arm columns, population flags, covariates,
  baseline-table columns, the actual-arm column when a population is analysed as treated;
* BDS datasets of endpoints: ``PARAMCD, AVISITN, AVAL`` and, for continuous endpoints (change
  from baseline), ``BASE, CHG``; ``ABLFL`` is used when present;
* ADTTE: ``PARAMCD, AVAL, CNSR`` (1 = censored, 0 = event);
* ADAE: ``AEBODSYS, AEDECOD``, the treatment-emergent and serious flags and the relatedness
  column (plus severity, withdrawal and outcome columns when declared).

Columns a trial lacks are optional unless an endpoint or module needs them; extra columns and
datasets are allowed. An optional module runs only when declared and its dataset is present
(:func:`active_modules`). :func:`check_data` checks a data folder against all of this and
against the values the specification names (arms, visits, parameter codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.spec.load import SpecProblem, read_document
from analysis.spec.model import TrialSpec

FORMATS = (".csv", ".parquet", ".xpt", ".sas7bdat")
BDS = ("PARAMCD", "AVISITN", "AVAL")
BDS_CHANGE = ("BASE", "CHG")
ADTTE = ("PARAMCD", "AVAL", "CNSR")
ADAE = ("AEBODSYS", "AEDECOD")
#: Module -> name of the key holding its dataset (ADSL-based modules have none).
MODULE_DATASETS = {"screening": "dataset", "immunogenicity": "dataset",
                   "adverse_events": "dataset", "disposition": None}


@dataclass(frozen=True)
class Need:
    """A dataset (``column is None``) or a column that a key of the specification needs."""

    dataset: str
    column: str | None
    path: tuple
    why: str
    module: str | None = None  # needed only when this optional module is active


@dataclass(frozen=True)
class DatasetContract:
    """What a dataset must hold: its role, required columns and parameter codes."""

    name: str
    role: str  # "adsl" | "bds" | "adtte" | "adae" | "screening"
    required: bool
    columns: tuple[str, ...]
    parameters: tuple[str, ...] = ()


def needs(spec: TrialSpec) -> list[Need]:
    """Every dataset and column the specification needs, with the key that needs it."""
    raw = spec.raw
    subj, arm = spec.data.subject_column, spec.data.arm_column
    out = [Need("adsl", None, ("populations",), "subject-level dataset"),
           Need("adsl", subj, ("data", "subject_column"), "subject identifier"),
           Need("adsl", arm, ("data", "arm_column"), "randomised arm")]
    for key, pop in spec.populations.items():
        out.append(Need("adsl", pop.flag, ("populations", key, "flag"), f"{key} population"))
        if pop.arm == "actual":
            out.append(Need("adsl", spec.data.actual_arm_column, ("populations", key, "arm"),
                            f"{key} population analysed by the arm received"))
    for group in ("adjustment", "stratification"):
        for i, c in enumerate(getattr(spec, group)):
            out.append(Need("adsl", c.column, ("covariates", group, i, "column"), group))
    for i, b in enumerate(raw.get("baseline_table", [])):
        if "column" in b:
            out.append(Need("adsl", b["column"], ("baseline_table", i, "column"),
                            "baseline table"))
    for i, e in enumerate(spec.endpoints):
        if e.dataset is None:
            continue
        base = ("endpoints", i)
        out.append(Need(e.dataset, None, (*base, "dataset"), f"endpoint {e.id}"))
        cols = ADTTE if e.kind == "time_to_event" else BDS + (
            BDS_CHANGE if e.continuous else ())
        out += [Need(e.dataset, c, (*base, "dataset"), f"endpoint {e.id}") for c in
                (subj, *cols)]
    mods = spec.modules
    if "screening" in mods:
        s, p = mods["screening"], ("modules", "screening")
        out += [Need(s["dataset"], None, (*p, "dataset"), "screening log", "screening")]
        out += [Need(s["dataset"], s[k], (*p, k), "screening log", "screening")
                for k in ("id_column", "eligible_flag", "randomised_flag", "reason_column")]
    if "disposition" in mods:
        s, p = mods["disposition"], ("modules", "disposition")
        out += [Need("adsl", s[k], (*p, k), "disposition", "disposition")
                for k in ("status_column", "reason_column", "last_visit_column",
                          "not_treated_reason_column") if s.get(k)]
    if "immunogenicity" in mods:
        s, p = mods["immunogenicity"], ("modules", "immunogenicity")
        out += [Need(s["dataset"], None, (*p, "dataset"), "immunogenicity", "immunogenicity")]
        out += [Need(s["dataset"], c, (*p, "dataset"), "immunogenicity", "immunogenicity")
                for c in (subj, *BDS)]
    if "adverse_events" in mods:
        s, p = mods["adverse_events"], ("modules", "adverse_events")
        cols = [(c, (*p, "dataset")) for c in (subj, *ADAE)]
        cols += [(s["serious_flag"], (*p, "serious_flag")),
                 (s["treatment_emergent_flag"], (*p, "treatment_emergent_flag")),
                 (s["relatedness"]["column"], (*p, "relatedness", "column"))]
        for key in ("severity", "outcome"):
            if key in s:
                cols.append((s[key]["column"], (*p, key, "column")))
        if s.get("withdrawal_flag"):
            cols.append((s["withdrawal_flag"], (*p, "withdrawal_flag")))
        out += [Need(s["dataset"], None, (*p, "dataset"), "adverse events", "adverse_events")]
        out += [Need(s["dataset"], c, path, "adverse events", "adverse_events")
                for c, path in cols]
    return out


def contract(spec: TrialSpec) -> dict[str, DatasetContract]:
    """The needs grouped by dataset (dataset order: ADSL, endpoints, modules)."""
    roles = {"adsl": "adsl"}
    for e in spec.endpoints:
        if e.dataset:
            roles.setdefault(e.dataset, "adtte" if e.kind == "time_to_event" else "bds")
    mods = spec.modules
    for key, role in (("screening", "screening"), ("immunogenicity", "bds"),
                      ("adverse_events", "adae")):
        if key in mods:
            roles.setdefault(mods[key]["dataset"], role)
    out = {}
    all_needs = needs(spec)
    for name, role in roles.items():
        mine = [n for n in all_needs if n.dataset == name]
        params = tuple(dict.fromkeys(e.paramcd for e in spec.endpoints if e.dataset == name))
        if name == mods.get("immunogenicity", {}).get("dataset"):
            params += tuple(p["paramcd"] for p in mods["immunogenicity"]["parameters"])
        out[name] = DatasetContract(
            name, role, required=any(n.module is None for n in mine),
            columns=tuple(dict.fromkeys(n.column for n in mine if n.column)),
            parameters=params)
    return out


def data_files(folder: Path) -> dict[str, list[Path]]:
    """Dataset name (file name without extension, lower case) -> files in ``folder``."""
    found: dict[str, list[Path]] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in FORMATS:
            found.setdefault(p.stem.lower(), []).append(p)
    return found


def active_modules(spec: TrialSpec, available) -> tuple[str, ...]:
    """Declared modules whose dataset is among ``available`` (dataset names)."""
    out = []
    for name, mod in spec.modules.items():
        key = MODULE_DATASETS.get(name)
        if key is None or mod.get(key) in set(available):
            out.append(name)
    return tuple(out)


def _read(path: Path) -> pd.DataFrame:
    from analysis.data import read_file  # the project's reader (CSV, Parquet, XPT, sas7bdat)

    return read_file(path)


def _values(s: pd.Series) -> set[str]:
    return {str(v).strip() for v in s.dropna() if str(v).strip() != ""}


def _numbers(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.astype(str).str.strip().replace("", None), errors="coerce")


def check_data(spec: TrialSpec, folder: str | Path | None = None,
               frames: dict | None = None) -> list[SpecProblem]:
    """Problems of the data folder against the specification (empty when it conforms).

    Each problem names the specification key that declares the thing (with its line), the
    data file and column, and the rule broken (``data: ...``). ``frames`` (dataset name ->
    ``(file name, frame)``), when given, are the datasets already read (no folder is read).
    """
    doc = read_document(spec.path)
    file = doc.file
    folder = Path(folder) if folder is not None else spec.data.folder
    out: list[SpecProblem] = []

    def add(path, message, rule):
        out.append(SpecProblem(file, tuple(path), doc.line(path), message, f"data: {rule}"))

    tables: dict[str, pd.DataFrame] = {}
    if frames is not None:
        files = {n: [Path(fn)] for n, (fn, _df) in frames.items()}
        tables = {n: df for n, (_fn, df) in frames.items()}
    elif folder is None:
        add(("data",), "no data folder: give data.folder or --data", "folder")
        return out
    elif not folder.is_dir():
        add(("data", "folder"), f"data folder {folder} does not exist", "folder")
        return out
    else:
        files = data_files(folder)
    for name, paths in files.items():
        if len(paths) > 1:
            add(("data", "folder"), f"dataset {name!r} has {len(paths)} files: "
                                    f"{', '.join(p.name for p in paths)}", "one file")
    all_needs = needs(spec)
    active = set(active_modules(spec, files))
    for n in all_needs:
        if n.module is not None and n.module not in active:
            continue
        if n.dataset not in files:
            if n.column is None:
                add(n.path, f"dataset {n.dataset!r} ({n.why}) not found in {folder} (looked for "
                            f"{n.dataset}.csv/.parquet/.xpt/.sas7bdat)", "dataset")
            continue
        if n.dataset not in tables:
            try:
                tables[n.dataset] = _read(files[n.dataset][0])
            except Exception as exc:  # noqa: BLE001 - any reader failure is reported, not raised
                add(n.path, f"cannot read {files[n.dataset][0].name}: {exc}", "read")
                tables[n.dataset] = None
        if tables[n.dataset] is None:
            continue
        if n.column is not None and n.column not in tables[n.dataset].columns:
            add(n.path, f"column {n.column} ({n.why}) is missing from "
                        f"{files[n.dataset][0].name}", "column")
    if out:
        return out  # values cannot be checked without the datasets and columns

    raw = spec.raw
    adsl = tables["adsl"]
    fname = files["adsl"][0].name
    arm_col = spec.data.arm_column
    in_data = _values(adsl[arm_col])
    for i, a in enumerate(raw["arms"]):
        if a["label"] not in in_data:
            add(("arms", i, "label"), f"arm {a['label']!r} does not occur in {fname} column "
                                      f"{arm_col} (values: {', '.join(sorted(in_data))})", "arm")
    extra = sorted(in_data - set(spec.arm_labels))
    if extra:
        add(("arms",), f"{fname} column {arm_col} has arm(s) not declared in arms: "
                       f"{', '.join(repr(x) for x in extra)}", "arm")
    ids = adsl[spec.data.subject_column].astype(str).str.strip()
    dup = sorted(set(ids[ids.duplicated()]))
    if dup:
        add(("data", "subject_column"), f"{fname} must have one row per subject; repeated "
                                        f"{spec.data.subject_column}: {', '.join(dup[:5])}",
            "one row per subject")
    for key, pop in spec.populations.items():
        bad = sorted(_values(adsl[pop.flag]) - {"Y", "N"})
        if bad:
            add(("populations", key, "flag"), f"{fname} column {pop.flag} has values other "
                                              f"than Y/N: {', '.join(bad[:5])}", "flag")

    seen_visits: set[int] = set()
    endpoint_visits: dict[str, set[int]] = {}
    for i, e in enumerate(spec.endpoints):
        if e.dataset is None:
            continue
        df, dfile = tables[e.dataset], files[e.dataset][0].name
        rows = df[df["PARAMCD"].astype(str).str.strip() == e.paramcd]
        if rows.empty:
            codes = ", ".join(sorted(_values(df["PARAMCD"]))[:10])
            add(("endpoints", i, "paramcd"), f"PARAMCD {e.paramcd!r} does not occur in {dfile} "
                                             f"(codes: {codes})", "parameter")
            continue
        aval = _numbers(rows["AVAL"])
        nonnum = int((aval.isna() & (rows["AVAL"].astype(str).str.strip() != "")).sum())
        if nonnum:
            add(("endpoints", i, "dataset"), f"{dfile} column AVAL: {nonnum} non-numeric "
                                             f"value(s) for {e.paramcd}", "type")
        if e.kind == "time_to_event":
            cnsr = _values(rows["CNSR"]) - {"0", "1", "0.0", "1.0"}
            if cnsr:
                add(("endpoints", i, "dataset"), f"{dfile} column CNSR must be 0 or 1 "
                                                 f"(found {', '.join(sorted(cnsr))})", "type")
            continue
        visits = set(_numbers(rows["AVISITN"]).dropna().astype(int))
        seen_visits |= visits
        endpoint_visits[e.id] = visits
        wanted = ([e.visit] if e.visit is not None else []) + (
            list(e.visits) if isinstance(e.visits, tuple) else [])
        for v in wanted:
            if v not in visits:
                key = "visit" if v == e.visit else "visits"
                add(("endpoints", i, key), f"visit {v} has no {e.paramcd} record in {dfile}",
                    "visit")
        lo, hi = e.range
        if lo is not None or hi is not None:
            outside = aval[((aval < lo) if lo is not None else False)
                           | ((aval > hi) if hi is not None else False)]
            if len(outside):
                valid = (f"{lo:g} to {hi:g}" if lo is not None and hi is not None
                         else f"≥ {lo:g}" if lo is not None else f"≤ {hi:g}")
                add(("endpoints", i, "range"), f"{dfile}: {len(outside)} {e.paramcd} value(s) "
                                               f"outside the valid range ({valid}), e.g. "
                                               f"{outside.iloc[0]:g}", "range")
    for i, e in enumerate(spec.endpoints):  # rule-based endpoints: the rule's data exist
        if e.dataset is not None or e.rule is None:
            continue
        wanted = [e.visit] if e.visit is not None else (
            list(e.visits) if isinstance(e.visits, tuple) else [])
        for v in wanted:
            for eid in spec.rules[e.rule].endpoints:
                if eid in endpoint_visits and v not in endpoint_visits[eid]:
                    key = "visit" if v == e.visit else "visits"
                    add(("endpoints", i, key), f"visit {v}: rule {e.rule!r} needs endpoint "
                                               f"{eid!r}, which has no record at that visit",
                        "visit")
    disp = spec.modules.get("disposition")
    col = (disp or {}).get("last_visit_column")
    if disp and col in adsl.columns:
        last = set(_numbers(adsl[col]).dropna().astype(int)) - set(spec.visit_numbers)
        if last:
            add(("modules", "disposition", "last_visit_column"),
                f"{fname} column {col} has visit(s) not in visits.schedule: "
                f"{', '.join(map(str, sorted(last)))}", "visit")
    if seen_visits:
        for j, v in enumerate(spec.visit_numbers):
            if v not in seen_visits:
                add(("visits", "schedule", j, "avisitn"),
                    f"visit {v} ({spec.visit(v).label}) does not occur in AVISITN of any "
                    "endpoint dataset", "visit")
    imm = spec.modules.get("immunogenicity")
    if imm and "immunogenicity" in active:
        df = tables[imm["dataset"]]
        codes = _values(df["PARAMCD"])
        for j, par in enumerate(imm["parameters"]):
            if par["paramcd"] not in codes:
                add(("modules", "immunogenicity", "parameters", j, "paramcd"),
                    f"PARAMCD {par['paramcd']!r} does not occur in "
                    f"{files[imm['dataset']][0].name}", "parameter")
    return out
