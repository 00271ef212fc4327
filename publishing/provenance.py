"""Provenance for the reproducibility appendix: data checksums, package versions, engine.

Everything here is deterministic for a given data folder and environment (no clock, no host
names, paths shown relative to the project).
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd
import yaml

from analysis.escape import Markdown, code_span

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_SUFFIXES = {".csv", ".parquet", ".xpt", ".sas7bdat", ".yaml", ".yml", ".json"}


def sha256(path: Path | str) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def data_files(folder: Path | str) -> pd.DataFrame:
    """One row per data file of ``folder``: ``File``, ``Bytes``, ``SHA-256`` (sorted by name)."""
    folder = Path(folder)
    rows = [{"File": p.name, "Bytes": p.stat().st_size, "SHA-256": sha256(p)}
            for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in DATA_SUFFIXES]
    return pd.DataFrame(rows, columns=["File", "Bytes", "SHA-256"])


def checksum_table(folder: Path | str) -> pd.DataFrame:
    """``File`` and ``SHA-256`` for display: the digest in four groups of 16 hex digits (so
    it wraps in a narrow column), each group as code."""
    df = data_files(folder)
    groups = df["SHA-256"].map(
        lambda h: Markdown(" ").join(code_span(h[i:i + 16]) for i in range(0, 64, 16)))
    return pd.DataFrame({"File": df["File"], "SHA-256": groups})


def folder_digest(folder: Path | str) -> str:
    """One SHA-256 for the whole data folder: of the ``name  sha256`` lines of its files."""
    lines = "".join(f"{r.File}  {r._3}\n" for r in data_files(folder).itertuples())
    return hashlib.sha256(lines.encode()).hexdigest()


def display_path(folder: Path | str) -> str:
    """``folder`` relative to the project when inside it, else its name only."""
    folder = Path(folder).resolve()
    try:
        return folder.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return folder.name


def dataset_info(folder: Path | str) -> dict:
    """``dataset.yaml`` of the folder (empty dict when absent)."""
    p = Path(folder) / "dataset.yaml"
    return (yaml.safe_load(p.read_text(encoding="utf-8")) or {}) if p.exists() else {}


def locked_versions(lock: Path | str | None = None) -> dict[str, str]:
    """``{package: version}`` pinned in ``requirements.lock``."""
    lock = Path(lock or PROJECT_ROOT / "requirements.lock")
    out = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;#]+)", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def direct_dependencies(pyproject: Path | str | None = None) -> list[str]:
    """The ``dependencies`` listed in ``pyproject.toml``."""
    import tomllib

    p = Path(pyproject or PROJECT_ROOT / "pyproject.toml")
    deps = tomllib.loads(p.read_text(encoding="utf-8"))["project"]["dependencies"]
    return [re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0] for d in deps]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def package_versions(names: list[str] | None = None) -> pd.DataFrame:
    """``Package``, ``Locked`` (requirements.lock) and ``Installed`` versions of ``names``
    (default: the direct dependencies)."""
    locked = {_norm(k): v for k, v in locked_versions().items()}
    rows = []
    for name in names or direct_dependencies():
        try:
            inst = version(name)
        except PackageNotFoundError:
            inst = "not installed"
        rows.append({"Package": name, "Locked": locked.get(_norm(name), "not locked"),
                     "Installed": inst})
    return pd.DataFrame(rows, columns=["Package", "Locked", "Installed"])


def lock_matches() -> bool:
    """True when every direct dependency is installed at its locked version."""
    df = package_versions()
    return bool((df["Locked"] == df["Installed"]).all())


def engine() -> str:
    """The rendering engine and its versions (``$REPORT_ENGINE``, set by publishing)."""
    return os.environ.get("REPORT_ENGINE") or "not recorded (rendered outside publishing)"


def python_version() -> str:
    """E.g. ``3.11.7 (CPython)``."""
    return f"{sys.version.split()[0]} ({platform.python_implementation()})"


def describe_dataset(folder: Path | str) -> Markdown:
    """A markdown sentence on the data folder: its name, whether synthetic, its generator
    (the folder's own strings escaped as text, :mod:`analysis.escape`)."""
    info = dataset_info(folder)
    name = info.get("name") or Path(folder).name
    text = Markdown("The data folder {} holds the dataset *{}*").format(
        code_span(display_path(folder)), name)
    if info.get("synthetic"):
        gen = info.get("generator")
        seed = info.get("seed")
        how = Markdown(" generated by {}").format(code_span(gen)) if gen else Markdown()
        how += Markdown(" with seed {}").format(seed) if seed is not None else Markdown()
        text += Markdown(", **synthetic data**{}: it is not the trial's patient-level data, and "
                         "every page of this report says so.").format(how)
    elif "synthetic" in info:
        text += Markdown(", declared as real (not synthetic) data in its `dataset.yaml`.")
    else:
        text += Markdown("; it has no `dataset.yaml` describing it.")
    return text


def lock_sentence() -> Markdown:
    """Whether the installed direct dependencies are exactly those of ``requirements.lock``."""
    df = package_versions()
    bad = df[df["Locked"] != df["Installed"]]
    if bad.empty:
        return Markdown("Every direct dependency was installed at the exact version pinned in "
                        "`requirements.lock`.")
    return Markdown("**These packages differ from `requirements.lock`: {}.**").format(
        Markdown(", ").join(bad["Package"]))
