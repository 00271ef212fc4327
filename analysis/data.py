"""Loading a trial data folder: readers, the trial's data dictionary, typed tables, :class:`Trial`.

A data folder holds one file per dataset, named after it (``adsl.csv``, ``ADQS.xpt``,
``adae.parquet``, ...; any case), and optionally a ``dataset.yaml`` describing it. The
datasets are those the trial's specification names (:func:`analysis.spec.contract.contract`)
and those of its own dictionary; other files are noted and ignored.

The data dictionary of a trial (:func:`dictionary`) is the generic CDISC ADaM contract
(``analysis/adam.yaml``), plus what the specification implies (the datasets and columns it
needs, arm labels, visit numbers and labels, parameter codes with their labels, units and
valid ranges, module columns), plus the trial's own dictionary (spec key
``data.dictionary``), whose column definitions replace the generic ones. Every helper below
takes the specification (or a :class:`Trial`); without one it uses the specification in use
(:func:`analysis.spec.locate.current_spec`).

``dataset.yaml`` keys (checked against ``dataset_yaml_schema`` with jsonschema; unknown keys
are refused so that a misspelt ``synthetic`` cannot silently drop the synthetic-data mark):
``name`` (text), ``synthetic`` (true/false), ``description`` (text), ``cutoff`` (the data
cut-off date, ``YYYY-MM-DD``: no date in the data may be later), ``generator`` (text),
``seed`` and ``n_randomised`` (integers; ``n_randomised`` must equal the rows of adsl).

CSV files are read as UTF-8 (a byte-order mark and CRLF line ends are accepted).

SAS files are read with pyreadstat (date formats applied), else ``pandas.read_sas``;
unformatted numeric dates count days (or, above 10^6, seconds) since 1960-01-01.
Column names are matched in upper case.

Typed columns after loading: ``str`` and ``flag`` as text ("" when empty), ``int`` as int64,
``float`` as float64, ``date`` as ``datetime64[ns]`` (NaT when empty).

Examples
--------
>>> generic()["roles"]["adsl"]["columns"]["AGE"]["unit"]
'years'
>>> _range_text(0, 100)
'0 to 100'
"""

from __future__ import annotations

import copy
import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

GENERIC_PATH = Path(__file__).with_name("adam.yaml")
FORMATS = {".csv": "csv", ".parquet": "parquet", ".xpt": "xpt", ".sas7bdat": "sas7bdat"}
SAS_EPOCH = pd.Timestamp("1960-01-01")
#: Keys of the generic contract that a trial dictionary extends (lists are concatenated).
IDENTIFIER_KEYS = ("identifier_columns", "identifier_fragments", "identifier_suffixes",
                   "identifier_allowed")


class FileProblem(Exception):
    """A file that cannot be read as a dataset: where (``line``, ``column``) and which rule."""

    def __init__(self, rule: str, message: str, line: int | None = None, column: str = ""):
        self.rule, self.message, self.line, self.column = rule, message, line, column
        super().__init__(message)


class DataError(Exception):
    """The data folder does not meet the data contract; ``problems`` lists every problem."""

    def __init__(self, problems):
        self.problems = list(problems)
        lines = [f"{len(self.problems)} problem(s) in the trial data:"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


# ---------------------------------------------------------------------------- dictionary


@lru_cache(maxsize=1)
def generic() -> dict:
    """The generic ADaM contract (``analysis/adam.yaml``)."""
    with open(GENERIC_PATH, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@lru_cache(maxsize=16)
def _own(path: str, mtime: float) -> dict:
    with open(path, encoding="utf-8") as fh:
        d = yaml.safe_load(fh)
    return d if isinstance(d, dict) else {}


def resolve_spec(spec=None):
    """The specification of ``spec`` (a TrialSpec, a :class:`Trial`, or None: the one in use)."""
    if isinstance(spec, Trial):
        spec = spec.spec
    if spec is None:
        from analysis.spec.locate import current_spec

        return current_spec()
    return spec


def trial_dictionary(spec=None) -> dict:
    """The trial's own dictionary (``data.dictionary`` of the specification; ``{}`` if none)."""
    spec = resolve_spec(spec)
    path = getattr(spec.data, "dictionary", None)
    if path is None or not Path(path).is_file():
        return {}
    return copy.deepcopy(_own(str(path), Path(path).stat().st_mtime))


def _label(text: str | None, unit: str | None = None) -> dict:
    out = {"label": text} if text else {}
    if unit:
        out["unit"] = unit
    return out


def _spec_columns(spec, name: str, role: str) -> dict[str, dict]:
    """Column definitions the specification implies for dataset ``name`` of ``role``."""
    d, mods = spec.data, spec.modules
    cols: dict[str, dict] = {d.subject_column: {"type": "str", "label": "Subject"}}
    if role == "adsl":
        cols[d.arm_column] = {"type": "str", "label": "Randomised arm", "allowed_from": "arms"}
        cols[d.actual_arm_column] = {"type": "str", "label": "Treatment received",
                                     "allowed_from": "arms", "nullable": True}
        for pop in spec.populations.values():
            cols[pop.flag] = {"type": "flag", "label": pop.label}
        for c in (*spec.adjustment, *spec.stratification):
            cols.setdefault(c.column, {"type": "float" if c.type == "continuous" else "str",
                                       "label": c.label, "nullable": True})
        for b in spec.baseline_table:
            if b.column:
                cols.setdefault(b.column, {
                    "type": "str" if b.type == "categorical" else "float", "nullable": True,
                    **_label(b.label, b.unit)})
        disp = mods.get("disposition")
        if disp:
            cols[disp["status_column"]] = {"type": "str", "label": "End-of-study status"}
            if disp.get("reason_column"):
                cols[disp["reason_column"]] = {
                    "type": "str", "label": "Reason for discontinuation", "nullable": True,
                    **({"allowed": ["", *disp["reasons"]]} if disp.get("reasons") else {})}
            if disp.get("last_visit_column"):
                cols[disp["last_visit_column"]] = {"type": "int", "label": "Last visit attended",
                                                   "allowed_from": "visit_numbers",
                                                   "nullable": True}
            if disp.get("not_treated_reason_column"):
                cols[disp["not_treated_reason_column"]] = {
                    "type": "str", "label": "Reason not treated", "nullable": True}
    elif role == "bds":
        pass  # the generic BDS columns; the parameters carry the endpoints' ranges
    elif role == "screening":
        s = mods["screening"]
        cols[d.subject_column] = {"type": "str", "label": "Subject", "nullable": True}
        cols[s["id_column"]] = {"type": "str", "label": "Screening number"}
        cols[s["eligible_flag"]] = {"type": "flag", "label": "Eligible"}
        cols[s["randomised_flag"]] = {"type": "flag", "label": "Randomised"}
        cols[s["reason_column"]] = {
            "type": "str", "label": "Reason not randomised", "nullable": True,
            **({"allowed": ["", *s["reasons"]]} if s.get("reasons") else {})}
    elif role == "adae":
        a = mods.get("adverse_events") or {}
        if a.get("dataset") == name:
            cols[a["serious_flag"]] = {"type": "flag", "label": "Serious"}
            cols[a["treatment_emergent_flag"]] = {"type": "flag", "label": "Treatment-emergent"}
            rel = a["relatedness"]
            cols[rel["column"]] = {"type": "str", "label": "Relationship",
                                   **({"allowed": list(rel["labels"])} if rel.get("labels")
                                      else {})}
            if a.get("withdrawal_flag"):
                cols[a["withdrawal_flag"]] = {"type": "flag", "label": "Led to withdrawal"}
            for key, label in (("severity", "Severity"), ("outcome", "Outcome")):
                if key in a:
                    cols[a[key]["column"]] = {"type": "str", "label": label, "nullable": True}
    return cols


def _parameters(spec, name: str) -> dict[str, dict]:
    """PARAMCD -> label, unit and valid range, from the endpoints (and modules) of ``name``."""
    out: dict[str, dict] = {}
    for e in spec.endpoints:
        if e.dataset == name and e.paramcd:
            p = _label(e.label, e.unit)
            lo, hi = e.range
            if lo is not None:
                p["min"] = lo
            if hi is not None:
                p["max"] = hi
            out.setdefault(e.paramcd, p)
    imm = spec.modules.get("immunogenicity") or {}
    if imm.get("dataset") == name:
        for par in imm.get("parameters", []):
            out.setdefault(par["paramcd"], _label(par.get("label"), imm.get("unit")))
    return out


def evaluable_endpoints(spec) -> list[dict]:
    """The minimum-data endpoints: for each decision endpoint, the dataset, the parameter
    codes that must all be present at baseline and at the endpoint's visit (a rule endpoint:
    those of its rule's endpoints), the visit and the population flag."""
    out = []
    decision = spec.decision.endpoints if spec.decision else ()
    for eid in decision:
        e = spec.endpoint(eid)
        visit = e.visit if e.visit is not None else spec.primary_visit
        flag = spec.populations[e.population].flag if e.population in spec.populations else None
        if e.rule is not None and e.dataset is None:
            groups: dict[str, list[str]] = {}
            for rid in spec.rules[e.rule].endpoints:
                r = spec.endpoint(rid)
                if r.dataset and r.paramcd and r.paramcd not in groups.get(r.dataset, []):
                    groups.setdefault(r.dataset, []).append(r.paramcd)
        elif e.continuous and e.dataset and e.paramcd:
            groups = {e.dataset: [e.paramcd]}
        else:
            continue
        for ds, params in groups.items():
            out.append({"endpoint": e.id, "dataset": ds, "parameters": params, "visit": visit,
                        "population": flag})
    return out


_CACHE: dict = {}


def dictionary(spec=None) -> dict:
    """The effective data dictionary of a trial (see the module docstring).

    Keys: the generic ones (``file_formats``, ``identifier_*``, ``dataset_yaml_schema``),
    ``arms`` (labels in display order), ``visits`` (AVISITN -> label), ``minimum_data``
    (thresholds and ``endpoints``, see :func:`evaluable_endpoints`), ``datasets`` (name ->
    ``role``, ``required``, ``description``, ``key``, ``may_be_empty``, ``columns``,
    ``parameters``), ``dataset_notes``, ``study`` and, with an immunogenicity module,
    ``immune_positivity_threshold``.
    """
    spec = resolve_spec(spec)
    own_path = getattr(spec.data, "dictionary", None)
    stamp = Path(own_path).stat().st_mtime if own_path and Path(own_path).is_file() else None
    spec_stamp = Path(spec.path).stat().st_mtime if Path(spec.path).is_file() else None
    key = (str(spec.path), spec_stamp, spec.arm_labels, str(own_path), stamp)
    if key not in _CACHE:
        _CACHE[key] = _effective(spec)
    return _CACHE[key]


def _effective(spec) -> dict:
    from analysis.spec.contract import contract

    g, own = generic(), trial_dictionary(spec)
    out = {k: copy.deepcopy(v) for k, v in g.items() if k != "roles"}
    for k in IDENTIFIER_KEYS:
        out[k] = list(g.get(k, [])) + [x for x in own.get(k, []) if x not in g.get(k, [])]
    out["arms"] = list(spec.arm_labels)
    out["visits"] = {v.avisitn: v.label for v in spec.visits}
    out["study"] = own.get("study")
    md = dict(g.get("minimum_data", {}))
    md.update(own.get("minimum_data", {}))
    md["endpoints"] = evaluable_endpoints(spec)
    out["minimum_data"] = md
    imm = spec.modules.get("immunogenicity") or {}
    if "positivity_threshold" in imm:
        out["immune_positivity_threshold"] = imm["positivity_threshold"]
    out["dataset_notes"] = own.get("dataset_notes", [])

    datasets: dict[str, dict] = {}
    con = contract(spec)
    own_ds = own.get("datasets", {}) or {}
    for name in [*con, *(n for n in own_ds if n not in con)]:
        dc = con.get(name)
        tds = own_ds.get(name, {}) or {}
        role = dc.role if dc else tds.get("role", "bds")
        base = g["roles"].get(role, {"columns": {}})
        cols: dict[str, dict] = {}
        for c, cs in (tds.get("columns") or {}).items():  # the trial's own, in its order
            cols[c] = {**cs, "required": cs.get("required", True)}
        implied = {c: {**cs, "required": False} for c, cs in base["columns"].items()}
        for c, cs in _spec_columns(spec, name, role).items():
            implied[c] = {**implied.get(c, {}), **cs, "required": False}
        for c, cs in implied.items():
            cols.setdefault(c, cs)
        for c in (dc.columns if dc else ()):
            cols.setdefault(c, {"type": "str", "label": c})
            cols[c]["required"] = True
        for cs in cols.values():
            cs.setdefault("label", None)
            if cs["label"] is None:
                cs.pop("label")
        params = _parameters(spec, name)
        for p, ps in (tds.get("parameters") or {}).items():
            params[p] = {**params.get(p, {}), **ps}
        key = list(tds.get("key", base.get("key", [])))
        if role == "screening":
            key = list(tds.get("key", [spec.modules["screening"]["id_column"]]))
        datasets[name] = {
            "role": role,
            "required": bool((dc.required if dc else False) or tds.get("required", False)),
            "description": tds.get("description", base.get("description", "")),
            "key": key, "may_be_empty": tds.get("may_be_empty", base.get("may_be_empty", False)),
            "columns": cols, "parameters": params}
    out["datasets"] = datasets
    return out


def datasets(spec=None) -> tuple[str, ...]:
    """Names of the datasets of the trial's contract (required or optional)."""
    return tuple(dictionary(spec)["datasets"])


def columns(dataset: str, spec=None) -> dict:
    """Column specifications of ``dataset`` (name -> attributes), in dictionary order
    (``{}`` for a dataset the trial does not name)."""
    return dictionary(spec)["datasets"].get(dataset, {}).get("columns", {})


def arms(spec=None) -> tuple[str, ...]:
    """Arm labels of the trial, in display order."""
    return tuple(dictionary(spec)["arms"])


def visits(spec=None) -> dict[int, str]:
    """Visit number (AVISITN) -> visit label (AVISIT), from the specification."""
    return dict(dictionary(spec)["visits"])


def allowed_values(dataset: str, column: str, spec=None) -> list | None:
    """The allowed values of a column (resolving ``allowed_from``), or None."""
    cs = columns(dataset, spec).get(column)
    if cs is None:
        return None
    src = cs.get("allowed_from")
    if src == "arms":
        vals = list(arms(spec))
        return [""] + vals if cs.get("nullable") else vals
    if src == "visits":
        return list(visits(spec).values())
    if src == "visit_numbers":
        return list(visits(spec))
    return cs.get("allowed")


def column_label(dataset: str, column: str, spec=None) -> str:
    """Human label with its unit for tables (``'Age (years)'``); unknown columns return the
    column name unchanged."""
    cs = columns(dataset, spec).get(column)
    if cs is None:
        return column
    label = cs.get("label", column)
    return f"{label} ({cs['unit']})" if cs.get("unit") else label


def param_label(dataset: str, paramcd: str, unit: bool = True, spec=None) -> str:
    """Label of a parameter code, with its unit unless ``unit=False``."""
    ps = dictionary(spec)["datasets"].get(dataset, {}).get("parameters", {}).get(paramcd)
    if ps is None or not ps.get("label"):
        return paramcd
    return f"{ps['label']} ({ps['unit']})" if unit and ps.get("unit") else ps["label"]


def _range_text(lo, hi) -> str:
    """``'0 to 100'``, ``'≥ 1'`` or ``'≤ 5'`` for a dictionary range.

    >>> _range_text(1, None), _range_text(None, 5), _range_text(0, 100)
    ('≥ 1', '≤ 5', '0 to 100')
    """
    if lo is not None and hi is not None:
        return f"{lo} to {hi}"
    return f"≥ {lo}" if lo is not None else f"≤ {hi}"


def dictionary_table(dataset: str | None = None, spec=None) -> pd.DataFrame:
    """The trial's data dictionary as a table (for the supplement): one row per documented
    column (the trial dictionary's, those the specification needs and, when ``spec`` is a
    :class:`Trial`, those present in its tables).

    Columns: ``Dataset, Column, Type, Label, Unit, Values`` (allowed values or range) and
    ``Description``. ``spec``: the specification or the trial (default: the one in use).
    """
    trial = spec if isinstance(spec, Trial) else None
    own = trial_dictionary(spec).get("datasets", {}) or {}
    rows = []
    for ds, dspec in dictionary(spec)["datasets"].items():
        if dataset is not None and ds != dataset:
            continue
        present = set(trial.dataset(ds).columns) if trial is not None else set()
        documented = set((own.get(ds) or {}).get("columns") or {})
        for col, cs in dspec["columns"].items():
            if not (cs.get("required") or col in documented or col in present):
                continue
            allowed = allowed_values(ds, col, spec)
            if allowed is not None:
                values = ", ".join(str(a) for a in allowed if a != "")
            elif cs.get("min") is not None or cs.get("max") is not None:
                values = _range_text(cs.get("min"), cs.get("max"))
            else:
                values = ""
            rows.append({"Dataset": ds, "Column": col, "Type": cs["type"],
                         "Label": cs.get("label", col), "Unit": cs.get("unit", ""),
                         "Values": values, "Description": cs.get("description", "")})
    return pd.DataFrame(rows, columns=["Dataset", "Column", "Type", "Label", "Unit", "Values",
                                       "Description"])


def dataset_notes(spec=None) -> pd.DataFrame:
    """The documented free choices of the trial's dataset (``dataset_notes`` of its own
    dictionary; none without one): columns ``Topic, Note``."""
    return pd.DataFrame([{"Topic": n["topic"], "Note": " ".join(n["note"].split())}
                         for n in dictionary(spec).get("dataset_notes", [])],
                        columns=["Topic", "Note"])


def __getattr__(name: str):
    if name == "DATASETS":  # the dataset names of the trial in use (formerly a constant)
        return datasets()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------------- reading


@dataclass(frozen=True, eq=False)
class RawTable:
    """One dataset as read from its file (column names upper-cased, values untyped)."""

    name: str
    path: Path
    frame: pd.DataFrame

    @property
    def file(self) -> str:
        return self.path.name


def dataset_files(folder: str | Path, names=None) -> dict[str, list[Path]]:
    """Files of the folder that hold a dataset of ``names`` (default: every file of a data
    format): name (lower case) -> paths (more than one = error)."""
    wanted = None if names is None else set(names)
    found: dict[str, list[Path]] = {}
    for p in sorted(Path(folder).iterdir()):
        if p.is_file() and p.suffix.lower() in FORMATS and (
                wanted is None or p.stem.lower() in wanted):
            found.setdefault(p.stem.lower(), []).append(p)
    return found


def read_file(path: str | Path) -> pd.DataFrame:
    """Read one CSV/Parquet/XPT/sas7bdat file; CSV cells stay text, column names upper-cased.

    Raises :class:`FileProblem` for a CSV that is not UTF-8 (rule ``encoding``), an empty
    file (``empty-file``) or a malformed one (``readable``), naming the line.
    """
    path = Path(path)
    fmt = FORMATS[path.suffix.lower()]
    if fmt == "csv":
        df = _read_csv(path)
    elif fmt == "parquet":
        df = pd.read_parquet(path)
    else:
        df = _read_sas(path, fmt)
    df.columns = [str(c).strip().upper() for c in df.columns]
    return _strip_text(df)


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        raw = path.read_bytes()
        try:
            raw.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise _encoding_problem(raw, err.start) from None
        raise
    except pd.errors.EmptyDataError:
        raise FileProblem("empty-file", "the file is empty (not even a header line)",
                          line=1) from None
    except pd.errors.ParserError as err:
        m = re.search(r"line (\d+)", str(err))
        raise FileProblem("readable", f"malformed CSV: {str(err).strip()}",
                          line=int(m.group(1)) if m else None) from None


def _encoding_problem(raw: bytes, offset: int) -> FileProblem:
    """Where the first byte that is not UTF-8 sits (line, column) and what to do about it.

    Hand-written: charset detection libraries are not dependencies of the project, and the
    one realistic alternative to UTF-8 for a CSV is Windows-1252/Latin-1 (Excel's default).
    """
    line_start = raw.rfind(b"\n", 0, offset) + 1
    line = raw.count(b"\n", 0, offset) + 1
    header = next(csv.reader([raw.split(b"\n", 1)[0].decode("latin-1")]), [])
    prefix = raw[line_start:offset].decode("latin-1")
    field_no = len(next(csv.reader([prefix]), [""])) - 1 if prefix else 0
    column = header[field_no].strip().upper() if line > 1 and field_no < len(header) else ""
    try:
        raw.decode("cp1252")
        hint = "re-save as UTF-8 (the file looks like Windows-1252/Latin-1)"
    except UnicodeDecodeError:
        hint = "re-save as UTF-8 (the encoding could not be recognised)"
    where = f"data row {line - 1}" if line > 1 else "the header"
    return FileProblem("encoding", f"byte 0x{raw[offset]:02X} at byte offset {offset} "
                       f"({where}) is not UTF-8: {hint}", line=line, column=column)


def _read_sas(path: Path, fmt: str) -> pd.DataFrame:
    """XPT (v5/v8) or sas7bdat: pyreadstat (applies date formats), else pandas.read_sas."""
    try:
        import pyreadstat

        reader = pyreadstat.read_xport if fmt == "xpt" else pyreadstat.read_sas7bdat
        df, _meta = reader(str(path), dates_as_pandas_datetime=True)
        return df
    except ImportError:
        pass
    except Exception:  # noqa: BLE001 - fall back to pandas' own readers
        pass
    return pd.read_sas(path, format="xport" if fmt == "xpt" else "sas7bdat", encoding="utf-8")


def read_folder(folder: str | Path, spec=None) -> dict[str, RawTable]:
    """Read every dataset of the trial present in ``folder`` (the first file when duplicated)."""
    return {name: RawTable(name, paths[0], read_file(paths[0]))
            for name, paths in dataset_files(folder, datasets(spec)).items()}


def read_metadata(folder: str | Path) -> dict:
    """The folder's ``dataset.yaml`` as a dict (empty when absent); validated by
    :func:`analysis.validation.metadata_problems` before any analysis."""
    p = Path(folder) / "dataset.yaml"
    if not p.exists():
        return {}
    meta = yaml.safe_load(p.read_text(encoding="utf-8-sig"))
    return meta if isinstance(meta, dict) else {}


# ---------------------------------------------------------------------------- typing


def _strip_text(df: pd.DataFrame) -> pd.DataFrame:
    """Strip surrounding blanks from text columns, once, at read time."""
    for col in df.columns:
        s = df[col]
        if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) == "string":
            df[col] = s.str.strip()
    return df


def is_empty(s: pd.Series) -> pd.Series:
    """True where a cell is missing: NaN/None/NaT or blank text."""
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
            return s.isna() | (s.fillna("").str.len() == 0) | (s.fillna("").str.isspace())
        return s.isna() | (s.astype(str).str.strip() == "")
    return s.isna()


def _as_text(s: pd.Series) -> pd.Series:
    if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
        return s.fillna("").astype(object)

    def conv(v):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
            return ""
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        if isinstance(v, pd.Timestamp):
            return v.strftime("%Y-%m-%d")
        return str(v).strip()

    return pd.Series([conv(v) for v in s], index=s.index, dtype=object)


def parse_column(s: pd.Series, typ: str) -> tuple[pd.Series, pd.Series]:
    """Convert ``s`` to the dictionary type ``typ``; returns (values, bad) where ``bad`` marks
    non-empty cells that could not be converted (a type error)."""
    vals, bad, _empty = parse(s, typ)
    return vals, bad


def parse(s: pd.Series, typ: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Like :func:`parse_column`, also returning the mask of empty cells."""
    if typ in ("str", "flag"):
        vals = _as_text(s)
        empty = vals == ""
        bad = pd.Series(False, index=s.index)
        if typ == "flag":
            bad = ~empty & ~vals.isin(["Y", "N"])
        return vals, bad, empty
    if typ in ("int", "float"):
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            vals = s.astype(float)
            empty = vals.isna()
        else:
            txt = _as_text(s)
            empty = txt == ""
            vals = pd.to_numeric(txt.where(~empty, None), errors="coerce").astype(float)
        bad = ~empty & vals.isna()
        if typ == "int":
            bad |= vals.notna() & (vals != np.round(vals))
        return vals, bad, empty
    if typ == "date":
        if pd.api.types.is_datetime64_any_dtype(s):
            vals = pd.to_datetime(s).dt.tz_localize(None) if getattr(s.dt, "tz", None) else s
            empty = s.isna()
        elif pd.api.types.is_numeric_dtype(s):  # unformatted SAS dates or datetimes
            num = s.astype(float)
            unit = "s" if (num.abs() > 1e6).any() else "D"  # datetimes count seconds
            vals = (SAS_EPOCH + pd.to_timedelta(num, unit=unit)).dt.normalize()
            empty = num.isna()
        else:
            txt = _as_text(s)
            empty = txt == ""
            vals = pd.to_datetime(txt.where(~empty, None), format="%Y-%m-%d",
                                  errors="coerce")
        vals = pd.Series(vals, index=s.index).astype("datetime64[ns]")
        bad = ~empty & vals.isna()
        return vals, bad, empty
    raise ValueError(f"unknown dictionary type {typ!r}")


def finish_types(df: pd.DataFrame, dataset: str, spec=None) -> pd.DataFrame:
    """Integer columns without missing values as int64 (else nullable Int64)."""
    for col, cs in columns(dataset, spec).items():
        if cs["type"] == "int" and col in df.columns:
            v = df[col]
            df[col] = v.astype("int64") if v.notna().all() else v.astype("Int64")
    return df


def typed_frame(raw: RawTable, spec=None) -> pd.DataFrame:
    """The dataset with dictionary columns converted to their types (other columns kept)."""
    df = raw.frame.copy()
    for col, cs in columns(raw.name, spec).items():
        if col in df.columns:
            df[col] = parse(df[col], cs["type"])[0]
    return finish_types(df, raw.name, spec).reset_index(drop=True)


# ---------------------------------------------------------------------------- trial

_DATASET_NAME = re.compile(r"[a-z][a-z0-9]*")


class Trial:
    """A validated trial: its data tables, its specification and where the data came from.

    ``tables`` maps dataset names to typed frames (only the datasets the trial has);
    ``trial.dataset(name)`` and attribute access (``trial.adsl``) return an empty frame for a
    dataset the trial lacks. ``spec`` is the :class:`analysis.spec.TrialSpec` the data were
    loaded with (``None`` only for hand-built test trials); ``arms`` (display order) and
    ``control_arm`` follow from it unless given. Tables may also be passed by name
    (``Trial(adsl=..., adqs=..., source=..., synthetic=False)``).

    >>> t = Trial({"adsl": pd.DataFrame({"USUBJID": ["S1"]})}, arms=("A", "B"))
    >>> t.control_arm, t.experimental_arms, len(t.adsl), t.adxx.empty, sorted(t.available)
    ('B', ('A',), 1, True, ['adsl'])
    """

    def __init__(self, tables: dict | None = None, source: Path | str | None = None,
                 synthetic: bool = False, arms: tuple[str, ...] | None = None,
                 control_arm: str | None = None, spec=None, **named: pd.DataFrame):
        tabs = dict(tables or {})
        tabs.update(named)
        self.tables: dict[str, pd.DataFrame] = tabs
        self.source = Path(source) if source is not None else None
        self.synthetic = bool(synthetic)
        self.spec = spec
        if arms is None:
            arms = spec.arm_labels if spec is not None else ()
        self.arms = tuple(arms)
        if control_arm is None:
            control_arm = (spec.control_arm if spec is not None and arms == spec.arm_labels
                           else (self.arms[-1] if self.arms else None))
        self.control_arm = control_arm

    def __getattr__(self, name: str) -> pd.DataFrame:
        # only reached for names that are not attributes: a dataset the trial may lack
        if name.startswith("_") or "tables" not in self.__dict__ \
                or not _DATASET_NAME.fullmatch(name):
            raise AttributeError(name)
        df = self.__dict__["tables"].get(name)
        return df if isinstance(df, pd.DataFrame) else pd.DataFrame()

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k} {len(v)}" for k, v in self.tables.items())
        return f"Trial({self.source}, arms={self.arms}, tables: {sizes})"

    def replace(self, **changes) -> Trial:
        """A copy with some fields changed (``tables``, ``arms``, ``control_arm``, ``spec``,
        ``source``, ``synthetic``, or tables by name)."""
        fields = {"tables": dict(self.tables), "source": self.source,
                  "synthetic": self.synthetic, "arms": self.arms,
                  "control_arm": self.control_arm, "spec": self.spec}
        for k in list(changes):
            if k in fields:
                fields[k] = changes.pop(k)
        fields["tables"] = {**fields["tables"], **changes}
        return Trial(**fields)

    @property
    def experimental_arms(self) -> tuple[str, ...]:
        """The arms other than the control arm."""
        return tuple(a for a in self.arms if a != self.control_arm)

    @property
    def metadata(self) -> dict:
        """The folder's ``dataset.yaml``."""
        return read_metadata(self.source) if self.source is not None else {}

    @property
    def available(self) -> frozenset[str]:
        """Names of the datasets the trial has: non-empty tables, and tables that may be
        empty by the contract (no adverse event at all is a result, not an absence)."""
        ds = dictionary(self.spec)["datasets"] if self.spec is not None else {}
        return frozenset(n for n, df in self.tables.items() if isinstance(df, pd.DataFrame)
                         and (not df.empty or ds.get(n, {}).get("may_be_empty")))

    @property
    def modules(self) -> tuple[str, ...]:
        """The optional modules that are on: declared in the specification, dataset present."""
        from analysis.spec.contract import active_modules

        return active_modules(self.spec, self.available) if self.spec is not None else ()

    def dataset(self, name: str) -> pd.DataFrame:
        """The table ``name`` (an empty frame when the trial has no such dataset)."""
        df = self.tables.get(name)
        return df if isinstance(df, pd.DataFrame) else pd.DataFrame()


def synthetic_data(folder, spec=None) -> bool:
    """Whether the data in ``folder`` are synthetic: its ``dataset.yaml`` says so, or says
    nothing and the folder is the specification's own ``data.folder`` with
    ``data.synthetic: true`` (another folder is described by its ``dataset.yaml`` only)."""
    meta = read_metadata(folder)
    if "synthetic" in meta:
        return bool(meta["synthetic"])
    own = getattr(getattr(spec, "data", None), "folder", None)
    return bool(own is not None and spec.data.synthetic
                and Path(own).resolve() == Path(folder).resolve())


def load_trial(path: str | Path | None = None, minimum: bool = True, spec=None) -> Trial:
    """Read, validate and type the data folder ``path``; raises :class:`DataError` listing
    every problem found. ``minimum=False`` skips the minimum-data rules, for the contract's
    tiny test fixtures only: the report needs them.

    ``spec`` (a :class:`analysis.spec.TrialSpec`, default: the specification in use, see
    :mod:`analysis.spec.locate`) is attached to the trial; ``path`` defaults to its data
    folder.
    """
    from analysis.spec.locate import current_spec, data_folder
    from analysis.validation import validate_and_type

    spec = spec or current_spec()
    folder = Path(path) if path is not None else data_folder(spec)
    typed, problems = validate_and_type(folder, minimum=minimum, spec=spec)
    if problems:
        raise DataError(problems)
    tables = {name: finish_types(df, name, spec) for name, df in typed.items()}
    return Trial(tables, source=folder.resolve(), synthetic=synthetic_data(folder, spec),
                 arms=spec.arm_labels, control_arm=spec.control_arm, spec=spec)
