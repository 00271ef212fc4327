"""Command line: ``python -m analysis {results,validate,synthesize,bench}``.

``validate [DATA] [--trial T]`` and ``results [--data D] [--trial T] --out O``: the trial is
a specification file or its folder (default: ``$REPORT_TRIAL``, else the project's default
trial, :func:`analysis.spec.locate.trial_path`); the data folder defaults to
``$REPORT_DATA``, else the specification's ``data.folder``. A problem of the specification
or of the data is printed as one line each (file, key or column, line or row, rule), never as
a traceback, and the command exits non-zero.
"""

from __future__ import annotations

import argparse
import os
import sys


def _spec(trial: str | None):
    """The specification to use (``--trial`` also becomes ``$REPORT_TRIAL`` for this process,
    so that every later look-up of the specification in use finds the same one)."""
    from analysis.spec.locate import current_spec, spec_file

    if trial:
        os.environ["REPORT_TRIAL"] = str(spec_file(trial).resolve())
    return current_spec()


def _folder(data: str | None, spec):
    from analysis.spec.locate import data_folder

    return data if data else data_folder(spec)


def _synthesize(args) -> int:
    """Run the trial's own synthetic-data generator (``synthetic.py`` next to its
    specification, with ``main(out, seed, n, fmt)``)."""
    import importlib.util

    from analysis.spec.load import SpecError

    try:
        spec = _spec(args.trial)
    except SpecError as err:
        print(err, file=sys.stderr)
        return 1
    path = spec.path.parent / "synthetic.py"
    if not path.is_file():
        print(f"{spec.identity.short_name}: no synthetic-data generator ({path} not found)",
              file=sys.stderr)
        return 1
    mod_spec = importlib.util.spec_from_file_location("trial_synthetic", path)
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    return mod.main(out=args.out, seed=args.seed, n=args.n, fmt=args.format)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("results", help="compute the results store, tables and figures")
    p.add_argument("--data", default=None, help="data folder (default: the specification's)")
    p.add_argument("--trial", default=None, help="trial specification (file or folder)")
    p.add_argument("--out", default="_output")
    p = sub.add_parser("validate", help="validate a data folder against the data contract")
    p.add_argument("data", nargs="?", default=None,
                   help="data folder (default: the specification's)")
    p.add_argument("--trial", default=None, help="trial specification (file or folder)")
    p = sub.add_parser("synthesize", help="write the synthetic dataset of the default trial")
    p.add_argument("--out", default="data/synthetic")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--n", type=int, default=None, help="patients (default: the published 114)")
    p.add_argument("--format", default="csv", choices=["csv", "parquet"])
    p.add_argument("--trial", default=None, help="trial specification (file or folder)")
    p = sub.add_parser("bench", help="time the analysis at several n and the report's rebuilds")
    p.add_argument("--sizes", default="1000,10000,100000", help="comma-separated n")
    p.add_argument("--json", default=None, help="where to write the figures "
                   "(default .cache/bench.json)")
    p.add_argument("--no-render", action="store_true", help="the analysis only")
    p.add_argument("--no-quarto", action="store_true", help="skip the Quarto render")
    args = parser.parse_args(argv)

    if args.cmd in ("results", "validate"):
        from analysis.spec.load import SpecError

        try:
            spec = _spec(args.trial)
            folder = _folder(args.data, spec)
        except (SpecError, FileNotFoundError) as err:
            print(err, file=sys.stderr)
            return 2 if args.cmd == "results" else 1
    if args.cmd == "results":
        from analysis.blinding import BlindingError
        from analysis.blinding import load as load_trial
        from analysis.data import DataError
        from analysis.pipeline import compute_results, write_outputs
        from analysis.validation import notes

        try:  # validates the folder and its dataset.yaml before computing anything
            trial = load_trial(folder, spec=spec)
        except (DataError, BlindingError, SpecError) as err:
            print(err, file=sys.stderr)
            return 2
        for line in notes(folder, spec):
            print(line)
        store = compute_results(trial)
        out = write_outputs(trial, store, args.out)
        print(f"{len(store)} statistics written to {out}/results.csv")
        return 0
    if args.cmd == "validate":
        from analysis.validation import main as validate_main

        try:
            return validate_main(folder, spec=spec)
        except SpecError as err:
            print(err, file=sys.stderr)
            return 1
    if args.cmd == "synthesize":
        return _synthesize(args)
    if args.cmd == "bench":
        from analysis.bench import JSON_PATH
        from analysis.bench import main as bench_main

        sizes = [int(x.replace("_", "")) for x in args.sizes.split(",") if x.strip()]
        return bench_main(sizes, args.json or JSON_PATH, not args.no_render, not args.no_quarto)
    return 1


if __name__ == "__main__":
    sys.exit(main())
