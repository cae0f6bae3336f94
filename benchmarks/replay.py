"""Replay throughput: ``hookwire replay``'s engine against a bare aiohttp POST loop.

Run from the repository root::

    /work/venv/bin/python benchmarks/replay.py [--requests 20000] [--rounds 5] [--concurrency 16]

It writes a recording of N signed sample requests (the format ``hookwire
listen --record`` writes), starts an aiohttp sink answering 202 in a separate
process on 127.0.0.1, then runs interleaved rounds of:

- **hookwire replay**: the replay engine called in-process, exactly as the
  command runs it: read and filter the recording file (``load_requests``), then
  send every request re-signed with a fresh webhook-id and timestamp
  (``send_requests``). Reading the file is inside the timing.
- **bare aiohttp**: the same bodies and headers already in memory, POSTed by
  the same number of workers sharing one ``ClientSession``; nothing else.

It prints each round, the medians in requests per second and their ratio, the
median of the per-round ratios, and the client's CPU time per request (the
least disturbed by other load on a shared machine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web

from hookwire import sign_headers
from hookwire.recording import RecordedRequest
from hookwire.samples import sample_envelope
from hookwire_cli._common import build_request_auth
from hookwire_cli._sending import send_requests
from hookwire_cli.replay import ReplayFilter, load_requests

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NAMES = ["COURSE_ENROLLMENT", "COURSE_COMPLETED", "LEARNER_PROGRESS", "CI_STATS"]


def run_sink() -> None:
    """The sink process: answer 202 to every POST, print the port, run until killed."""

    async def accept(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=202)

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/", accept)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(runner.addresses[0][1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def write_recording(path: Path, count: int) -> list[tuple[bytes, dict[str, str]]]:
    """Write ``count`` recorded requests; return their bodies and headers for the bare loop."""
    rng = random.Random(20261128)
    now = datetime.now(UTC)
    prepared = []
    with path.open("w", encoding="utf-8") as handle:
        for n in range(count):
            envelope = sample_envelope([NAMES[n % len(NAMES)]], 1010, rng, timestamp=now)
            body = json.dumps(envelope, separators=(",", ":")).encode()
            headers = {"content-type": "application/json", **sign_headers(SECRET, body)}
            record = RecordedRequest.from_request(
                method="POST",
                path="/webhooks",
                query="",
                headers=headers,
                body=body,
                received_at=now,
                verified=True,
                status=202,
            )
            handle.write(record.to_json_line() + "\n")
            prepared.append((body, headers))
    return prepared


def cpu_seconds() -> float:
    """CPU time of this process so far: less disturbed by other load than the wall clock."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def bare_loop(
    url: str, prepared: list[tuple[bytes, dict[str, str]]], concurrency: int
) -> float:
    """POST every prepared request with ``concurrency`` workers; return requests/s."""
    pending = iter(prepared)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            for body, headers in pending:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 202:
                        raise RuntimeError(f"sink answered {response.status}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(prepared) / (time.perf_counter() - started)


def hookwire_replay(url: str, path: Path, concurrency: int) -> float:
    """Load the recording and replay it with the CLI's engine; return requests/s."""
    auth = build_request_auth(secret=SECRET, signature_file=None, basic_auth=None)
    started = time.perf_counter()
    loaded = load_requests(path, ReplayFilter())
    summary = asyncio.run(send_requests(url, loaded.requests, auth=auth, concurrency=concurrency))
    elapsed = time.perf_counter() - started
    if summary.ok != len(loaded.requests):
        raise RuntimeError(f"replay failed: {summary.to_dict()}")
    return summary.sent / elapsed


def main() -> None:
    """Run the benchmark and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        run_sink()
        return

    sink = subprocess.Popen([sys.executable, __file__, "--sink"], stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None
        url = f"http://127.0.0.1:{sink.stdout.readline().strip()}/"
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "recording.jsonl"
            prepared = write_recording(path, args.requests)
            size = path.stat().st_size / 2**20
            print(
                f"{args.requests} requests ({size:.1f} MiB recording), concurrency "
                f"{args.concurrency}, sink {url} in its own process; {args.rounds} rounds"
            )
            # One warm-up of each, not counted.
            hookwire_replay(url, path, args.concurrency)
            asyncio.run(bare_loop(url, prepared, args.concurrency))
            replay_rates: list[float] = []
            bare_rates: list[float] = []
            replay_cpu: list[float] = []
            bare_cpu: list[float] = []
            for round_no in range(args.rounds):
                # Alternate which goes first so neither always gets the warmer machine.
                order = ["replay", "bare"] if round_no % 2 == 0 else ["bare", "replay"]
                for which in order:
                    cpu_before = cpu_seconds()
                    if which == "replay":
                        replay_rates.append(hookwire_replay(url, path, args.concurrency))
                        replay_cpu.append((cpu_seconds() - cpu_before) / args.requests)
                    else:
                        bare_rates.append(asyncio.run(bare_loop(url, prepared, args.concurrency)))
                        bare_cpu.append((cpu_seconds() - cpu_before) / args.requests)
                print(
                    f"  round {round_no + 1}: hookwire replay {replay_rates[-1]:8.0f} req/s "
                    f"({replay_cpu[-1] * 1e6:.0f} us CPU/req)   bare aiohttp "
                    f"{bare_rates[-1]:8.0f} req/s ({bare_cpu[-1] * 1e6:.0f} us CPU/req)"
                )
    finally:
        sink.terminate()
        sink.wait()
    replay_median = statistics.median(replay_rates)
    bare_median = statistics.median(bare_rates)
    # Rounds run back to back, so a round's own ratio is the least disturbed by other load.
    round_ratios = [r / b for r, b in zip(replay_rates, bare_rates, strict=True)]
    print(f"median hookwire replay: {replay_median:8.0f} requests/s (file read + re-sign + send)")
    print(f"median bare aiohttp:    {bare_median:8.0f} requests/s (pre-built requests)")
    print(f"ratio of the medians: {replay_median / bare_median:.2f}x (goal >= 0.6x)")
    print(f"median of the per-round ratios: {statistics.median(round_ratios):.2f}x")
    replay_us = statistics.median(replay_cpu) * 1e6
    bare_us = statistics.median(bare_cpu) * 1e6
    print(
        f"client CPU per request (medians): hookwire replay {replay_us:.0f} us, "
        f"bare {bare_us:.0f} us -> {bare_us / replay_us:.2f}x"
    )


if __name__ == "__main__":
    main()
