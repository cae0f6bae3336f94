"""docs/testing.md: every example is a test module, and each passes when pytest runs it.

The blocks marked ``<!-- doctest: pytest -->`` are run here, each as its own test
file in a fresh pytest process; the generic docs test leaves them to this one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
MARKER = "<!-- doctest: pytest -->"
BLOCK = re.compile(r"(?P<marker><!-- doctest: [^>]*-->\n)?```python\n(?P<code>.*?)```", re.S)


def blocks() -> list[tuple[str | None, str]]:
    return [
        ((m.group("marker") or "").strip() or None, m.group("code"))
        for m in BLOCK.finditer(DOC.read_text(encoding="utf-8"))
    ]


def test_every_python_example_is_a_pytest_module() -> None:
    assert blocks(), "docs/testing.md has no python examples"
    assert [marker for marker, _ in blocks()] == [MARKER] * len(blocks())


def test_every_example_passes_under_pytest(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
        "addopts = -p no:cacheprovider --strict-markers\nfilterwarnings = error\n"
    )
    names = []
    for number, (_, code) in enumerate(blocks(), start=1):
        name = f"test_testing_doc_{number}"
        pytester.makepyfile(**{name: code})
        names.append(name)
    result = pytester.runpytest_subprocess("-rA")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0, result.stdout.str()
    assert outcomes.get("errors", 0) == 0, result.stdout.str()
    for name in names:
        # Each example has tests, and they ran.
        result.stdout.fnmatch_lines([f"PASSED {name}.py::*"])
