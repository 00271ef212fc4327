"""Command line: ``python -m publishing render [--engine auto|quarto|builtin] [--trial T]
[--data DIR]``.

Other subcommands (``results``, ``supplement``, ``verify``) are added by their own modules.
"""

from __future__ import annotations

import argparse
import sys


def _state(err: BaseException) -> str:
    """What the output folder holds after ``err`` (the note the publisher added), else that
    the failure came before anything was written."""
    notes = getattr(err, "__notes__", None)
    return "\n".join(notes) if notes else "Nothing was written to the output folder."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m publishing")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("render", help="compute the results and render the book")
    p.add_argument("--engine", default="auto", choices=["auto", "quarto", "builtin"])
    p.add_argument("--data", default=None, help="data folder (default $REPORT_DATA, else the "
                   "trial's data.folder)")
    p.add_argument("--project", default=".", help="folder holding _quarto.yml")
    p.add_argument("--out", default=None, help="output folder (default: the project's)")
    p.add_argument("--no-results", action="store_true",
                   help="skip the `python -m analysis results` pre-step")
    p = sub.add_parser("results", help="compute the results store, tables and figures only")
    p.add_argument("--data", default=None, help="data folder (default $REPORT_DATA, else the "
                   "trial's data.folder)")
    p.add_argument("--project", default=".", help="folder holding _quarto.yml")
    p.add_argument("--out", default=None, help="output folder (default: the project's)")
    for cmd, what in (("supplement", "build the journal supplement and its zip"),
                      ("verify", "rebuild from scratch in a temporary folder, compare hashes")):
        p = sub.add_parser(cmd, help=what)
        p.add_argument("--engine", default="auto", choices=["auto", "quarto", "builtin"])
        p.add_argument("--data", default=None, help="data folder (default $REPORT_DATA, else the "
                   "trial's data.folder)")
        p.add_argument("--project", default=".", help="folder holding _quarto.yml")
        p.add_argument("--out", default=None, help="output folder (default: the project's)")
    for p in sub.choices.values():
        p.add_argument("--trial", default=None, help="trials/<name> (or its trial.yaml); "
                       "default $REPORT_TRIAL, else pyproject's default-trial")
    args = parser.parse_args(argv)

    from analysis.blinding import BlindingError, check

    try:
        check()  # blinded mode without a key: refuse before doing anything
    except BlindingError as err:
        print(err, file=sys.stderr)
        return 2
    from publishing.output import OutputError

    if args.cmd == "supplement":
        from publishing.supplement import build

        try:
            build(args.project, args.data, args.engine, args.out, trial=args.trial)
        except OutputError as err:  # a full disk, an unwritable folder, a busy output folder
            print(f"\nSUPPLEMENT FAILED: {err}", file=sys.stderr)
            return 1
        except Exception as err:  # say it, and what the output folder holds now
            print(f"\nSUPPLEMENT FAILED: {type(err).__name__}: {err}\n{_state(err)}",
                  file=sys.stderr)
            return 1
        return 0
    if args.cmd == "results":
        from publishing.render import results_only

        try:
            results_only(args.project, args.data, args.out, trial=args.trial)
        except OutputError as err:
            print(f"\nRESULTS FAILED: {err}", file=sys.stderr)
            return 1
        except Exception as err:
            print(f"\nRESULTS FAILED: {type(err).__name__}: {err}\n{_state(err)}",
                  file=sys.stderr)
            return 1
        return 0
    if args.cmd == "verify":
        from publishing.verify import main as verify_main

        return verify_main(args.project, args.data, args.engine, args.out, args.trial)

    if args.cmd == "render":
        from publishing.kernel import CellError
        from publishing.render import render

        try:
            render(args.project, args.data, args.engine, args.out, not args.no_results,
                   trial=args.trial)
        except OutputError as err:  # one line: a full disk, an unwritable or busy folder
            print(f"\nRENDER FAILED: {err}", file=sys.stderr)
            return 1
        except CellError as err:
            print(f"\nRENDER FAILED in chapter {err.chapter}, cell {err.label}:\n"
                  f"{err.traceback}\n{_state(err)}", file=sys.stderr)
            return 1
        except Exception as err:  # any other failure: say it, and what the output holds
            print(f"\nRENDER FAILED: {type(err).__name__}: {err}\n{_state(err)}",
                  file=sys.stderr)
            return 1
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
