"""``hookwire dispatch``: the worker that delivers what the outbox holds.

It runs the sender's dispatcher until SIGINT or SIGTERM. The first signal
stops it taking new work: the requests in flight finish and are recorded, the
leases are released and it exits 0. A second signal (a second or more later)
stops at once: what is still in flight is abandoned, its leases released so
any dispatcher resends it, and the exit status is 1. With ``--drain`` the
first signal stops at once.

A target that fails is not a failure of the run: its delivery is retried on
the schedule, and the exit status is 0. The closing line counts this run's
deliveries by outcome; ``--fail-on-failure`` makes the exit status 1 when any
attempt failed, for jobs that must alert. A run that cannot work (the
database unreachable) exits 1 with one error line.

``--log-format json`` prints every line as one JSON object (an attempt's line
carries the attempt's fields), for log shippers; ``--json`` means the same, as
it does on every command. ``--metrics-port`` serves Prometheus metrics
(the ``metrics`` extra) while the command runs.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import signal
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any, Final

import click

from hookwire.sender import ATTEMPT_LOG_FIELD, Sender

from ._common import json_option
from ._dispatch_metrics import metrics_for, metrics_options, serve_until_exit
from ._hints import cli_text
from ._store import allow_private_option, db_option, open_sender

__all__ = ["dispatch"]

_LOGGER: Final = "hookwire.sender"
# A second signal within this many seconds of the first is the same request to stop.
_SIGNAL_DEBOUNCE: Final = 1.0
# What a delivery in an attempt's request became, by the attempt's verdict. A split
# request is resent in halves, so its deliveries are neither delivered nor failed yet.
_OUTCOMES: Final = {
    "succeeded": "delivered",
    "retry": "failed",
    "dead": "dead",
    "disable": "dead",
}


def _timestamp(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _attempt_fields(record: logging.LogRecord) -> dict[str, Any] | None:
    fields = getattr(record, ATTEMPT_LOG_FIELD, None)
    if not isinstance(fields, dict):
        return None
    error = fields.get("error")
    return {**fields, "error": cli_text(str(error)) if error else None}


def _attempt_text(fields: dict[str, Any]) -> str:
    """``wh_…  msg_…  3 events  202  12.5 ms  succeeded``: one attempt, aligned for reading."""
    count = fields["events"]
    status = fields["status"] if fields["status"] is not None else "error"
    text = (
        f"{fields['webhookId']}  {fields['requestId']}  {count:>3} event"
        f"{'s' if count != 1 else ' '}  {status:<5} {fields['latencyMs']:>7.1f} ms  "
        f"{fields['verdict']}"
    )
    return f"{text}  {fields['error']}" if fields["error"] else text


class _LineHandler(logging.Handler):
    """Prints each sender log record as a line on stdout: text, or JSON (``--log-format json``)."""

    def __init__(self, *, as_json: bool) -> None:
        super().__init__(logging.INFO)
        self._as_json = as_json
        #: How many attempts ended in each verdict (succeeded, retry, split, dead, disable).
        self.verdicts: Counter[str] = Counter()
        #: How many deliveries each attempt's verdict left delivered, failed or dead.
        self.deliveries: Counter[str] = Counter({"delivered": 0, "failed": 0, "dead": 0})
        #: Attempts that failed on an exception no layer expected (logged with no fields).
        self.unexpected = 0

    def count(self, record: logging.LogRecord, fields: dict[str, Any] | None) -> None:
        """Count the attempt a record reports, if it reports one."""
        if fields is None:
            if record.levelno >= logging.ERROR:
                # The dispatcher's only error record: an attempt that raised, retried later.
                self.unexpected += 1
            return
        verdict = str(fields["verdict"])
        self.verdicts[verdict] += 1
        if verdict in _OUTCOMES:
            self.deliveries[_OUTCOMES[verdict]] += int(fields["events"])

    @property
    def failed_attempts(self) -> int:
        """Attempts of this run that did not succeed (split requests aside)."""
        ok = self.verdicts["succeeded"] + self.verdicts["split"]
        return sum(self.verdicts.values()) - ok + self.unexpected

    def summary(self) -> str:
        """The closing line's counts: deliveries by outcome, then attempts by verdict."""
        found = self.deliveries
        text = (
            f"{found['delivered']} delivered, {found['failed']} failed (retried on schedule), "
            f"{found['dead']} dead"
        )
        if self.unexpected:
            text += f", {self.unexpected} attempts failed unexpectedly (retried on schedule)"
        tally = ", ".join(f"{n} {verdict}" for verdict, n in self.verdicts.items()) or "none"
        return f"attempts this run: {tally}; deliveries: {text}"

    def emit(self, record: logging.LogRecord) -> None:
        """Print the record (a failure to print must not stop the dispatcher)."""
        try:
            message = cli_text(record.getMessage())
            fields = _attempt_fields(record)
            self.count(record, fields)
            if self._as_json:
                line: dict[str, Any] = {
                    "time": _timestamp(record.created),
                    "level": record.levelname.lower(),
                    "message": message,
                }
                line.update(fields or {})
                click.echo(json.dumps(line, default=str))
                return
            colour = "red" if record.levelno >= logging.WARNING else None
            if fields is not None:
                message = _attempt_text(fields)
            click.echo(f"{_timestamp(record.created)}  {click.style(message, fg=colour)}")
        except Exception:  # logging's contract: report, never raise into the caller
            self.handleError(record)


@contextmanager
def _printing_sender_log(*, as_json: bool) -> Iterator[_LineHandler]:
    """Route the sender's INFO log to stdout for the duration of the run."""
    logger = logging.getLogger(_LOGGER)
    handler = _LineHandler(as_json=as_json)
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    # Our handler prints every line; the root logger would print warnings twice.
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def _say(text: str, *, as_json: bool, **fields: Any) -> None:
    """A line of the command's own (start, stop), in the same shape as the log lines."""
    now = _timestamp(datetime.now(UTC).timestamp())
    if as_json:
        click.echo(json.dumps({"time": now, "level": "info", "message": text, **fields}))
    else:
        click.echo(f"{now}  {click.style(text, bold=True)}")


async def _run(sender: Sender, *, drain: bool, as_json: bool) -> bool:
    """Dispatch until a signal (or, with ``drain``, until idle); False if forced to stop."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    main_task = asyncio.current_task()
    forced = False
    first_signal_at: float | None = None

    def on_signal(name: str) -> None:
        nonlocal forced, first_signal_at
        now = time.monotonic()
        if first_signal_at is not None and now - first_signal_at < _SIGNAL_DEBOUNCE:
            # One stop request delivered twice (timeout(1) and process-group kills do that).
            return
        if first_signal_at is None and not drain:
            first_signal_at = now
            stop.set()
            _say(
                f"{name}: finishing the requests in flight, then stopping (again to stop now)",
                as_json=as_json,
            )
            return
        forced = True
        _say(f"{name}: stopping now; requests in flight are resent later", as_json=as_json)
        if main_task is not None:
            main_task.cancel()

    signals = (signal.SIGINT, signal.SIGTERM)
    for number in signals:
        loop.add_signal_handler(number, on_signal, number.name)
    try:
        if drain:
            await sender.drain()
        else:
            await sender.run_dispatcher(stop)
    except asyncio.CancelledError:
        if not forced:
            raise
    finally:
        for number in signals:
            loop.remove_signal_handler(number)
    return not forced


@contextmanager
def _frozen_heap() -> Iterator[None]:
    """Keep what this process has loaded out of the cycle collector's passes while it runs.

    The command's process does nothing but dispatch, and what it has loaded by now
    lives as long as it does. A busy dispatcher's short-lived request objects make
    the collector run full passes about twice a second, each walking that whole
    heap; frozen, the heap is skipped. A heap frozen already is left as it is, and
    the freeze is undone when the command ends (it may run inside another program).
    """
    ours = gc.get_freeze_count() == 0
    if ours:
        gc.freeze()
    try:
        yield
    finally:
        if ours:
            gc.unfreeze()


@click.command()
@db_option
@allow_private_option
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="Requests in flight at once (one per webhook).",
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0.01),
    default=0.5,
    show_default=True,
    help="Seconds between looks for due work when nothing has woken the dispatcher "
    "(publishes wake it at once, from any process).",
)
@click.option("--drain", is_flag=True, help="Deliver what is due now, then exit (for cron jobs).")
@click.option(
    "--fail-on-failure",
    is_flag=True,
    help="Exit 1 if any attempt of the run failed (by default only a run that cannot work does).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="How lines are printed: text for reading (the default), or json for log "
    "shippers: one object a line, an attempt's with its fields (--json is the same).",
)
@json_option
@metrics_options
def dispatch(
    *,
    db: str,
    allow_private: bool,
    concurrency: int,
    poll_interval: float,
    drain: bool,
    fail_on_failure: bool,
    log_format: str | None,
    as_json: bool,
    metrics_port: int | None,
    metrics_host: str,
    metrics_per_webhook: bool,
) -> None:
    """Deliver the outbox's events until SIGINT or SIGTERM.

    Prints one line per attempt: time, webhook, request id (the webhook-id
    header), number of events, status or error, latency and what happens
    next. On the first signal it finishes the requests in flight, releases
    its leases and exits 0; the last line counts the run's deliveries:
    delivered, failed (retried on schedule) and dead. A target that fails
    does not change the exit status unless --fail-on-failure is given; a
    run that cannot work (the database unreachable) exits 1. Several
    dispatchers may share one PostgreSQL store; each webhook is worked by
    one at a time. --log-format json prints every line as a JSON object;
    --metrics-port serves Prometheus metrics.

    \b
    Examples:
      hookwire dispatch --db postgresql+psycopg://hookwire@db/hookwire
      HOOKWIRE_DATABASE_URL=sqlite:///h.db hookwire dispatch --log-format json
      hookwire dispatch --drain          # send what is due, then exit
      hookwire dispatch --drain --fail-on-failure   # exit 1 if a target failed
      hookwire dispatch --metrics-port 9464   # http://127.0.0.1:9464/metrics
    """
    if as_json and log_format == "text":
        raise click.UsageError("--json and --log-format text contradict each other; give one")
    as_json = as_json or log_format == "json"
    metrics = metrics_for(metrics_port, per_webhook=metrics_per_webhook)
    with (
        open_sender(
            db,
            allow_private=allow_private,
            concurrency=concurrency,
            poll_interval=poll_interval,
            metrics=metrics,
        ) as sender,
        ExitStack() as stack,  # the metrics server stops before the sender closes
        _printing_sender_log(as_json=as_json) as printer,
    ):
        where = sender.engine.url.render_as_string(hide_password=True)
        mode = "until idle" if drain else "until SIGINT/SIGTERM"
        _say(f"dispatching from {where} ({mode})", as_json=as_json, database=where)
        if metrics is not None and metrics_port is not None:
            url = serve_until_exit(metrics, metrics_host, metrics_port, stack)
            _say(f"serving metrics on {url}", as_json=as_json, metricsUrl=url)
        with _frozen_heap():
            finished = asyncio.run(_run(sender, drain=drain, as_json=as_json))
        # This run's attempts, not a count over the store: that could be a big table.
        _say(
            f"stopped; {printer.summary()}",
            as_json=as_json,
            attempts=dict(printer.verdicts),
            deliveries=dict(printer.deliveries),
            unexpectedFailures=printer.unexpected,
        )
    if not finished:
        raise click.exceptions.Exit(1)
    failed = printer.failed_attempts
    if fail_on_failure and failed:
        noun = "attempt" if failed == 1 else "attempts"
        raise click.ClickException(f"{failed} {noun} of this run failed (--fail-on-failure)")
