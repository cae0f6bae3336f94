"""The battery of ``hookwire check``: which requests it sends, and how each check is graded.

:func:`build_battery` lists the checks for the listener's credentials, in the
order they are sent: a valid request first (so an unreachable listener is
found at once), one tampered request per tampering those credentials can show
(from :func:`hookwire.testing.tamperings_for`), a repeated event, an envelope
of several events, every catalogue event (a few envelopes), an unknown event
name, a body over the listener's size limit and a few requests timed for
latency. The requests are built with :func:`hookwire.testing.signed_request`
when they are sent, so every signature is fresh.

Every event carries a test-like id, ``hookwire-check-<run>-<n>``, and every
request a ``webhook-id`` of ``msg_hookwire-check-<run>-<n>``, so that a
listener's owner can tell them from real deliveries.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import count
from typing import Any, Final

from hookwire import CATALOGUE
from hookwire.listening import DEFAULT_MAX_BODY
from hookwire.signature_file import SignatureFile, read_signature_file
from hookwire.testing import make_envelope, make_event, signed_request, tamperings_for

from ._check_grading import (
    SENDER_READ_TIMEOUT,
    grade_accepted,
    grade_latency,
    grade_oversized,
    grade_refused,
    percentile,
)
from ._check_probe import Answer, Probe, WireRequest
from ._check_report import Verdict

__all__ = [
    "CATALOGUE_ENVELOPE_SIZE",
    "LATENCY_REQUESTS",
    "OVERSIZED_BYTES",
    "TAMPERING_LINES",
    "UNKNOWN_EVENT",
    "Check",
    "Credentials",
    "build_battery",
]

#: Catalogue events per envelope: the whole catalogue takes a few requests, not one each.
CATALOGUE_ENVELOPE_SIZE: Final = 8
#: Valid requests timed for the latency line.
LATENCY_REQUESTS: Final = 8
#: The oversized body: 64 KiB over the listener's default limit (1 MiB).
OVERSIZED_BYTES: Final = DEFAULT_MAX_BODY + 64 * 1024
#: An event name no catalogue has, which a listener must take all the same.
UNKNOWN_EVENT: Final = "HOOKWIRE_CHECK_UNKNOWN_EVENT"
#: The events of the valid request, the repeated one and the multi-event envelope.
_FIRST_EVENT: Final = "COURSE_ENROLLMENT"
_MULTI_EVENTS: Final = ("COURSE_ENROLLMENT", "LEARNER_PROGRESS", "COURSE_COMPLETED")

#: The title of each tampering's line, and the advice when the listener accepts such a request.
TAMPERING_LINES: Final[Mapping[str, tuple[str, str]]] = {
    "unsigned": (
        "an unauthenticated request is refused",
        "authenticate every request before handling it (hookwire.Receiver or the Flask "
        "WebhookListener with HOOKWIRE_SECRET, HOOKWIRE_SIGNATURE_FILE or HOOKWIRE_BASIC_AUTH)",
    ),
    "wrong-secret": (
        "a request signed with another secret is refused",
        "verify webhook-signature against this webhook's own secret, not just its presence",
    ),
    "stale": (
        "a request signed an hour ago is refused",
        "refuse a webhook-timestamp more than 300 s from the clock, so a captured request "
        "cannot be replayed later",
    ),
    "future": (
        "a request signed an hour ahead is refused",
        "check webhook-timestamp both ways: one far in the future is refused too",
    ),
    "reserialised-body": (
        "a body re-encoded after signing is refused",
        "verify the signature over the raw body bytes as received, before any JSON parsing",
    ),
    "missing-webhook-id": (
        "a request without webhook-id is refused",
        "require webhook-id: it is part of the signed content",
    ),
    "missing-webhook-timestamp": (
        "a request without webhook-timestamp is refused",
        "require webhook-timestamp: it is part of the signed content and bounds replays",
    ),
    "missing-webhook-signature": (
        "a request without webhook-signature is refused",
        "require webhook-signature on every request",
    ),
    "truncated-signature": (
        "a truncated signature is refused",
        "compare the whole signature (hmac.compare_digest over the full value), not a prefix",
    ),
    "duplicated-signature": (
        "a malformed signature entry is refused",
        "parse webhook-signature strictly: each space-separated entry is version,base64",
    ),
    "wrong-password": (
        "a wrong basic-auth password is refused",
        "compare the Authorization header's user and password (in constant time) and answer 401",
    ),
}


_VALID_ADVICE: Final = (
    "the listener refused a valid envelope: parse the body as JSON {accountId, events} and "
    "answer 202 (its log says what failed)"
)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the listener authenticates with, as the command line gives it.

    A ``whsk_`` signing key given as the secret signs as ed25519 (with an
    ed25519 signature file, which holds only the public key).
    """

    # Secrets stay out of the repr (a SignatureFile's own repr leaves its keys out).
    secret: str | None = field(default=None, repr=False)
    signature_file: SignatureFile | None = None
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)

    @classmethod
    def from_options(
        cls, *, secret: str | None, signature_file: str | None, basic_auth: tuple[str, str] | None
    ) -> Credentials:
        """Read the signature file once; raise hookwire errors for unusable credentials."""
        loaded = read_signature_file(signature_file) if signature_file is not None else None
        credentials = cls(secret=secret, signature_file=loaded, basic_auth=basic_auth)
        # A trial signature: unusable keys (a whpk_ public key) fail here, before any request.
        credentials.sign({}, msg_id="msg_trial")
        return credentials

    def _keywords(self) -> dict[str, Any]:
        private = self.secret if self.secret and self.secret.startswith("whsk_") else None
        return {
            "secret": None if private else self.secret,
            "private_key": private,
            "signature_file": self.signature_file,
            "basic_auth": self.basic_auth,
        }

    def sign(
        self, envelope: dict[str, Any], *, msg_id: str, tamper: str | None = None
    ) -> WireRequest:
        """The request the sender would send for ``envelope`` (spoilt by ``tamper``)."""
        return signed_request(envelope, msg_id=msg_id, tamper=tamper, **self._keywords())

    def tamperings(self) -> tuple[str, ...]:
        """The tamperings a listener with these credentials must refuse."""
        return tamperings_for(**self._keywords())

    def describe(self) -> str:
        """``signature``, ``basic auth`` or both: what the battery's requests carry."""
        kinds = []
        if self.secret is not None or self.signature_file is not None:
            kinds.append("signature")
        if self.basic_auth is not None:
            kinds.append("basic auth")
        return " and ".join(kinds) or "no credentials"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report: the requests it sends and how their answers are graded."""

    key: str
    title: str
    probes: tuple[Probe, ...]
    grade: Callable[[Sequence[Answer]], Verdict]
    measure: Callable[[Sequence[Answer]], dict[str, Any]] | None = None


def _latency_measures(answers: Sequence[Answer]) -> dict[str, Any]:
    times = [answer.elapsed for answer in answers if answer.ok]
    return {
        "p50Ms": round(percentile(times, 0.5) * 1000, 1) if times else None,
        "p99Ms": round(percentile(times, 0.99) * 1000, 1) if times else None,
    }


def build_battery(
    credentials: Credentials, *, account_id: int, run: str | None = None
) -> list[Check]:
    """Every check, in the order its requests go out; ``run`` names the run in the ids."""
    battery = _Battery(credentials, account_id=account_id, run=run or secrets.token_hex(4))
    return [
        battery.valid(),
        *(battery.tampered(name) for name in credentials.tamperings()),
        battery.repeated(),
        battery.multi_event(),
        battery.catalogue(),
        battery.unknown_event(),
        battery.oversized(),
        battery.latency(),
    ]


class _Battery:
    """Makes the checks of one run, numbering its ids ``hookwire-check-<run>-<n>``."""

    def __init__(self, credentials: Credentials, *, account_id: int, run: str) -> None:
        self._credentials = credentials
        self._account_id = account_id
        self._prefix = f"hookwire-check-{run}"
        self._numbers: Iterator[int] = count(1)
        # The valid request, kept to be sent again as a retry.
        self._first = self._envelope(_FIRST_EVENT)
        self._first_msg_id = self._message_id()

    def _message_id(self) -> str:
        return f"msg_{self._prefix}-{next(self._numbers):02d}"

    def _event(self, name: str, **overrides: Any) -> dict[str, Any]:
        return make_event(name, event_id=f"{self._prefix}-{next(self._numbers):02d}", **overrides)

    def _envelope(self, *names: str) -> dict[str, Any]:
        events = [self._event(name) for name in names]
        return make_envelope(*events, account_id=self._account_id)

    def _probe(
        self,
        label: str,
        body: dict[str, Any],
        *,
        msg_id: str | None = None,
        tamper: str | None = None,
    ) -> Probe:
        sign = self._credentials.sign
        return Probe(label, partial(sign, body, msg_id=msg_id or self._message_id(), tamper=tamper))

    def valid(self) -> Check:
        return Check(
            "valid",
            "a valid request is accepted",
            (self._probe(_FIRST_EVENT, self._first, msg_id=self._first_msg_id),),
            partial(grade_accepted, payload_advice=_VALID_ADVICE, prefer_202=True),
        )

    def tampered(self, name: str) -> Check:
        title, advice = TAMPERING_LINES.get(
            name, (f"a request tampered with ({name}) is refused", "verify every request")
        )
        return Check(
            name,
            title,
            (self._probe(name, self._envelope(_FIRST_EVENT), tamper=name),),
            partial(grade_refused, accepted_advice=advice),
        )

    def repeated(self) -> Check:
        # A retry: the same body and webhook-id, a fresh timestamp and signature.
        return Check(
            "repeated-event",
            "a repeated eventId is answered 2xx",
            (self._probe(_FIRST_EVENT, self._first, msg_id=self._first_msg_id),),
            partial(
                grade_accepted,
                payload_advice="answer 2xx to an event already handled (de-duplicate by "
                "eventId and answer 202): the sender delivers again when an answer was slow "
                "or lost",
            ),
        )

    def multi_event(self) -> Check:
        return Check(
            "multi-event",
            f"an envelope of {len(_MULTI_EVENTS)} events is accepted",
            (self._probe(", ".join(_MULTI_EVENTS), self._envelope(*_MULTI_EVENTS)),),
            partial(
                grade_accepted,
                payload_advice="loop over every event in events: the sender puts several "
                "events in one request",
            ),
        )

    def catalogue(self) -> Check:
        names = list(CATALOGUE)
        groups = [
            names[start : start + CATALOGUE_ENVELOPE_SIZE]
            for start in range(0, len(names), CATALOGUE_ENVELOPE_SIZE)
        ]
        return Check(
            "catalogue",
            f"all {len(names)} catalogue events are accepted",
            tuple(self._probe(", ".join(group), self._envelope(*group)) for group in groups),
            partial(
                grade_accepted,
                payload_advice="accept every catalogue event (an event the listener does not "
                "handle is still answered 202); the refused envelope held the events named here",
            ),
        )

    def unknown_event(self) -> Check:
        event = self._event(
            UNKNOWN_EVENT,
            validate=False,
            data={"note": "sent by hookwire check: an event name outside the catalogue"},
        )
        return Check(
            "unknown-event",
            "an unknown event name is accepted",
            (self._probe(UNKNOWN_EVENT, make_envelope(event, account_id=self._account_id)),),
            partial(
                grade_accepted,
                payload_advice="accept event names outside the catalogue (log and skip them): "
                "the platform adds events without notice",
            ),
        )

    def oversized(self) -> Check:
        body = _padded(self._envelope(_FIRST_EVENT), OVERSIZED_BYTES)
        return Check(
            "oversized",
            "a body over 1 MiB gets 413, not a hang",
            (self._probe("oversized", body),),
            partial(grade_oversized, limit=DEFAULT_MAX_BODY),
            lambda answers: {"bodyBytes": OVERSIZED_BYTES},
        )

    def latency(self) -> Check:
        return Check(
            "latency",
            f"answers come well inside the sender's {SENDER_READ_TIMEOUT:g} s",
            tuple(
                self._probe(_FIRST_EVENT, self._envelope(_FIRST_EVENT))
                for _ in range(LATENCY_REQUESTS)
            ),
            grade_latency,
            _latency_measures,
        )


def _padded(envelope: dict[str, Any], size: int) -> dict[str, Any]:
    """``envelope`` with a filler field that makes its compact JSON ``size`` bytes long."""
    padded = {**envelope, "hookwireCheckPadding": ""}
    shortfall = size - len(json.dumps(padded, separators=(",", ":")).encode())
    padded["hookwireCheckPadding"] = "x" * max(0, shortfall)
    return padded
