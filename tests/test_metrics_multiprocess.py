"""prometheus_client's multi-process mode: the /metrics view adds up every worker's counts."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

COUNT_ONE_REQUEST = textwrap.dedent(
    """
    from hookwire.listening import ListeningCore
    from hookwire.metrics import Metrics

    core = ListeningCore(None, metrics=Metrics())
    body = b'{"accountId": 1, "events": []}'
    print(core.handle("POST", {"content-type": "application/json"}, body).status)
    """
)
SCRAPE = textwrap.dedent(
    """
    from hookwire.metrics import Metrics, metrics_view

    body, status, headers = metrics_view(Metrics())()
    print(body.decode())
    """
)


def run(code: str, multiproc_dir: Path) -> str:
    """Run ``code`` in a process of its own, in multi-process mode; its output."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_the_metrics_view_adds_up_the_counts_of_every_worker_process(tmp_path: Path) -> None:
    assert run(COUNT_ONE_REQUEST, tmp_path).strip() == "202"
    assert run(COUNT_ONE_REQUEST, tmp_path).strip() == "202"
    scraped = run(SCRAPE, tmp_path)
    assert 'hookwire_listener_requests_total{status="202"} 2.0' in scraped.splitlines()


def test_without_the_variable_the_view_serves_its_own_registry() -> None:
    code = textwrap.dedent(
        """
        from hookwire.listening import ListeningCore
        from hookwire.metrics import Metrics, metrics_view

        metrics = Metrics()
        core = ListeningCore(None, metrics=metrics)
        core.handle("POST", {"content-type": "application/json"}, b'{"accountId": 1, "events": []}')
        print(metrics_view(metrics)()[0].decode())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert 'hookwire_listener_requests_total{status="202"} 1.0' in done.stdout.splitlines()


def test_the_queue_gauges_follow_a_sender_made_after_the_view_until_it_closes(
    tmp_path: Path,
) -> None:
    code = textwrap.dedent(
        f"""
        from hookwire.metrics import Metrics, metrics_view
        from hookwire.sender import Sender

        metrics = Metrics()
        view = metrics_view(metrics)  # made before the sender, as a listener's metrics_path is
        sender = Sender("sqlite:///{tmp_path / "hookwire.db"}", metrics=metrics)
        print(view()[0].decode())
        sender.close()
        print("--- closed")
        print(view()[0].decode())
        """
    )
    (tmp_path / "multiproc").mkdir()
    while_open, _, after_close = run(code, tmp_path / "multiproc").partition("--- closed")
    assert 'hookwire_queue_depth{state="queued"} 0.0' in while_open.splitlines()
    assert "hookwire_queue_depth" not in after_close
