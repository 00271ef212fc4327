"""Test helpers shared by the output-folder and fault tests: write and snapshot a file tree."""

from __future__ import annotations

from pathlib import Path


def write_folder(root: Path, files: dict[str, str]) -> Path:
    """Write ``{relative path: text}`` under ``root``; return ``root``."""
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """``{relative posix path: bytes}`` of every file under ``root``."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}
