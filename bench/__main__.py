"""Run the benchmarks named on the command line (all by default) and print figures."""

from __future__ import annotations

import argparse
import importlib
import sys

BENCHMARKS = {"parse": "bench.parse", "poll": "bench.poll", "notify": "bench.notify", "accuracy": "bench.accuracy", "faults": "bench.faults", "desk": "bench.desk"}  # name -> module with run(repeat)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run: " + ", ".join(BENCHMARKS))
    parser.add_argument("--repeat", type=int, default=15, help="runs per measurement (median reported)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark: {', '.join(unknown)}")
    for name in args.names or list(BENCHMARKS):
        importlib.import_module(BENCHMARKS[name]).run(repeat=args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
