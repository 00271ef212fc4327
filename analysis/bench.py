"""Benchmark: time loading + validation and the whole results store on a large synthetic trial.

``python -m analysis bench`` (``make bench``) writes a 10,000-patient synthetic trial to a
temporary folder and prints a small table of timings (seconds, wall clock; the timings are
printed only, never written into any report output).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

N_BENCH = 10_000
SEED = 1


def _timed(label: str, fn, timings: list) -> object:
    t0 = time.perf_counter()
    out = fn()
    timings.append((label, time.perf_counter() - t0))
    return out


def run(n: int = N_BENCH, seed: int = SEED, folder: str | Path | None = None) -> list:
    """Generate, write, load+validate and compute the results store; returns (step, seconds)."""
    from analysis.data import load_trial
    from analysis.pipeline import _modules, compute_results
    from analysis.synthetic import generate, write

    timings: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="respine-bench-") as tmp:
        out = Path(folder or tmp)
        tables = _timed(f"generate synthetic trial (n={n:,})", lambda: generate(n, seed),
                        timings)
        _timed("write CSV", lambda: write(tables, out, seed=seed), timings)
        trial = _timed("load + validate", lambda: load_trial(out), timings)
        for mod in _modules():
            name = mod.__name__.rsplit(".", 1)[-1]
            _timed(f"  family {name}", lambda m=mod: m.compute(trial), timings)
        store = _timed("compute_results (all families)", lambda: compute_results(trial),
                       timings)
        timings.append((f"  -> {len(store):,} statistics; adqs {len(trial.adqs):,} rows", None))
    return timings


def format_table(timings: list) -> str:
    """The timings as a plain-text table."""
    width = max(len(s) for s, _ in timings)
    lines = [f"{'step':<{width}}  seconds", f"{'-' * width}  -------"]
    for step, sec in timings:
        lines.append(f"{step:<{width}}" + (f"  {sec:7.2f}" if sec is not None else ""))
    return "\n".join(lines)


def main(n: int = N_BENCH) -> int:
    """Run the benchmark and print the table of timings."""
    print(format_table(run(n)))
    return 0
