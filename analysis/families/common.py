"""What the participant, immunogenicity and safety families share: datasets, modules, populations.

A trial is an :class:`analysis.data.Trial` (or a stand-in with the same attributes in tests):
``spec`` (the specification), ``arms``, ``control_arm`` and its datasets.
"""

from __future__ import annotations

import pandas as pd

#: Short population names used in results-store keys (``population`` column).
POPULATION_KEYS = {"itt": "ITT", "safety": "SAF", "per_protocol": "PP", "efficacy": "EFF"}
#: Short population names used in prose ("not in the ITT population").
POPULATION_WORDS = {"itt": "ITT", "safety": "safety", "per_protocol": "per-protocol",
                    "efficacy": "efficacy"}


def dataset(trial, name: str | None) -> pd.DataFrame:
    """The trial's table ``name`` (an empty frame when absent)."""
    if not name:
        return pd.DataFrame()
    fn = getattr(trial, "dataset", None)
    if callable(fn):
        return fn(name)
    df = getattr(trial, name, None)
    return df if isinstance(df, pd.DataFrame) else pd.DataFrame()


def available(trial) -> set[str]:
    """Names of the trial's non-empty datasets."""
    have = getattr(trial, "available", None)
    if have is not None and not callable(have):
        return set(have)
    return {k for k, v in vars(trial).items() if isinstance(v, pd.DataFrame) and not v.empty}


def active_modules(trial) -> tuple[str, ...]:
    """Optional modules that are on: declared in the specification and dataset present."""
    spec = getattr(trial, "spec", None)
    if spec is None:
        return ()
    from analysis.spec.contract import active_modules as _active

    return _active(spec, available(trial))


def module(trial, name: str) -> dict | None:
    """The module's settings when the module is on, else ``None``."""
    if name not in active_modules(trial):
        return None
    return trial.spec.modules[name]


def population_key(pop_id: str) -> str:
    """Store key of a population id (``"itt"`` -> ``"ITT"``, ``"safety"`` -> ``"SAF"``)."""
    return POPULATION_KEYS.get(pop_id, pop_id.upper())


def population_word(pop_id: str) -> str:
    return POPULATION_WORDS.get(pop_id, pop_id.replace("_", " "))


def population(trial, pop_id: str) -> pd.DataFrame:
    """``USUBJID, ARM``: the subjects of a declared population, with the arm it analyses them
    by (planned or actual), in trial arms only; the subject column is renamed ``USUBJID``."""
    spec = trial.spec
    pop = spec.populations[pop_id]
    adsl = trial.adsl
    arm_col = spec.data.actual_arm_column if pop.arm == "actual" else spec.data.arm_column
    sel = adsl.loc[adsl[pop.flag].fillna("").astype(str) == pop.value,
                   [spec.data.subject_column, arm_col]]
    sel = sel.rename(columns={spec.data.subject_column: "USUBJID", arm_col: "ARM"})
    sel["USUBJID"] = sel["USUBJID"].astype(str)
    return sel.loc[sel["ARM"].isin(trial.arms)].reset_index(drop=True)


def join(parts: list[str], word: str = "and") -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``."""
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + f" {word} " + parts[-1]
