"""A/B of the dispatch benchmark: the same contenders on two source trees, interleaved.

Machines here are noisy and differ from session to session, so a change to the
sender is judged against the code before it in the same run: every round
measures each selected contender once per tree (the order alternating by
round), each in a fresh worker process, and the medians are printed side by side.

    git worktree add /tmp/before <commit>
    python benchmarks/dispatch_ab.py --before /tmp/before/sdk --only "max_batch=100&C=50"

``--only`` keeps the contenders whose table and label contain every ``&``-separated
part; ``--modes`` and ``--rounds`` are as in ``dispatch.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import dispatch  # the benchmark beside this file (the script's folder is on sys.path)
from _local import on_fresh_sqlite, rotated


def main() -> None:
    """Measure the chosen contenders on both trees and print their medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="sdk folder of the code to compare with")
    parser.add_argument(
        "--after",
        default=str(Path(__file__).resolve().parent.parent / "sdk"),
        help="the sdk folder of the changed code (default: this checkout's)",
    )
    parser.add_argument("--only", default="", help="parts (joined by &) every label must contain")
    parser.add_argument("--modes", default="bulk,backlog", help="publish modes, as in dispatch.py")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    trees = {"before": args.before, "after": args.after}
    for name, path in trees.items():
        if not (Path(path) / "hookwire" / "__init__.py").is_file():
            parser.error(f"--{name} {path!r} holds no hookwire package")
    parts = [part for part in args.only.split("&") if part]
    results: dict[tuple[str, str, str], list[float]] = {}
    sink_process, sink = dispatch.start_sink()
    try:
        with tempfile.TemporaryDirectory() as tmp, dispatch.scratch_postgres() as pg_url:
            stores = {"sqlite": "sqlite:///unused.db"}
            if pg_url is not None:
                stores["postgres"] = pg_url
            plan = [
                c
                for c in dispatch.contenders(sink, stores, quick=False, modes=args.modes.split(","))
                if c.spec["kind"] in ("hookwire", "latency")
                and all(part in f"{c.table} {c.label}" for part in parts)
            ]
            for round_number in range(args.rounds):
                for number, contender in enumerate(plan):
                    for name, path in rotated(list(trees.items()), round_number):
                        run = f"ab-{round_number}-{number}-{name}"
                        spec = on_fresh_sqlite(contender.spec, tmp, run)
                        os.environ["PYTHONPATH"] = path  # the worker process imports this tree
                        result = dispatch.measure(spec)
                        value = float(result.get("rate", result.get("p99_ms", 0.0)))
                        key = (contender.table, contender.label, name)
                        results.setdefault(key, []).append(value)
                        print(
                            f"round {round_number + 1} {contender.table} {contender.label} "
                            f"{name}: {value:.1f}",
                            file=sys.stderr,
                            flush=True,
                        )
    finally:
        sink_process.terminate()
        sink_process.wait()
    print("deliveries/s (latency rows: p99 ms), medians; each round's values in brackets")
    for (table, label, name), values in results.items():
        shown = ", ".join(f"{v:.0f}" for v in values)
        print(f"{table:8} {label:45} {name:6} {statistics.median(values):9.1f}  [{shown}]")


if __name__ == "__main__":
    main()
