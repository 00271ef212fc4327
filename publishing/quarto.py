"""The Quarto engine: ``quarto render`` on a staged copy of the project.

The staged ``_quarto.yml`` gets the per-render page marks (HTML ``include-before-body``,
Typst ``include-in-header``, DOCX ``reference-doc``); ``QUARTO_PYTHON`` points at this Python
(the project's venv) so Quarto's Jupyter kernels see the same packages.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

# Typst output for book projects arrived in Quarto 1.9 (quarto-cli PR #13950); the book
# renders to Typst, so older Quarto falls back to the built-in engine.
MINIMUM = (1, 9)


def find() -> str | None:
    """The ``quarto`` executable on PATH, or None."""
    return shutil.which("quarto")


def version(exe: str) -> tuple[int, ...]:
    """Quarto's version as a tuple, e.g. ``(1, 5, 57)``."""
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout
    m = re.search(r"(\d+(?:\.\d+)+)", out)
    if not m:
        raise RuntimeError(f"cannot read quarto's version from {out!r}")
    return tuple(int(x) for x in m.group(1).split("."))


def usable() -> tuple[str, tuple[int, ...]] | None:
    """``(path, version)`` of a Quarto >= :data:`MINIMUM` on PATH, else None."""
    exe = find()
    if not exe:
        return None
    try:
        v = version(exe)
    except (OSError, subprocess.CalledProcessError, RuntimeError):
        return None
    return (exe, v) if v[:2] >= MINIMUM else None


def bundled_versions(exe: str) -> dict[str, str]:
    """Versions of the pandoc and typst that Quarto bundles (best effort)."""
    out = {}
    for tool in ("pandoc", "typst"):
        try:
            text = subprocess.run([exe, tool, "--version"], capture_output=True, text=True,
                                  timeout=60).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        m = re.search(r"(\d+(?:\.\d+)+)", text)
        if m:
            out[tool] = m.group(1)
    return out


def _add(fmt: dict, key: str, value: str) -> None:
    old = fmt.get(key)
    fmt[key] = ([*old] if isinstance(old, list) else [old] if old else []) + [value]


def stage_config(project: Path, assets: dict[str, Path]) -> dict:
    """Rewrite ``project/_quarto.yml`` with the page marks; returns the new config."""
    path = project / "_quarto.yml"
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    formats = config.get("format") or {}
    if not isinstance(formats, dict):  # ``format: html`` (one format by name)
        formats = {str(formats): {}}
    config["format"] = formats
    # Only the formats the book declares: adding one would make Quarto render it too
    # (the supplement declares Typst and DOCX only). ``html: default`` becomes a mapping.
    for name in ("html", "typst", "docx"):
        if name in formats and not isinstance(formats[name], dict):
            formats[name] = {}
    if "html" in formats and assets["html"].read_text(encoding="utf-8").strip():
        _add(formats["html"], "include-before-body", str(assets["html"]))
    if "typst" in formats and assets["typst"].read_text(encoding="utf-8").strip():
        _add(formats["typst"], "include-in-header", str(assets["typst"]))
    if "docx" in formats:
        formats["docx"]["reference-doc"] = str(assets["docx"])
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return config


def render(exe: str, project: Path, out_dir: Path, assets: dict[str, Path],
           progress=print) -> list[Path]:
    """Run ``quarto render`` on the staged ``project``; move its output into ``out_dir``."""
    config = stage_config(project, assets)
    env = dict(os.environ, QUARTO_PYTHON=sys.executable)
    cmd = [exe, "render", str(project)]
    progress("  " + " ".join(cmd))
    proc = subprocess.run(cmd, cwd=project, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"quarto render failed (exit {proc.returncode})")
    produced = project / str((config.get("project") or {}).get("output-dir", "_book"))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for item in sorted(produced.iterdir()):
        target = out_dir / item.name
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        shutil.move(str(item), target)
        written.append(target)
    return written
