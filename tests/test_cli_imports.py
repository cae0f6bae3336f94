"""The command line uses hookwire's public API only: no private module or name.

Every module under cli/hookwire_cli is parsed (function-level and ``TYPE_CHECKING``
imports included) and each import from hookwire is checked: the module must be
public, and each name must be in that module's ``__all__`` (or be a public
submodule), so the CLI uses nothing a user could not.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from pathlib import Path

import pytest

import hookwire

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / "cli" / "hookwire_cli"

#: The public modules of the API's description, whether or not docs/ names them yet.
DECLARED_PUBLIC = frozenset(
    {
        "hookwire",
        "hookwire.dedupe",
        "hookwire.errors",
        "hookwire.events",
        "hookwire.files",
        "hookwire.flask",
        "hookwire.hints",
        "hookwire.outgoing",
        "hookwire.recording",
        "hookwire.samples",
        "hookwire.sender",
        "hookwire.signature_file",
        "hookwire.signing",
    }
)


def _module_of(dotted: str) -> str | None:
    """The longest prefix of ``dotted`` (``hookwire.sender.Sender``) that is a module."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        try:
            if importlib.util.find_spec(candidate) is not None:
                return candidate
        except ModuleNotFoundError:  # a prefix is a module, not a package
            continue
    return None


def documented_modules() -> frozenset[str]:
    """The hookwire modules docs/*.md and ``hookwire``'s docstring name (no ``_`` part)."""
    text = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "docs").glob("*.md"))
    text += hookwire.__doc__ or ""
    named = re.findall(r"\bhookwire(?:\.[A-Za-z]\w*)+", text)
    return frozenset(module for module in map(_module_of, named) if module is not None)


#: The public modules: the declared ones and every one the documentation names.
PUBLIC_MODULES = DECLARED_PUBLIC | documented_modules()


def _is_hookwire(module: str) -> bool:
    return module == "hookwire" or module.startswith("hookwire.")


def _exported(module: str, name: str) -> bool:
    """Whether ``from module import name`` takes a public name of a public module."""
    if f"{module}.{name}" in PUBLIC_MODULES:
        return True
    return name in getattr(importlib.import_module(module), "__all__", ())


def private_imports(source: str, filename: str = "<source>") -> list[str]:
    """Each import of a private hookwire module or name in ``source``, as ``line: import``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _is_hookwire(alias.name) and alias.name not in PUBLIC_MODULES:
                    found.append(f"{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not _is_hookwire(node.module):
                continue
            if node.module not in PUBLIC_MODULES:
                found.append(f"{node.lineno}: from {node.module} import ...")
                continue
            found.extend(
                f"{node.lineno}: from {node.module} import {alias.name}"
                for alias in node.names
                if not _exported(node.module, alias.name)
            )
    return found


CLI_MODULES = sorted(CLI.rglob("*.py"))


def test_the_cli_has_modules_to_check() -> None:
    assert CLI / "events.py" in CLI_MODULES
    assert CLI / "_common.py" in CLI_MODULES


def test_documented_modules_are_found_and_private_ones_are_not() -> None:
    documented = documented_modules()
    assert {"hookwire.sender", "hookwire.files", "hookwire.recording"} <= documented
    assert not any(part.startswith("_") for m in documented for part in m.split("."))


@pytest.mark.parametrize("path", CLI_MODULES, ids=[str(p.relative_to(CLI)) for p in CLI_MODULES])
def test_cli_module_imports_only_public_hookwire_names(path: Path) -> None:
    found = private_imports(path.read_text(encoding="utf-8"), str(path))
    assert found == [], (
        f"{path.relative_to(ROOT)} imports private hookwire names {found}: make each public "
        "(in its module's __all__, documented in docs/) and import it from there"
    )


@pytest.mark.parametrize(
    "line",
    [
        "from hookwire._version import USER_AGENT",
        "from hookwire.sender.dispatcher import ATTEMPT_LOG_FIELD",
        "from hookwire.sender.models import DELIVERY_STATUSES",
        "import hookwire._files",
        "from hookwire.recording import _line_error",
        "from hookwire.sender import Store",
        "def f():\n    from hookwire.signing import _hmac_state",
        "if TYPE_CHECKING:\n    from hookwire.sender.store import Store",
    ],
)
def test_an_import_of_a_private_module_or_name_is_found(line: str) -> None:
    assert len(private_imports(line)) == 1


@pytest.mark.parametrize(
    "line",
    [
        "from hookwire import USER_AGENT, __version__, Signer",
        "from hookwire.sender import ATTEMPT_LOG_FIELD, DELIVERY_STATUSES, Published",
        "from hookwire.files import open_private",
        "from hookwire import sender",
        "import hookwire.sender",
        "from ._common import echo_json",
        "from hookwire_cli._common import echo_json",
    ],
)
def test_an_import_of_public_names_passes(line: str) -> None:
    assert private_imports(line) == []
