"""One way to write a length of time for every option: durations and ages alike."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import click
import pytest
from click.testing import Result

from hookwire_cli._common import TIME
from hookwire_cli._store import DURATION

Hw = Callable[..., Result]


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1.5d", timedelta(hours=36)),
        ("1w", timedelta(weeks=1)),
    ],
)
def test_a_duration_and_an_age_read_the_same_forms(text: str, length: timedelta) -> None:
    assert DURATION.convert(text, None, None) == length
    before = datetime.now(UTC)
    age = TIME.convert(text, None, None)
    assert before - length - timedelta(seconds=5) <= age <= datetime.now(UTC) - length


@pytest.mark.parametrize("kind", [DURATION, TIME])
def test_a_duration_past_a_thousand_years_is_a_one_line_usage_error(
    kind: click.ParamType,
) -> None:
    with pytest.raises(click.BadParameter, match="longer than a thousand years"):
        kind.convert("99999999999w", None, None)


def test_rotate_secret_takes_a_grace_in_weeks(hw: Hw) -> None:
    created = json.loads(
        hw(
            "webhooks", "add", "sync", "--url", "https://93.184.215.14/hooks",
            "-e", "COURSE_COMPLETED", "--json",
        ).stdout
    )  # fmt: skip
    result = hw("webhooks", "rotate-secret", created["id"], "--grace", "1w", "--json")
    assert result.exit_code == 0, result.output
    signature = json.loads(hw("webhooks", "signature-file", created["id"]).stdout)
    assert len(signature["secrets"]) == 2
