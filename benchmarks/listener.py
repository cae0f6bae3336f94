"""Listener throughput: hookwire's Flask listener against a bare Flask endpoint, under gunicorn.

Run ``python benchmarks/listener.py``. Every app is served by gunicorn with the
same settings (2 sync workers on 127.0.0.1): the listener verifies the signature,
parses the envelope, de-duplicates in memory and runs one handler; the bare
endpoint answers 202 without looking at the request; a third app reads the body
and answers 202, to show what reading alone costs (the goal is against the bare
endpoint). One load generator (a
separate Python process using aiohttp, fixed concurrency) sends each app the same
pre-signed requests, one unique event each. Rounds alternate between the apps so
that drift in the machine's speed hits both alike; the medians and their ratio are
printed (goal: the listener at >= 0.9x the bare endpoint). On Linux each round also
reads the CPU time the server's processes used per request: on a shared machine,
where requests per second swing with other work, that ratio stays put.

The module is also the gunicorn app module (``listener:listener_app()``,
``listener:bare_app()`` and ``listener:reading_app()``) and the load generator
(``--load URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

from hookwire import Receiver, sign_headers
from hookwire.dedupe import MemoryDedupe
from hookwire.flask import WebhookListener

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _local import free_port, wait_ready  # noqa: E402


def listener_app() -> Flask:
    """The measured app: signature auth, memory de-duplication, one handler."""
    app = Flask("listener")
    listener = WebhookListener(app, receiver=Receiver(secret=SECRET), dedupe=MemoryDedupe())
    handled: list[int] = [0]

    @listener.on_any
    def count(event: object) -> None:
        handled[0] += 1

    return app


def bare_app() -> Flask:
    """The baseline: the same framework and server, answering 202 without any work."""
    app = Flask("bare")

    @app.post("/webhooks")
    def accept() -> Response:
        return Response('{"accepted":1,"duplicates":0}', 202, mimetype="application/json")

    return app


def reading_app() -> Flask:
    """The baseline that reads the body, as any endpoint that uses it must, then answers 202."""
    app = Flask("reading")

    @app.post("/webhooks")
    def accept() -> Response:
        request.get_data()
        return Response('{"accepted":1,"duplicates":0}', 202, mimetype="application/json")

    return app


def _requests(count: int) -> list[tuple[bytes, dict[str, str]]]:
    """``count`` signed requests, each carrying one event with its own eventId."""
    signed = []
    for n in range(count):
        body = json.dumps(
            {
                "accountId": 1010,
                "events": [
                    {
                        "eventId": f"bench-{os.getpid()}-{time.time_ns()}-{n}",
                        "eventName": "COURSE_COMPLETED",
                        "timestamp": "2026-11-28T17:00:00.000Z",
                        "eventInfo": "1731037792000-040366-10488-0",
                        "data": {
                            "userId": 11080928 + n,
                            "loId": "course:12345678",
                            "loInstanceId": "course:12345678_14448484",
                            "loType": "course",
                            "enrollmentSource": "SELF_ENROLL",
                            "dateCompleted": "2026-11-28T16:59:00.000Z",
                            "hasPassed": True,
                        },
                    }
                ],
            }
        ).encode()
        headers = {"Content-Type": "application/json", **sign_headers(SECRET, body)}
        signed.append((body, headers))
    return signed


async def _load(url: str, seconds: float, concurrency: int, count: int) -> dict[str, float]:
    import aiohttp

    signed = _requests(count)
    next_index = 0
    done = errors = 0
    stop_at = 0.0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal next_index, done, errors
        while time.perf_counter() < stop_at:
            body, headers = signed[next_index % count]
            next_index += 1
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status == 202:
                    done += 1
                else:
                    errors += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        stop_at = start + seconds
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return {"rps": done / elapsed, "errors": errors, "requests": done}


def _serve(factory: str, port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "sync",
        "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--chdir", str(HERE),
        f"listener:{factory}()",
    ]  # fmt: skip
    return subprocess.Popen(command)


def _server_cpu(pid: int) -> float | None:
    """CPU seconds used so far by a gunicorn master and its workers (Linux /proc; else None).

    Unlike requests per second, CPU time per request hardly moves when other
    processes share the machine, so it compares the contenders on a busy machine.
    """
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        total = 0
        for proc in [str(pid), *children]:
            fields = Path(f"/proc/{proc}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime and stime, in clock ticks
    except (OSError, IndexError, ValueError):
        return None
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    """Run the comparison, or act as the load generator with ``--load``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=40_000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        result = asyncio.run(_load(args.load, args.seconds, args.concurrency, args.count))
        print(json.dumps(result))
        return

    servers = {name: free_port() for name in ("bare", "reading", "listener")}
    processes = {name: _serve(f"{name}_app", port) for name, port in servers.items()}
    results: dict[str, list[float]] = {name: [] for name in servers}
    cpu: dict[str, list[float]] = {name: [] for name in servers}
    try:
        for port in servers.values():
            wait_ready(port, timeout=20, poll=0.1)
        for round_no in range(1, args.rounds + 1):
            order = list(servers) if round_no % 2 else list(reversed(servers))
            for name in order:
                url = f"http://127.0.0.1:{servers[name]}/webhooks"
                load = [sys.executable, __file__, "--load", url, "--seconds", str(args.seconds)]
                load += ["--concurrency", str(args.concurrency)]
                cpu_before = _server_cpu(processes[name].pid)
                output = subprocess.run(load, check=True, capture_output=True, text=True).stdout
                cpu_after = _server_cpu(processes[name].pid)
                measured = json.loads(output)
                if measured["errors"]:
                    raise SystemExit(f"{name}: {measured['errors']} requests were not answered 202")
                results[name].append(measured["rps"])
                line = f"round {round_no}  {name:<9} {measured['rps']:8.0f} req/s"
                if cpu_before is not None and cpu_after is not None and measured["requests"]:
                    cpu[name].append((cpu_after - cpu_before) / measured["requests"] * 1e6)
                    line += f"  {cpu[name][-1]:6.0f} us server CPU/req"
                print(line, flush=True)
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            process.wait()
    _report(results, cpu, args)


def _report(results: dict[str, list[float]], cpu: dict[str, list[float]], args: Any) -> None:
    medians = {name: statistics.median(values) for name, values in results.items()}
    bare, listener = medians["bare"], medians["listener"]
    print()
    print(f"gunicorn, 2 sync workers, concurrency {args.concurrency}, medians of {args.rounds}")
    print(f"  bare Flask endpoint   {bare:8.0f} req/s")
    print(f"  bare, reading body    {medians['reading']:8.0f} req/s")
    print(f"  hookwire listener     {listener:8.0f} req/s")
    print(f"  ratio of the medians  {listener / bare:8.2f}x  (goal >= 0.90x)")
    # The same round's figures share the machine's state: their ratio drifts less.
    for base in ("bare", "reading"):
        rounds = zip(results["listener"], results[base], strict=True)
        paired = statistics.median(ours / theirs for ours, theirs in rounds)
        print(f"  median round ratio    {paired:8.2f}x  (listener / {base})")
    if all(cpu.values()):
        used = {name: statistics.median(values) for name, values in cpu.items()}
        print(
            f"  server CPU per request: bare {used['bare']:.0f} us, reading "
            f"{used['reading']:.0f} us, listener {used['listener']:.0f} us"
        )
        print(f"  CPU ratio             {used['bare'] / used['listener']:8.2f}x  (bare / listener)")


if __name__ == "__main__":
    main()
