"""Command line: ``python -m analysis {results,validate,synthesize,bench}``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("results", help="compute the results store, tables and figures")
    p.add_argument("--data", default="data/synthetic")
    p.add_argument("--out", default="_output")
    p = sub.add_parser("validate", help="validate a data folder against the data contract")
    p.add_argument("data")
    p = sub.add_parser("synthesize", help="write the synthetic RESPINE dataset")
    p.add_argument("--out", default="data/synthetic")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--n", type=int, default=None, help="patients (default: the published 114)")
    p.add_argument("--format", default="csv", choices=["csv", "parquet"])
    p = sub.add_parser("bench", help="time the analysis at several n and the report's rebuilds")
    p.add_argument("--sizes", default="1000,10000,100000", help="comma-separated n")
    p.add_argument("--json", default=None, help="where to write the figures "
                   "(default .cache/bench.json)")
    p.add_argument("--no-render", action="store_true", help="the analysis only")
    p.add_argument("--no-quarto", action="store_true", help="skip the Quarto render")
    args = parser.parse_args(argv)

    if args.cmd == "results":
        from analysis.blinding import BlindingError
        from analysis.blinding import load as load_trial
        from analysis.data import DataError
        from analysis.pipeline import compute_results, write_outputs
        from analysis.validation import notes

        try:  # validates the folder and its dataset.yaml before computing anything
            trial = load_trial(args.data)
        except (DataError, BlindingError) as err:
            print(err, file=sys.stderr)
            return 2
        for line in notes(args.data):
            print(line)
        store = compute_results(trial)
        out = write_outputs(trial, store, args.out)
        print(f"{len(store)} statistics written to {out}/results.csv")
        return 0
    if args.cmd == "validate":
        from analysis.validation import main as validate_main

        return validate_main(args.data)
    if args.cmd == "synthesize":
        from analysis.synthetic import main as synth_main

        return synth_main(out=args.out, seed=args.seed, n=args.n, fmt=args.format)
    if args.cmd == "bench":
        from analysis.bench import JSON_PATH
        from analysis.bench import main as bench_main

        sizes = [int(x.replace("_", "")) for x in args.sizes.split(",") if x.strip()]
        return bench_main(sizes, args.json or JSON_PATH, not args.no_render, not args.no_quarto)
    return 1


if __name__ == "__main__":
    sys.exit(main())
