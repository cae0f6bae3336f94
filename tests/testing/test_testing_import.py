"""Importing hookwire.testing (and its pytest plugin) stays light."""

from __future__ import annotations

import json
import subprocess
import sys

import hookwire.testing

HEAVY = ("aiohttp", "sqlalchemy", "flask", "werkzeug", "pytest", "_pytest", "pytest_httpserver")


def imported_after(code: str) -> list[str]:
    probe = (
        f"import sys, json\n{code}\n"
        "print(json.dumps(sorted({m.partition('.')[0] for m in sys.modules}"
        " | {m for m in sys.modules if m.startswith('hookwire.')})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = json.loads(result.stdout)
    return loaded


def test_import_loads_no_sender_flask_pytest_or_httpserver() -> None:
    loaded = imported_after("import hookwire.testing")
    assert [m for m in HEAVY if m in loaded] == []
    assert "hookwire.sender" not in loaded


def test_request_helpers_load_no_heavy_package() -> None:
    loaded = imported_after(
        "from hookwire.testing import make_envelope, post_webhook, signed_request\n"
        "signed_request(make_envelope('COURSE_COMPLETED'), secret='whsec_' + 'A' * 43)"
    )
    assert [m for m in HEAVY if m in loaded] == []
    assert "hookwire.sender" not in loaded


def test_plugin_module_loads_no_hookwire_code_beyond_the_package() -> None:
    loaded = imported_after("import pytest\nimport hookwire.testing.plugin")
    assert [m for m in ("aiohttp", "sqlalchemy", "flask", "pytest_httpserver") if m in loaded] == []
    # Neither pydantic nor cryptography: the plugin costs nothing until a fixture is used.
    assert "pydantic" not in loaded
    assert "cryptography" not in loaded


def test_every_public_name_resolves() -> None:
    for name in hookwire.testing.__all__:
        assert getattr(hookwire.testing, name) is not None, name
    assert set(hookwire.testing.__all__) <= set(dir(hookwire.testing))
