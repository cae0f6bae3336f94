"""docs/events.md is what docs/make_events_reference.py makes of the catalogue now.

Its sample envelopes parse, unverified, into the typed event of their section's name.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import hookwire

DOCS = Path(__file__).resolve().parent.parent / "docs"
REFERENCE = DOCS / "events.md"
GENERATOR = DOCS / "make_events_reference.py"
COMMAND = "python docs/make_events_reference.py > docs/events.md"

# The public parse of a body without verification, under whichever name it has now.
_PARSE_NAMES = ("parse_unverified", "parse_envelope")


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_events_reference", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _parse_unverified() -> Callable[[str], Any]:
    for name in _PARSE_NAMES:
        if name in hookwire.__all__:
            parse: Callable[[str], Any] = getattr(hookwire, name)
            return parse
    pytest.fail(f"hookwire exports none of {_PARSE_NAMES}: which parses a body unverified now?")


def _samples() -> list[tuple[str, str]]:
    """(event name of the section, JSON text) of every sample envelope in the reference."""
    if not REFERENCE.exists():
        return []  # test_reference_matches_the_catalogue says how to make it
    text = REFERENCE.read_text(encoding="utf-8")
    found = []
    for section in re.split(r"^### ", text, flags=re.MULTILINE)[1:]:
        name = section.split("\n", 1)[0].strip().strip("`")
        blocks = re.findall(r"^```json\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)
        assert len(blocks) == 1, f"section {name} of {REFERENCE.name} has {len(blocks)} samples"
        found.append((name, blocks[0]))
    return found


def test_reference_matches_the_catalogue() -> None:
    assert REFERENCE.exists(), f"docs/events.md is missing; run `{COMMAND}`"
    expected = _generator().render()
    actual = REFERENCE.read_text(encoding="utf-8")
    assert actual == expected, (
        f"docs/events.md is out of date with hookwire.CATALOGUE; regenerate it with `{COMMAND}`"
    )


def test_generator_is_deterministic() -> None:
    generator = _generator()
    assert generator.render() == generator.render()


def test_every_catalogue_name_has_one_sample_in_order() -> None:
    assert [name for name, _ in _samples()] == list(hookwire.CATALOGUE)


@pytest.mark.parametrize(
    ("name", "body"), [pytest.param(name, body, id=name) for name, body in _samples()]
)
def test_sample_envelope_parses_into_its_typed_event(name: str, body: str) -> None:
    envelope = _parse_unverified()(body)
    assert isinstance(envelope, hookwire.Envelope)
    (event,) = envelope.events
    assert event.event_name == name
    assert type(event) is hookwire.CATALOGUE[name].event_type
    assert isinstance(event.data, hookwire.CATALOGUE[name].data_model)
    assert envelope.account_id == json.loads(body)["accountId"]


def test_contents_links_reach_headings() -> None:
    generator = _generator()
    text = REFERENCE.read_text(encoding="utf-8")
    anchors = {generator.slug(line.lstrip("#")) for line in text.splitlines() if line[:1] == "#"}
    links = re.findall(r"\]\(#([^)]+)\)", text)
    assert links
    assert set(links) <= anchors
