"""Without prometheus_client: hookwire works, and asking for metrics names the extra."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap

import pytest

import hookwire
from hookwire.extras import MissingExtraError, install_hint


def test_importing_hookwire_metrics_without_prometheus_client_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    for name in [name for name in sys.modules if name.startswith("hookwire.metrics")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delattr(hookwire, "metrics", raising=False)
    with pytest.raises(MissingExtraError) as raised:
        importlib.import_module("hookwire.metrics")
    assert str(raised.value) == install_hint("hookwire.metrics", "metrics")
    assert str(raised.value) == (
        "hookwire.metrics needs the 'metrics' extra: pip install 'hookwire[metrics]'"
    )


def test_the_sender_and_listener_work_without_prometheus_client() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["prometheus_client"] = None
        import hookwire, hookwire.flask, hookwire.listening
        from hookwire.sender import Sender
        core = hookwire.listening.ListeningCore(None)
        answer = core.handle("POST", {"content-type": "application/json"}, b'{"events": []}')
        with Sender("sqlite://") as sender:
            sender.webhooks.list()
        print(answer.status, sys.modules.get("prometheus_client", "absent"))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["400", "None"]
