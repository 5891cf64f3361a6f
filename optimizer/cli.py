"""Command line: ``python -m optimizer solve INSTANCE.json -o SOLUTION.json``.

Bad input (unreadable file, invalid JSON, a field out of range) ends with a
one-line message on stderr and exit code 2, never a traceback; a solved run
exits 0 whatever its status (the status is in the solution file and on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from optimizer.component import SOLVERS
from optimizer.instance import load_json
from optimizer.orchestrate import solve
from optimizer.pricing import PRICING_MODES

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own usage errors also exit 2
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m optimizer", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser("solve", help="solve an instance file")
    run.add_argument("instance", type=Path, help="instance JSON (see docs/optimizer.md)")
    run.add_argument(
        "-o", "--output", type=Path, help="where to write the solution JSON (default: stdout)"
    )
    run.add_argument(
        "--solver",
        choices=SOLVERS,
        default="auto",
        help="auto: exact min-cost flow for lot-free components, HiGHS otherwise (default); "
        "highs / cbc: always the PuLP model with that solver",
    )
    run.add_argument(
        "--time-limit", type=_positive, help="seconds for the whole run (default: the instance's)"
    )
    run.add_argument(
        "--gap", type=_fraction, help="relative MIP gap to stop at (default: the instance's)"
    )
    run.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="processes solving components in parallel (default 1)",
    )
    run.add_argument(
        "--pricing",
        choices=PRICING_MODES,
        default="auto",
        help="auto: price the arcs instead of enumerating them for transport LPs of "
        "about 5 M pairs within reach and up (default); on: whenever the instance "
        "allows; off: never",
    )
    return parser


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        instance = load_json(args.instance)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    solution = solve(
        instance,
        solver=args.solver,
        time_limit_s=args.time_limit,
        mip_gap=args.gap,
        workers=args.workers,
        pricing=args.pricing,
    )
    text = json.dumps(solution.to_dict(), indent=1)
    if args.output is None:
        sys.stdout.write(text + "\n")
    else:
        try:
            args.output.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot write {str(args.output)!r}: {exc.strerror}", file=sys.stderr)
            return EXIT_BAD_INPUT
    summary = (
        f"{solution.status}: {len(solution.flows)} flows, {solution.tonnes_moved:.6g} t moved, "
        f"{solution.saved_kg_co2e:.6g} kg CO2e saved"
    )
    if solution.message:
        summary += f" ({solution.message})"
    print(summary, file=sys.stderr)
    return 0
