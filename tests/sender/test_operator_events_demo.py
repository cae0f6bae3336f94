"""hookwire demo shows the operator events its refused first request causes."""

from __future__ import annotations

import json

from click.testing import CliRunner

from hookwire.sender import WEBHOOK_FAILING, WEBHOOK_RECOVERED
from hookwire_cli.main import main


def test_demo_reports_the_webhook_failing_then_recovered() -> None:
    result = CliRunner().invoke(main, ["demo", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["operatorEvents"] == [WEBHOOK_FAILING, WEBHOOK_RECOVERED]
    assert summary["ok"] is True


def test_demo_prints_each_operator_event_as_it_happens() -> None:
    result = CliRunner().invoke(main, ["demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if "operator  HOOKWIRE_" in line]
    assert [line.split()[2] for line in lines] == [WEBHOOK_FAILING, WEBHOOK_RECOVERED]
    assert lines[0].endswith("after 503")
    assert lines[1].endswith("after 202")
