"""Server time of each console page over a store of 100,000 deliveries.

Run ``python benchmarks/console.py`` (``--deliveries``, ``--runs``).

The store is filled as ``benchmarks/api.py`` fills it (5 webhooks of account
1010, ``publish_many`` in chunks of 1000 events, nothing dispatched) in a SQLite
file. A Flask app mounts the console; an access link is exchanged for a
session cookie, and every page is asked through Flask's test client in this
process, so the time is the server's own (routing, session lookup, queries,
template) without a network. Each page is asked ``--runs`` times after one
warm-up; the table shows the median and the slowest. The goal: the
delivery log's first page and a page 90,000 deliveries deep each under 50 ms
median on SQLite.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from api import ACCOUNT, SECRET_KEY, fill_store  # benchmarks/api.py: the same store
from flask import Flask

GOAL_MS = 50.0


def pages(sender: object, deep_cursor: str) -> dict[str, str]:
    """The pages to time: name -> path."""
    hooks = sender.webhooks.list(ACCOUNT)  # type: ignore[attr-defined]
    newest = sender.deliveries.page(account_id=ACCOUNT, limit=1).items[0]  # type: ignore[attr-defined]
    base = f"/accounts/{ACCOUNT}"
    return {
        "webhooks": f"{base}/webhooks",
        "webhook detail": f"{base}/webhooks/{hooks[0].id}",
        "add form": f"{base}/webhooks/new",
        "delivery log, first page": f"{base}/deliveries",
        "delivery log, 90,000 deep": f"{base}/deliveries?cursor={deep_cursor}",
        "delivery log, filtered": f"{base}/deliveries?status=pending&event=COURSE_COMPLETED",
        "delivery": f"{base}/deliveries/{newest.id}",
        "catalogue": "/catalogue",
        "audit log": f"{base}/audit",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    from hookwire.console import Console
    from hookwire.sender import Sender

    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'console.db'}"
        print(f"filling {args.deliveries:,} deliveries ...", file=sys.stderr)
        _key, deep = fill_store(url, args.deliveries)
        sender = Sender(url)
        app = Flask("console-bench")
        app.config.update(HOOKWIRE_CONSOLE_SECRET_KEY=SECRET_KEY)
        console = Console(app, sender=sender)
        client = app.test_client()
        assert client.get(console.access_link(ACCOUNT)).status_code == 303
        failed = False
        print(f"| page | median ms | max ms | ({args.runs} runs, SQLite) |")
        print("|---|---:|---:|---|")
        for name, path in pages(sender, deep).items():
            assert client.get(path).status_code == 200, path
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                client.get(path)
                times.append((time.perf_counter() - start) * 1000)
            median = statistics.median(times)
            goal = ""
            if name.startswith("delivery log, first") or name.endswith("deep"):
                goal = "ok" if median < GOAL_MS else f"over the {GOAL_MS:.0f} ms goal"
                failed = failed or median >= GOAL_MS
            print(f"| {name} | {median:.1f} | {max(times):.1f} | {goal} |")
        sender.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
