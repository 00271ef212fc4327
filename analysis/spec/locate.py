"""Which trial specification and data folder are in use.

The specification is ``$REPORT_TRIAL`` (a ``trial.yaml`` or the folder holding one), else the
project's ``default-trial`` in ``pyproject.toml`` (``[tool.trial-report]``). The data folder is
``$REPORT_DATA`` when set, else the specification's ``data.folder``.
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def spec_file(path: str | Path) -> Path:
    """``path`` itself, or ``path/trial.yaml`` when ``path`` is a folder."""
    p = Path(path)
    return p / "trial.yaml" if p.is_dir() else p


def default_trial() -> Path:
    """The project's default trial specification file."""
    with open(PROJECT_ROOT / "pyproject.toml", "rb") as fh:
        folder = tomllib.load(fh)["tool"]["trial-report"]["default-trial"]
    return spec_file(PROJECT_ROOT / folder)


def trial_path(env: dict | None = None) -> Path:
    """The specification file in use (``$REPORT_TRIAL`` or the default)."""
    env = os.environ if env is None else env
    given = env.get("REPORT_TRIAL")
    return spec_file(given).resolve() if given else default_trial()


@lru_cache(maxsize=8)
def _load(path: str):
    from analysis.spec.load import load_spec

    return load_spec(path)


def current_spec(env: dict | None = None):
    """The loaded specification in use (cached per path)."""
    return _load(str(trial_path(env)))


def data_folder(spec=None, env: dict | None = None) -> Path:
    """The data folder in use: ``$REPORT_DATA``, else the specification's ``data.folder``."""
    env = os.environ if env is None else env
    if env.get("REPORT_DATA"):
        return Path(env["REPORT_DATA"])
    spec = spec or current_spec(env)
    if spec.data.folder is None:
        raise FileNotFoundError(f"{spec.path}: data.folder is not declared and REPORT_DATA "
                                "is not set")
    return spec.data.folder
