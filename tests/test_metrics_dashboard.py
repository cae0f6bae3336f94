"""The Grafana dashboard and docs/operations.md name only metrics hookwire exports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hookwire.metrics import Metrics
from hookwire.sender import Sender

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "docs" / "grafana-dashboard.json"
OPERATIONS = ROOT / "docs" / "operations.md"
METRIC = re.compile(r"\bhookwire_[a-z_]+")
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
}


@pytest.fixture(scope="module")
def families(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Every metric family hookwire defines (sender and listener), by name: its type."""
    metrics = Metrics()
    metrics.for_listener()
    with Sender(f"sqlite:///{tmp_path_factory.mktemp('db') / 'h.db'}", metrics=metrics):
        yield {family.name: family.type for family in metrics.registry.collect()}


@pytest.fixture(scope="module")
def series(families: dict[str, str]) -> set[str]:
    """Every sample name those families can expose."""
    return {name + suffix for name, kind in families.items() for suffix in SUFFIXES[kind]}


def queries(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def section(title: str) -> str:
    text = OPERATIONS.read_text(encoding="utf-8")
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_every_dashboard_query_names_only_exported_series(series: set[str]) -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    named = {name for expr in queries(dashboard) for name in METRIC.findall(expr)}
    assert named
    assert named <= series, sorted(named - series)


def test_the_dashboard_shows_every_metric_family(families: dict[str, str]) -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    text = " ".join(queries(dashboard))
    assert [name for name in families if name not in text] == []


def test_the_dashboard_is_a_grafana_dashboard_over_a_prometheus_source() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] == "hookwire"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["title"]
        assert panel["targets"], panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert [t["refId"] for t in panel["targets"]] == [
            chr(65 + n) for n in range(len(panel["targets"]))
        ]


def test_the_metrics_and_alerts_sections_name_only_exported_metrics(
    series: set[str], families: dict[str, str]
) -> None:
    text = section("Metrics") + section("Alerts worth having")
    # A histogram is named by its family as well; a name ending in _ is a prefix.
    named = {name for name in METRIC.findall(text) if not name.endswith("_")}
    assert named <= series | set(families), sorted(named - series - set(families))


def test_the_metrics_table_lists_every_family(families: dict[str, str]) -> None:
    table = section("Metrics").split("### What is exported", 1)[1]
    rows = re.findall(r"^\| `(hookwire_[a-z_]+)` \| (\w+) \|", table, flags=re.MULTILINE)
    documented = dict(rows)
    exported = {
        name + ("_total" if kind == "counter" else ""): kind for name, kind in families.items()
    }
    assert documented == exported
