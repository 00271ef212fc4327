"""``python -m publishing verify``: rebuild from scratch in a temporary folder, compare hashes.

The report (results pre-step, chapters, every format) is rendered again into a temporary output
folder, and the supplement too when the current output has one. The current output is read
under its lock (:func:`publishing.output.lock`), so no render switches it meanwhile; the
rebuild never writes to it. The data-derived files
(:data:`PATTERNS`: results store, table CSVs, figure SVGs, the supplement zip) are compared by
SHA-256 with those of the current output folder; each is printed as identical or different,
and any difference (or a file present on one side only) gives a non-zero exit status.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from publishing.provenance import sha256

PATTERNS = ("results.csv", "results.json", "tables/*.csv", "figures/*.svg",
            "online-supplement*.zip")


@dataclass(frozen=True)
class Comparison:
    """One file: its path relative to the output folder and both digests (None if absent)."""

    path: str
    current: str | None
    fresh: str | None

    @property
    def status(self) -> str:
        if self.current is None:
            return "missing in current output"
        if self.fresh is None:
            return "not reproduced"
        return "identical" if self.current == self.fresh else "DIFFERENT"

    @property
    def ok(self) -> bool:
        return self.status == "identical"


def collect(root: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of the data-derived files under ``root``."""
    out = {}
    for pattern in PATTERNS:
        for p in sorted(root.glob(pattern)):
            if p.is_file():
                out[p.relative_to(root).as_posix()] = sha256(p)
    return out


def compare(current: dict[str, str], fresh: dict[str, str]) -> list[Comparison]:
    """One :class:`Comparison` per file on either side, sorted by path."""
    return [Comparison(k, current.get(k), fresh.get(k)) for k in sorted({*current, *fresh})]


def has_supplement(out: Path) -> bool:
    return any(out.glob("online-supplement*.zip"))


def rebuild(project: Path, data, engine: str, dest: Path, supplement: bool,
            progress=print, trial=None) -> Path:
    """Render the report (and the supplement) from scratch into ``dest``."""
    from publishing import render
    from publishing import supplement as supp

    quiet = lambda m: progress("  " + m)  # noqa: E731
    render.render(project, data, engine, dest, results=True, progress=quiet, use_cache=False,
                  trial=trial)
    if supplement:
        supp.build(project, data, engine, dest, progress=quiet, trial=trial)
    return dest


def verify(project: Path | str = ".", data=None, engine: str = "auto",
           out: Path | str | None = None, progress=print, trial=None) -> list[Comparison]:
    """Rebuild in a temporary folder and compare with the current output (``out``)."""
    from publishing import book as bookmod
    from publishing import output
    from publishing.render import out_path

    project = Path(project).resolve()
    current = out_path(project, out, bookmod.load(project).output_dir)
    with output.lock(current):  # no render switches the folder while it is read
        if not (current / "results.csv").exists():
            raise FileNotFoundError(f"no current output in {current}: run `make report` first")
        before = collect(current)
        supplement = has_supplement(current)
    with output.staging("verify-") as tmp:
        progress(f"Rebuilding from scratch in a temporary folder (current: {current})")
        fresh = rebuild(project, data, engine, tmp / "out", supplement, progress, trial)
        after = collect(fresh)
    return compare(before, after)


def main(project=".", data=None, engine: str = "auto", out=None, trial=None) -> int:
    """Command line entry: print one line per file and a summary; 0 only if all identical."""
    t0 = time.perf_counter()
    try:
        rows = verify(project, data, engine, out, trial=trial)
    except Exception as err:  # a failed rebuild is a failed verification
        print(f"\nVERIFY FAILED: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    width = max((len(r.path) for r in rows), default=10)
    for r in rows:
        print(f"  {r.path:<{width}}  {r.status}")
    bad = [r for r in rows if not r.ok]
    took = f"{time.perf_counter() - t0:.1f} s"
    if not rows:
        print("VERIFY FAILED: no data-derived files to compare", file=sys.stderr)
        return 1
    if bad:
        print(f"VERIFY FAILED: {len(bad)} of {len(rows)} files differ ({took})", file=sys.stderr)
        return 1
    print(f"VERIFIED: {len(rows)} files identical ({took})")
    return 0
