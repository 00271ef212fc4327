"""The results store: one row per statistic, computed before anything is laid out.

Every number in the report (tables, figures, prose) is read from a :class:`ResultsStore`.
Rows have the columns in :data:`COLUMNS`; ``lower``/``upper`` hold 95 % limits where they apply.

Examples
--------
>>> store = ResultsStore.empty().add([
...     result_row("responder", "n_responders", 37, arm="Active", n=50, visit=8),
... ])
>>> store.value("responder", "n_responders", arm="Active")
37.0
>>> contrast("Active", "Control")
'Active vs Control'
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

COLUMNS = [
    "endpoint",  # a specification endpoint id, "baseline:<column>", "ae_any", ...
    "analysis",  # "primary", or a sensitivity/secondary analysis name
    "population",  # "ITT", "PP", "SAF", "ITT observed", ...
    "visit",  # AVISITN as text ("3"), or "" when not visit-specific
    "arm",  # an arm label, "Overall", or a contrast "<arm> vs <control>" (:func:`contrast`)
    "group",  # a subgroup / category level / SOC, or ""
    "statistic",  # e.g. "n", "N", "percent", "mean", "sd", "risk_difference", "p_value"
    "value",
    "lower",
    "upper",
    "n",
]
KEY = ["endpoint", "analysis", "population", "visit", "arm", "group", "statistic"]
_TEXT = ["endpoint", "analysis", "population", "visit", "arm", "group", "statistic"]


def result_row(
    endpoint: str,
    statistic: str,
    value: float,
    *,
    analysis: str = "primary",
    population: str = "ITT",
    visit: int | str | None = None,
    arm: str = "Overall",
    group: str = "",
    lower: float | None = None,
    upper: float | None = None,
    n: int | None = None,
) -> dict:
    """Build one results-store row as a dict (missing limits and n become NaN)."""
    return {
        "endpoint": endpoint,
        "analysis": analysis,
        "population": population,
        "visit": "" if visit is None else str(visit),
        "arm": arm,
        "group": group,
        "statistic": statistic,
        "value": _num(value),
        "lower": _num(lower),
        "upper": _num(upper),
        "n": _num(n),
    }


def _num(x) -> float:
    if x is None:
        return math.nan
    return float(x)


def contrast(arm: str, control: str) -> str:
    """The results-store label of the contrast of ``arm`` with ``control``."""
    return f"{arm} vs {control}"


class ResultNotFound(KeyError):
    """No row, or more than one row, matches a lookup."""


@dataclass(frozen=True)
class ResultsStore:
    """Immutable table of statistics; :meth:`add` returns a new store."""

    table: pd.DataFrame

    @classmethod
    def empty(cls) -> ResultsStore:
        return cls(pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in COLUMNS}))

    def add(self, rows: list[dict] | pd.DataFrame) -> ResultsStore:
        """Return a new store with ``rows`` appended; duplicate keys are an error."""
        new = pd.DataFrame(rows, columns=COLUMNS) if not isinstance(rows, pd.DataFrame) else rows
        missing = set(COLUMNS) - set(new.columns)
        if missing:
            raise ValueError(f"results rows lack columns {sorted(missing)}")
        frames = [f for f in (self.table, new[COLUMNS]) if len(f)]
        table = pd.concat(frames, ignore_index=True) if frames else self.table.copy()
        table = _normalise(table)
        dup = table.duplicated(KEY, keep=False)
        if dup.any():
            raise ValueError(f"duplicate result keys:\n{table.loc[dup, KEY].to_string()}")
        return ResultsStore(table)

    def select(self, endpoint: str | None = None, **where) -> pd.DataFrame:
        """Rows matching ``endpoint`` and any other column=value filters."""
        mask = pd.Series(True, index=self.table.index)
        if endpoint is not None:
            mask &= self.table["endpoint"] == endpoint
        for col, val in where.items():
            if val is None:
                continue
            if col == "visit":
                val = str(val)
            mask &= self.table[col] == val
        return self.table.loc[mask]

    def get(self, endpoint: str, statistic: str, **where) -> pd.Series:
        """The single row for a statistic; ``analysis`` defaults to ``"primary"``."""
        where.setdefault("analysis", "primary")
        rows = self.select(endpoint, statistic=statistic, **where)
        if len(rows) != 1:
            raise ResultNotFound(
                f"{len(rows)} rows for endpoint={endpoint!r} statistic={statistic!r} {where}"
            )
        return rows.iloc[0]

    def value(self, endpoint: str, statistic: str, **where) -> float:
        """The value of the single matching row."""
        return float(self.get(endpoint, statistic, **where)["value"])

    def to_csv(self, path: str | Path) -> None:
        """Write the store as CSV, sorted and with full float precision (deterministic)."""
        self.sorted().table.to_csv(path, index=False, float_format="%.12g", lineterminator="\n")

    def to_json(self, path: str | Path) -> None:
        """Write the store as a JSON list of rows (NaN as null), deterministic."""
        records = []
        for rec in self.sorted().table.to_dict(orient="records"):
            records.append({k: (None if isinstance(v, float) and math.isnan(v) else v)
                            for k, v in rec.items()})
        Path(path).write_text(json.dumps(records, indent=1, sort_keys=False) + "\n")

    def sorted(self) -> ResultsStore:
        return ResultsStore(self.table.sort_values(KEY, kind="mergesort").reset_index(drop=True))

    @classmethod
    def from_csv(cls, path: str | Path) -> ResultsStore:
        table = pd.read_csv(path, dtype={c: str for c in _TEXT}, keep_default_na=False,
                            na_values={c: [""] for c in ("value", "lower", "upper", "n")})
        return cls(_normalise(table))

    def __len__(self) -> int:
        return len(self.table)


def _dtype(col: str) -> str:
    return "object" if col in _TEXT else "float64"


def _normalise(table: pd.DataFrame) -> pd.DataFrame:
    table = table.copy()
    for c in _TEXT:
        table[c] = table[c].fillna("").astype(str)
    for c in ("value", "lower", "upper", "n"):
        table[c] = pd.to_numeric(table[c], errors="coerce").astype("float64")
    return table.reset_index(drop=True)
