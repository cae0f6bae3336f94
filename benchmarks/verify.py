"""Verification throughput: hookwire against standardwebhooks, svix and raw HMAC-SHA256.

Run ``python benchmarks/verify.py``. Each round measures every contender for a
fixed time, rounds are interleaved so that drift in the machine's speed hits
all of them alike, and the table shows the median of the rounds.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import statistics
import time
from collections.abc import Callable

import standardwebhooks
import svix

from hookwire import Receiver, sign_headers
from hookwire.signing import _hmac_pads

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _event(n: int) -> dict[str, object]:
    return {
        "eventId": f"5a1c9a0e-3f43-4d5e-9a51-0d1b2c3d{n:04d}",
        "eventName": "COURSE_COMPLETED",
        "timestamp": "2024-11-08T03:49:52.000Z",
        "eventInfo": "1731037792000-040366-10488-0",
        "data": {
            "userId": 11080928 + n,
            "loId": "course:12345678",
            "loInstanceId": "course:12345678_14448484",
            "loType": "course",
            "enrollmentSource": "SELF_ENROLL",
            "dateCompleted": "2024-11-08T03:49:00.000Z",
            "hasPassed": True,
        },
    }


def envelope(events: int) -> bytes:
    """A realistic envelope of ``events`` COURSE_COMPLETED events."""
    return json.dumps({"accountId": 1234, "events": [_event(n) for n in range(events)]}).encode()


def contenders(body: bytes) -> dict[str, Callable[[], object]]:
    """One zero-argument callable per contender, each verifying the same signed request."""
    headers = sign_headers(SECRET, body, msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek")
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    pads = _hmac_pads(key)
    std = standardwebhooks.Webhook(SECRET)
    sx = svix.Webhook(SECRET)
    receiver = Receiver(secret=SECRET)
    # Header names as a WSGI server hands them over (title case), for every contender.
    wire = {name.title(): value for name, value in headers.items()}
    return {
        "raw HMAC-SHA256 (limit)": lambda: hmac.digest(key, signed, hashlib.sha256),
        "raw HMAC, keyed state": lambda: _keyed_hmac(pads, signed),
        "standardwebhooks verify": lambda: std.verify(body, wire),
        "svix verify": lambda: sx.verify(body, wire),
        "hookwire authenticate": lambda: receiver.authenticate(body, wire),
        "hookwire verify (typed)": lambda: receiver.verify(body, wire),
    }


def _keyed_hmac(pads: tuple[hashlib._Hash, hashlib._Hash], message: bytes) -> bytes:
    """HMAC-SHA256 from precomputed key pads, as hookwire's Verifier computes it."""
    inner = pads[0].copy()
    inner.update(message)
    outer = pads[1].copy()
    outer.update(inner.digest())
    return outer.digest()


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``fn`` over about ``seconds`` of wall time."""
    batch = 200
    calls = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(batch):
            fn()
        calls += batch
        now = time.perf_counter()
        if now >= deadline:
            return calls / (now - start)


def measure(body: bytes, rounds: int, seconds: float) -> dict[str, float]:
    """Median calls per second of each contender over interleaved rounds."""
    fns = contenders(body)
    for fn in fns.values():
        fn()  # fail fast if a contender rejects the request
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            samples[name].append(rate(fn, seconds))
    return {name: statistics.median(values) for name, values in samples.items()}


def table(title: str, medians: dict[str, float]) -> str:
    """Render one result table with ratios against svix, standardwebhooks and raw HMAC."""
    svix_rate = medians["svix verify"]
    std_rate = medians["standardwebhooks verify"]
    raw_rate = medians["raw HMAC-SHA256 (limit)"]
    lines = [
        title,
        f"{'contender':<26}{'verif/s':>12}{'us/call':>10}"
        f"{'vs svix':>9}{'vs stdwh':>10}{'vs raw':>8}",
    ]
    for name, value in medians.items():
        lines.append(
            f"{name:<26}{value:>12,.0f}{1e6 / value:>10.2f}{value / svix_rate:>8.2f}x"
            f"{value / std_rate:>9.2f}x{value / raw_rate:>7.2f}x"
        )
    return "\n".join(lines)


def main() -> None:
    """Measure and print the tables and the goal verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.25, help="per contender per round")
    args = parser.parse_args()
    one = envelope(1)
    medians = measure(one, args.rounds, args.seconds)
    print(table(f"1-event envelope ({len(one)} bytes), median of {args.rounds} rounds", medians))
    many = envelope(100)
    many_medians = measure(many, args.rounds, args.seconds)
    print()
    print(
        table(
            f"100-event envelope ({len(many)} bytes), median of {args.rounds} rounds", many_medians
        )
    )
    goals = [
        ("authenticate >= 2.5x svix verify (1 event)", medians, "svix verify", 2.5),
        ("verify (typed) >= 1.5x standardwebhooks (1 event)", medians, None, 1.5),
        ("verify (typed) >= 1.0x standardwebhooks (100 events)", many_medians, None, 1.0),
    ]
    print()
    for title, found, against, goal in goals:
        mine = "hookwire authenticate" if against else "hookwire verify (typed)"
        ratio = found[mine] / found[against or "standardwebhooks verify"]
        print(f"goal {title:<54}{ratio:5.2f}x {_verdict(ratio, goal)}")


def _verdict(ratio: float, goal: float) -> str:
    return "met" if ratio >= goal else "MISSED"


if __name__ == "__main__":
    main()
