"""Write docs/events.md, the event reference, from ``hookwire.CATALOGUE``.

Run from the checkout's root after changing the catalogue, an event's data model
or the sample generators::

    python docs/make_events_reference.py > docs/events.md

tests/test_events_reference.py fails while docs/events.md differs from what this
prints. Only the light core is imported: the catalogue, the event models and
:mod:`hookwire.samples`. Samples use a fixed seed per event name and a fixed
time, so the output is the same on every run.
"""

from __future__ import annotations

import inspect
import json
import random
import re
import sys
import types
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

import hookwire
from hookwire.events import EventSpec
from hookwire.samples import sample_envelope

COMMAND = "python docs/make_events_reference.py > docs/events.md"
"""The command that regenerates docs/events.md, run from the checkout's root."""

SAMPLE_ACCOUNT_ID = 1010
SAMPLE_TIME = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
"""The fixed ``timestamp`` of every sample event (sample dates fall before it)."""

_SCALARS: dict[type, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    datetime: "ISO 8601 time",
}


def sample_seed(name: str) -> str:
    """The seed of the sample of event ``name``: fixed, and different for each name."""
    return f"hookwire-docs:{name}"


def sample(name: str) -> dict[str, Any]:
    """The sample envelope shown for event ``name``: one event, fixed ids and times."""
    return sample_envelope(
        [name], SAMPLE_ACCOUNT_ID, random.Random(sample_seed(name)), timestamp=SAMPLE_TIME
    )


def _markdown(text: str) -> str:
    """Docstring reST (``code``, :class:`Name`) as Markdown, on one line."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", text)
    return " ".join(text.replace("``", "`").split())


def _first_line(obj: object) -> str:
    """The first paragraph of a docstring, as one line of Markdown."""
    doc = inspect.getdoc(obj) or ""
    return _markdown(doc.split("\n\n", 1)[0])


def when_it_fires(spec: EventSpec) -> str:
    """The catalogue's description of ``spec`` or, lacking one, its data model's docstring."""
    description = getattr(spec, "description", None)
    if description:
        return _markdown(str(description))
    return _first_line(spec.data_model)


def slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _unwrap(annotation: Any) -> Any:
    """The annotation without ``Annotated`` and without ``None`` in a union."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            rest = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(rest) != 1:
                return annotation
            annotation = rest[0]
        else:
            return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def type_text(annotation: Any) -> str:
    """A readable wire type: string, integer, ISO 8601 time, list of ..., object."""
    annotation = _unwrap(annotation)
    if _is_model(annotation) or annotation is dict or get_origin(annotation) is dict:
        return "object"
    if annotation is Any:
        return "any JSON value"
    if get_origin(annotation) is list:
        (item,) = get_args(annotation) or (Any,)
        item_text = type_text(item)
        return "list of objects" if item_text == "object" else f"list of {item_text}"
    if isinstance(annotation, type):
        for scalar, text in _SCALARS.items():
            if issubclass(annotation, scalar) and not (scalar is int and annotation is bool):
                return text
    if get_origin(annotation) in (Union, types.UnionType):
        return " or ".join(type_text(arg) for arg in get_args(annotation))
    return str(annotation)


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model whose fields a field holds, directly or as list items."""
    annotation = _unwrap(annotation)
    if get_origin(annotation) is list:
        args = get_args(annotation)
        annotation = _unwrap(args[0]) if args else None
        return annotation if _is_model(annotation) else None
    return annotation if _is_model(annotation) else None


def field_rows(
    model: type[BaseModel], wire_prefix: str = "", python_prefix: str = "", *, nested: bool = True
) -> Iterator[tuple[str, str, str, bool, str]]:
    """(wire name, Python name, type, required, description) of every field.

    With ``nested``, a nested object's fields follow it as ``parent.child``, and the
    fields of a list's objects as ``parent[].child``.
    """
    for name, field in model.model_fields.items():
        wire = f"{wire_prefix}{field.alias or name}"
        python = f"{python_prefix}{name}"
        description = " ".join((field.description or "").split())
        yield wire, python, type_text(field.annotation), field.is_required(), description
        inner = _nested_model(field.annotation) if nested else None
        if inner is not None:
            marker = "[]" if get_origin(_unwrap(field.annotation)) is list else ""
            yield from field_rows(inner, f"{wire}{marker}.", f"{python}{marker}.")


def field_table(model: type[BaseModel], *, nested: bool = True) -> list[str]:
    """The Markdown table of ``model``'s fields (a description column only if one has text)."""
    rows = list(field_rows(model, nested=nested))
    described = any(row[4] for row in rows)
    header = "| wire name | Python attribute | type | required |"
    rule = "|---|---|---|---|"
    if described:
        header += " description |"
        rule += "---|"
    lines = [header, rule]
    for wire, python, kind, required, description in rows:
        line = f"| `{wire}` | `{python}` | {kind} | {'required' if required else 'optional'} |"
        if described:
            line += f" {description} |"
        lines.append(line)
    return lines


def _kind(spec: EventSpec) -> str:
    return "real-time" if spec.realtime else "batch"


def _heading(name: str) -> str:
    return f"`{name}`"


def _intro(specs: list[EventSpec]) -> list[str]:
    realtime = sum(spec.realtime for spec in specs)
    example = hookwire.CATALOGUE.get("COURSE_COMPLETED") or specs[0]
    example_data = example.data_model.__name__
    other_batch = ", ".join(
        f"`{spec.name}`" for spec in specs if not spec.realtime and not spec.name.endswith("_BATCH")
    )
    return [
        "# Event reference",
        "",
        f"<!-- Generated by `{COMMAND}` from hookwire.CATALOGUE: edit the catalogue, "
        "the event models or that script, not this file. -->",
        "",
        f"Every event of `hookwire.CATALOGUE`: {len(specs)} names, {realtime} real-time and "
        f"{len(specs) - realtime} batch, in the catalogue's order. For each: when it fires, the "
        "fields of its `data`, and a sample envelope.",
        "",
        "## Envelopes, events and `data`",
        "",
        "A webhook request's JSON body is an *envelope*: the `accountId` it concerns and a list "
        "of `events`, to be handled in order. Every event has the fields below; its `eventName` "
        "decides which fields its `data` has, listed for each name in this reference. Headers, "
        "signatures, timestamps and errors are in [wire-format.md](wire-format.md).",
        "",
        *field_table(example.event_type, nested=False),
        "",
        "- **real-time** events are sent as they happen; **batch** events (the `*_BATCH` names "
        f"and {other_batch}) are sent in batches at set times, and may arrive out of order "
        "with real-time ones.",
        "- *ISO 8601 time* is a string such as `2026-01-15T09:30:00.000Z`; epoch seconds and "
        "epoch milliseconds are accepted too, and Python gives an aware UTC `datetime`.",
        "- *optional* fields may be absent; fields not listed here are kept, not "
        "dropped, and an event name not listed here parses as `GenericEvent` with `data` as "
        "a dict.",
        "",
        "In Python, attributes are the snake_case of the wire names: the *Python attribute* "
        "column gives them, of the event above and of its `data` in the tables below. "
        "`hookwire.CATALOGUE` maps each event name to its `EventSpec`:",
        "",
        "```python",
        "import hookwire",
        "",
        f'spec = hookwire.CATALOGUE["{example.name}"]',
        f"spec.realtime  # {example.realtime}",
        f"spec.event_type  # {example.event_type.__name__}",
        f"spec.data_model  # {example_data}",
        "```",
        "",
        "`Receiver.verify` (and `@listener.on` handlers) give the typed events:",
        "",
        "<!-- doctest: skip (fragment: receiver, body and headers are your listener's) -->",
        "```python",
        "envelope = receiver.verify(body, headers)",
        "for event in envelope.events:",
        f"    if isinstance(event.data, hookwire.{example_data}):",
        "        print(event.event_name, event.data.user_id, event.data.lo_id)",
        "```",
        "",
        "## Contents",
        "",
    ]


def _contents(specs: list[EventSpec]) -> list[str]:
    lines: list[str] = []
    for title, realtime in (("Real-time events", True), ("Batch events", False)):
        lines += [f"[{title}](#{slug(title)}):", ""]
        lines += ["| event | data | Python event |", "|---|---|---|"]
        for spec in specs:
            if spec.realtime is realtime:
                lines.append(
                    f"| [`{spec.name}`](#{slug(_heading(spec.name))}) "
                    f"| `{spec.data_model.__name__}` | `{spec.event_type.__name__}` |"
                )
        lines.append("")
    return lines


def _event_section(spec: EventSpec) -> list[str]:
    envelope = json.dumps(sample(spec.name), indent=2, ensure_ascii=False)
    return [
        f"### {_heading(spec.name)}",
        "",
        f"**{_kind(spec).capitalize()}.** {when_it_fires(spec)}",
        "",
        f"Python: `hookwire.{spec.event_type.__name__}`, its `data` a "
        f"`hookwire.{spec.data_model.__name__}`.",
        "",
        *field_table(spec.data_model),
        "",
        "Sample envelope:",
        "",
        "```json",
        envelope,
        "```",
        "",
    ]


def render() -> str:
    """The whole text of docs/events.md."""
    specs = list(hookwire.CATALOGUE.values())
    lines = _intro(specs) + _contents(specs)
    for title, realtime in (("Real-time events", True), ("Batch events", False)):
        lines += [f"## {title}", ""]
        for spec in specs:
            if spec.realtime is realtime:
                lines += _event_section(spec)
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> None:
    """Print the reference on standard output."""
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
