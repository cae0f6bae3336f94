"""``hookwire init DIR``: copy the listener template into a new project folder."""

from __future__ import annotations

import re
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import click

TEMPLATE_PACKAGE = "hookwire_cli.listener_template"
MARKER = "{{project_name}}"
# Anything a test run of the template left behind stays out of the copy.
LEFTOVERS = frozenset({"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"})
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")


def _copy(source: Traversable, target: Path, name: str, *, top: bool) -> list[Path]:
    """Copy one template folder, filling in the project name in text files."""
    written: list[Path] = []
    target.mkdir(parents=True, exist_ok=True)
    for item in sorted(source.iterdir(), key=lambda entry: entry.name):
        # The top __init__.py only makes the template importable package data.
        if (
            item.name in LEFTOVERS
            or item.name.endswith(".pyc")
            or (top and item.name == "__init__.py")
        ):
            continue
        destination = target / item.name
        if item.is_dir():
            written.extend(_copy(item, destination, name, top=False))
        else:
            data = item.read_bytes()
            destination.write_bytes(data.replace(MARKER.encode(), name.encode()))
            written.append(destination)
    return written


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="The project's name (default: the folder's name).")
def init(directory: Path, name: str | None) -> None:
    """Create a ready Flask webhook listener project in DIRECTORY.

    DIRECTORY must be new or empty. The project verifies signatures, de-duplicates
    by eventId, applies the documented listener rules and has its own tests.

    \b
    Example:
      hookwire init my-listener
      cd my-listener && pip install -r requirements.txt && pytest
    """
    project = name if name is not None else directory.resolve().name
    if not NAME.match(project):
        raise click.ClickException(
            f"{project!r} is not a usable project name: use letters, digits, '.', '_' and '-'"
        )
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise click.ClickException(
            f"{directory} is not an empty folder; choose a new one so nothing is overwritten"
        )
    _copy(files(TEMPLATE_PACKAGE), directory, project, top=True)
    click.echo(f"Created the listener project {project!r} in {directory}")
    click.echo("")
    click.echo("Next steps:")
    click.echo(f"  cd {directory}")
    click.echo("  python -m venv .venv && . .venv/bin/activate")
    click.echo("  pip install -r requirements.txt")
    click.echo("  pytest")
    click.echo("  export HOOKWIRE_SECRET=$(hookwire secret new)")
    click.echo("  flask --app app run --port 8000")
    click.echo("  hookwire trigger COURSE_ENROLLMENT --to http://127.0.0.1:8000/webhooks")
