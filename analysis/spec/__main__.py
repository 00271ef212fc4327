"""``python -m analysis.spec check SPEC [--data DIR]`` and ``python -m analysis.spec docs``.

``check`` validates the specification (YAML, schema, references) and, when a data folder is
known (``--data`` or the specification's ``data.folder``), the data against it; it prints
every problem and exits 1, or prints a one-line summary and exits 0. ``docs`` prints the
reference page generated from the schema (``docs/trial-spec.md``).
"""

from __future__ import annotations

import argparse
import sys

from analysis.spec.load import SpecError, load_spec


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.spec")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate a trial specification (and its data)")
    check.add_argument("spec", help="trials/<name>/trial.yaml")
    check.add_argument("--data", help="data folder (default: the specification's data.folder)")
    check.add_argument("--no-data", action="store_true", help="check the specification only")
    sub.add_parser("docs", help="print the reference page of the specification")
    args = parser.parse_args(argv)

    if args.command == "docs":
        from analysis.spec.docs import reference_page

        sys.stdout.write(reference_page())
        return 0
    try:
        spec = load_spec(args.spec)
    except SpecError as exc:
        print(exc, file=sys.stderr)
        return 1
    where = "specification only"
    if not args.no_data and (args.data or spec.data.folder):
        from analysis.spec.contract import check_data

        problems = check_data(spec, args.data)
        if problems:
            print(SpecError(problems), file=sys.stderr)
            return 1
        where = f"data {args.data or spec.data.folder}"
    print(f"{args.spec}: OK ({spec.identity.short_name}: {len(spec.arms)} arms, "
          f"{len(spec.visits)} visits, {len(spec.endpoints)} endpoints; {where})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
