"""Loading a trial data folder: readers, the data dictionary, typed tables, :class:`Trial`.

A data folder holds one file per dataset of the contract (``analysis/dictionary.yaml``),
named after the dataset (``adsl.csv``, ``ADQS.xpt``, ``adae.parquet``, ...), and optionally
a ``dataset.yaml`` describing it. Its keys (checked against ``dataset_yaml_schema`` in the
dictionary with jsonschema; unknown keys are refused so that a misspelt ``synthetic`` cannot
silently drop the synthetic-data mark):

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
>>> trial = load_trial("data/synthetic")          # doctest: +SKIP
>>> trial.arms, trial.control_arm                  # doctest: +SKIP
(('BM-MSC', 'Sham'), 'Sham')
>>> column_label("adsl", "AGE")
'Age (years)'
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

DICTIONARY_PATH = Path(__file__).with_name("dictionary.yaml")
DATASETS = ("screening", "adsl", "adqs", "admri", "adimm", "adae")
FORMATS = {".csv": "csv", ".parquet": "parquet", ".xpt": "xpt", ".sas7bdat": "sas7bdat"}
SAS_EPOCH = pd.Timestamp("1960-01-01")


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


@lru_cache(maxsize=1)
def dictionary() -> dict:
    """The parsed data dictionary (``analysis/dictionary.yaml``)."""
    with open(DICTIONARY_PATH, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def columns(dataset: str) -> dict:
    """Column specifications of ``dataset`` (name -> attributes), in dictionary order."""
    return dictionary()["datasets"][dataset]["columns"]


def arms() -> tuple[str, ...]:
    """Arm labels from the dictionary: experimental first, control last."""
    a = dictionary()["arms"]
    return (a["experimental"], a["control"])


def visits() -> dict[int, str]:
    """Visit number (AVISITN, months) -> visit label (AVISIT)."""
    return {int(k): v for k, v in dictionary()["visits"].items()}


def allowed_values(dataset: str, column: str) -> list | None:
    """The allowed values of a column (resolving ``allowed_from``), or None."""
    spec = columns(dataset)[column]
    src = spec.get("allowed_from")
    if src == "arms":
        vals = list(arms())
        return [""] + vals if spec.get("nullable") else vals
    if src == "visits":
        return list(visits().values())
    return spec.get("allowed")


def column_label(dataset: str, column: str) -> str:
    """Human label with its unit for tables, e.g. ``column_label("adsl", "AGE") -> 'Age (years)'``.

    Unknown columns return the column name unchanged.
    """
    spec = dictionary()["datasets"].get(dataset, {}).get("columns", {}).get(column)
    if spec is None:
        return column
    label = spec.get("label", column)
    return f"{label} ({spec['unit']})" if spec.get("unit") else label


def param_label(dataset: str, paramcd: str, unit: bool = True) -> str:
    """Label of a parameter code, e.g. ``param_label("adqs", "VAS") -> 'Pain VAS (mm)'``."""
    spec = dictionary()["datasets"][dataset].get("parameters", {}).get(paramcd)
    if spec is None:
        return paramcd
    return f"{spec['label']} ({spec['unit']})" if unit and spec.get("unit") else spec["label"]


def _range_text(lo, hi) -> str:
    """``'0 to 100'``, ``'≥ 1'`` or ``'≤ 5'`` for a dictionary range.

    >>> _range_text(1, None), _range_text(None, 5), _range_text(0, 100)
    ('≥ 1', '≤ 5', '0 to 100')
    """
    if lo is not None and hi is not None:
        return f"{lo} to {hi}"
    return f"≥ {lo}" if lo is not None else f"≤ {hi}"


def dictionary_table(dataset: str | None = None) -> pd.DataFrame:
    """The data dictionary as a table (for the supplement): one row per column.

    Columns: ``Dataset, Column, Type, Label, Unit, Values`` (allowed values or range) and
    ``Description``.
    """
    rows = []
    for ds, spec in dictionary()["datasets"].items():
        if dataset is not None and ds != dataset:
            continue
        for col, cs in spec["columns"].items():
            allowed = allowed_values(ds, col)
            if allowed is not None:
                values = ", ".join(str(a) for a in allowed if a != "")
            elif cs.get("min") is not None or cs.get("max") is not None:
                values = _range_text(cs.get("min"), cs.get("max"))
            else:
                values = ""
            rows.append({"Dataset": ds, "Column": col, "Type": cs["type"],
                         "Label": cs.get("label", col), "Unit": cs.get("unit", ""),
                         "Values": values, "Description": cs.get("description", "")})
    return pd.DataFrame(rows)


def dataset_notes() -> pd.DataFrame:
    """The documented free choices of the synthetic dataset: columns ``Topic, Note``."""
    return pd.DataFrame([{"Topic": n["topic"], "Note": " ".join(n["note"].split())}
                         for n in dictionary().get("dataset_notes", [])])


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


def dataset_files(folder: str | Path) -> dict[str, list[Path]]:
    """Files of the folder that hold a contract dataset: name -> paths (more than one = error)."""
    found: dict[str, list[Path]] = {}
    for p in sorted(Path(folder).iterdir()):
        if p.is_file() and p.suffix.lower() in FORMATS and p.stem.lower() in DATASETS:
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


def read_folder(folder: str | Path) -> dict[str, RawTable]:
    """Read every contract dataset present in ``folder`` (the first file when duplicated)."""
    return {name: RawTable(name, paths[0], read_file(paths[0]))
            for name, paths in dataset_files(folder).items()}


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


def finish_types(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Integer columns without missing values as int64 (else nullable Int64)."""
    for col, spec in columns(dataset).items():
        if spec["type"] == "int" and col in df.columns:
            v = df[col]
            df[col] = v.astype("int64") if v.notna().all() else v.astype("Int64")
    return df


def typed_frame(raw: RawTable) -> pd.DataFrame:
    """The dataset with dictionary columns converted to their types (other columns kept)."""
    df = raw.frame.copy()
    for col, spec in columns(raw.name).items():
        if col in df.columns:
            df[col] = parse(df[col], spec["type"])[0]
    return finish_types(df, raw.name).reset_index(drop=True)


# ---------------------------------------------------------------------------- trial


@dataclass(frozen=True, eq=False)
class Trial:
    """A validated trial: its data tables, its specification and where the data came from.

    ``spec`` is the :class:`analysis.spec.TrialSpec` the data were loaded with (``None`` only
    for hand-built test trials); arms, control arm and active modules follow from it.
    """

    screening: pd.DataFrame
    adsl: pd.DataFrame
    adqs: pd.DataFrame
    admri: pd.DataFrame
    adimm: pd.DataFrame
    adae: pd.DataFrame
    source: Path
    synthetic: bool
    arms: tuple[str, ...] = field(default_factory=arms)
    control_arm: str = field(default_factory=lambda: arms()[-1])
    spec: object = None

    @property
    def experimental_arms(self) -> tuple[str, ...]:
        """The arms other than the control arm."""
        return tuple(a for a in self.arms if a != self.control_arm)

    @property
    def metadata(self) -> dict:
        """The folder's ``dataset.yaml``."""
        return read_metadata(self.source)

    @property
    def available(self) -> frozenset[str]:
        """Names of the datasets the trial has (non-empty tables)."""
        return frozenset(n for n in DATASETS if not self.dataset(n).empty)

    @property
    def modules(self) -> tuple[str, ...]:
        """The optional modules that are on: declared in the specification, dataset present."""
        from analysis.spec.contract import active_modules

        return active_modules(self.spec, self.available) if self.spec is not None else ()

    def dataset(self, name: str) -> pd.DataFrame:
        """The table ``name`` (an empty frame when the trial has no such dataset)."""
        df = getattr(self, name, None)
        return df if isinstance(df, pd.DataFrame) else pd.DataFrame()


def load_trial(path: str | Path | None = None, minimum: bool = True, spec=None) -> Trial:
    """Read, validate and type the data folder ``path``; raises :class:`DataError` listing
    every problem found. ``minimum=False`` skips the minimum-data rules (``minimum_data`` of
    the dictionary), for the contract's tiny test fixtures only: the report needs them.

    ``spec`` (a :class:`analysis.spec.TrialSpec`, default: the specification in use, see
    :mod:`analysis.spec.locate`) is attached to the trial; ``path`` defaults to its data
    folder.
    """
    from analysis.spec.locate import current_spec, data_folder
    from analysis.validation import validate_and_type

    spec = spec or current_spec()
    folder = Path(path) if path is not None else data_folder(spec)
    typed, problems = validate_and_type(folder, minimum=minimum)
    if problems:
        raise DataError(problems)
    tables = {name: finish_types(typed[name], name) for name in DATASETS}
    meta = read_metadata(folder)
    return Trial(**tables, source=folder.resolve(), synthetic=bool(meta.get("synthetic", False)),
                 arms=spec.arm_labels, control_arm=spec.control_arm, spec=spec)
