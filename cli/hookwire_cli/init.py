"""``hookwire init DIR``: copy the listener template into a new project folder.

The new project gets its own webhook secret in ``signature.json`` (mode 0600,
git-ignored), which both its app and ``hookwire trigger --signature-file`` read,
and a ``requirements.txt`` that pins the installed hookwire's version. When that
hookwire came from a path (a checkout or a wheel file; PEP 610's
``direct_url.json`` says so), the printed next steps start with the one command
that installs it from there, since the package index may not have that version.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import click

from hookwire import generate_secret
from hookwire.signature_file import SCHEME_HMAC, SignatureFile

TEMPLATE_PACKAGE = "hookwire_cli.listener_template"
MARKER = "{{project_name}}"
VERSION_MARKER = "{{hookwire_version}}"
# The extras the scaffold's requirements.txt names: the app, Redis de-duplication and the
# `hookwire` command for `hookwire trigger`.
EXTRAS = "cli,flask,redis"
SIGNATURE_FILE = "signature.json"
# Anything a test run of the template left behind stays out of the copy.
LEFTOVERS = frozenset({"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"})
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")


@dataclass(frozen=True)
class Installed:
    """Where the running hookwire came from: its version and, unless from an index, its source."""

    version: str
    source: str | None = None
    """A local path, or a PEP 508 URL reference; ``None`` when installed from a package index."""
    editable: bool = False

    def install_command(self) -> str | None:
        """The pip command that installs this hookwire with the scaffold's extras, if needed.

        ``None`` for a hookwire from a package index: ``requirements.txt`` pins it.
        """
        if self.source is None:
            return None
        if "://" in self.source:
            return f"pip install {shlex.quote(f'hookwire[{EXTRAS}] @ {self.source}')}"
        flag = "-e " if self.editable else ""
        return f"pip install {flag}{shlex.quote(f'{self.source}[{EXTRAS}]')}"


def hookwire_distribution() -> metadata.Distribution:
    """The installed hookwire distribution's metadata.

    Run from a checkout, the checkout's own ``hookwire.egg-info`` may come first on
    ``sys.path``; the installed one, which has ``direct_url.json``, is preferred.
    """
    found = list(metadata.distributions(name="hookwire"))
    with_url = [dist for dist in found if dist.read_text("direct_url.json")]
    return (with_url or found or [metadata.distribution("hookwire")])[0]


def installed_hookwire(distribution: metadata.Distribution) -> Installed:
    """Read ``distribution``'s version and its PEP 610 ``direct_url.json``, if any."""
    version = distribution.version
    text = distribution.read_text("direct_url.json")
    if not text:
        return Installed(version)
    try:
        direct = json.loads(text)
        url = str(direct["url"])
    except (ValueError, KeyError, TypeError):
        return Installed(version)
    dir_info = direct.get("dir_info")
    editable = isinstance(dir_info, dict) and dir_info.get("editable") is True
    vcs = direct.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs"):
        commit = vcs.get("commit_id")
        return Installed(version, f"{vcs['vcs']}+{url}" + (f"@{commit}" if commit else ""))
    parts = urlsplit(url)
    if parts.scheme == "file":
        return Installed(version, unquote(parts.path), editable=editable)
    return Installed(version, url)


def _copy(
    source: Traversable, target: Path, replacements: dict[str, str], *, top: bool
) -> list[Path]:
    """Copy one template folder, filling in the ``{{...}}`` markers in its files."""
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
            written.extend(_copy(item, destination, replacements, top=False))
        else:
            data = item.read_bytes()
            for marker, value in replacements.items():
                data = data.replace(marker.encode(), value.encode())
            destination.write_bytes(data)
            written.append(destination)
    return written


def write_signature_file(path: Path, *, now: datetime) -> None:
    """A fresh ``whsec_`` secret as a signature file at ``path``, readable by its owner only."""
    SignatureFile("", SCHEME_HMAC, (generate_secret(),), now).write(path)


def _next_steps(directory: Path, installed: Installed) -> list[str]:
    """What to type next, in one terminal and then in another."""
    folder = shlex.quote(str(directory))
    command = installed.install_command()
    lines = [
        f"The webhook secret is in {directory / SIGNATURE_FILE} (mode 0600, git-ignored):",
        "the app and `hookwire trigger --signature-file` both read it.",
        "",
        "Next steps:",
        f"  cd {folder}",
        "  python -m venv .venv && . .venv/bin/activate",
    ]
    if command is not None:
        # requirements.txt pins this version, which the package index may not have.
        lines.append(f"  {command}")
    # The same lines as the two terminals of the template's README.
    lines += [
        "  pip install -r requirements.txt && pytest",
        "  flask --app app run --port 8000",
        "",
        "Then, in another terminal:",
        f"  cd {folder}",
        "  . .venv/bin/activate",
        "  hookwire trigger COURSE_ENROLLMENT --to http://127.0.0.1:8000/webhooks"
        f" --signature-file {SIGNATURE_FILE}",
    ]
    if command is not None:
        lines += ["", f"This hookwire {installed.version} was installed from {installed.source}."]
    return lines


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="The project's name (default: the folder's name).")
def init(directory: Path, name: str | None) -> None:
    """Create a ready Flask webhook listener project in DIRECTORY.

    DIRECTORY must be new or empty. The project verifies signatures, de-duplicates
    by eventId, applies the documented listener rules and has its own tests. Its
    webhook secret is in DIRECTORY/signature.json (mode 0600, git-ignored), which the
    app reads by default and `hookwire trigger --signature-file` can read too.

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
    installed = installed_hookwire(hookwire_distribution())
    replacements = {MARKER: project, VERSION_MARKER: installed.version}
    _copy(files(TEMPLATE_PACKAGE), directory, replacements, top=True)
    write_signature_file(directory / SIGNATURE_FILE, now=datetime.now(UTC).replace(microsecond=0))
    click.echo(f"Created the listener project {project!r} in {directory}")
    for line in _next_steps(directory, installed):
        click.echo(line)
