"""A light install: the core loads nothing optional, a missing extra is named, the CLI starts fast.

Missing packages are simulated in a subprocess by a meta-path finder that refuses
to import them, as an install without the extra would.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable

import click
import pytest

import hookwire_cli
from hookwire.extras import MissingExtraError, requires_extra
from hookwire_cli.main import COMMANDS, main

#: What only the extras install: none of it may load with `import hookwire`.
OPTIONAL = ("flask", "werkzeug", "aiohttp", "sqlalchemy", "click", "rich", "redis", "psycopg")

_REFUSE = """\
import sys
class _Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, _Refuse())
"""

_RUN_CLI = """\
sys.argv = ["hookwire", *{args!r}]
from hookwire_cli import run
run()
"""


def python(code: str, *, blocked: Iterable[str] = ()) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter where the ``blocked`` packages cannot be imported."""
    program = _REFUSE.format(blocked=sorted(blocked)) + code
    return subprocess.run(
        [sys.executable, "-c", program], check=False, capture_output=True, text=True, timeout=60
    )


def hookwire(*args: str, blocked: Iterable[str] = ()) -> subprocess.CompletedProcess[str]:
    """Run ``hookwire ARGS...`` through its entry point with the ``blocked`` packages missing."""
    return python(_RUN_CLI.format(args=list(args)), blocked=blocked)


# --- import hookwire stays light ---------------------------------------------------------


def test_import_hookwire_loads_no_optional_package() -> None:
    code = f"""\
import json, hookwire
from hookwire import Receiver, sign_headers
secret, body = hookwire.generate_secret(), b'{{"accountId": 1, "events": []}}'
Receiver(secret=secret).verify(body, sign_headers(secret, body))
print(json.dumps(sorted({{m.partition(".")[0] for m in sys.modules}} & {set(OPTIONAL)!r})))
"""
    result = python(code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_core_works_with_every_optional_package_missing() -> None:
    code = "from hookwire import Receiver, generate_secret\nReceiver(secret=generate_secret())\n"
    result = python(code, blocked=OPTIONAL)
    assert result.returncode == 0, result.stderr


# --- a missing extra is named ------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "blocked", "extra"),
    [
        ("hookwire.sender", "aiohttp", "sender"),
        ("hookwire.sender", "sqlalchemy", "sender"),
        ("hookwire.flask", "flask", "flask"),
        ("hookwire.flask", "werkzeug", "flask"),
    ],
)
def test_importing_a_part_without_its_extra_names_the_extra(
    module: str, blocked: str, extra: str
) -> None:
    code = (
        f"try:\n    import {module}\n"
        "except ImportError as exc:\n    print(type(exc).__name__, exc.name, exc, sep='|')\n"
    )
    result = python(code, blocked=[blocked])
    hint = f"{module} needs the '{extra}' extra: pip install 'hookwire[{extra}]'"
    assert result.stdout == f"MissingExtraError|{blocked}|{hint}\n", result.stderr


def test_postgres_url_without_psycopg_names_the_postgres_extra() -> None:
    code = (
        "from hookwire import ConfigurationError\nfrom hookwire.sender import Sender\n"
        "try:\n    Sender('postgresql+psycopg://x@127.0.0.1/db')\n"
        "except ConfigurationError as exc:\n    print(exc)\n"
    )
    result = python(code, blocked=["psycopg"])
    hint = (
        "a postgresql+psycopg:// URL needs the 'postgres' extra: pip install 'hookwire[postgres]'"
    )
    assert result.stdout == hint + "\n", result.stderr


def test_cli_without_click_prints_one_line_naming_the_cli_extra() -> None:
    result = hookwire("--help", blocked=["click"])
    assert result.returncode == 1
    assert result.stdout == ""
    hint = "the hookwire command needs the 'cli' extra: pip install 'hookwire[cli]'"
    assert result.stderr == f"Error: {hint}\n"


@pytest.mark.parametrize(
    ("command", "blocked"),
    [("demo", "rich"), ("dispatch", "sqlalchemy"), ("listen", "aiohttp"), ("webhooks", "yarl")],
)
def test_cli_command_without_its_packages_prints_one_line_naming_the_cli_extra(
    command: str, blocked: str
) -> None:
    result = hookwire(command, "--help", blocked=[blocked])
    assert result.returncode == 1
    hint = f"hookwire {command} needs the 'cli' extra: pip install 'hookwire[cli]'"
    assert result.stderr == f"Error: {hint}\n"


def test_requires_extra_lets_other_import_errors_through() -> None:
    def import_a_module_of_no_extra() -> None:
        with requires_extra("sender", "hookwire.sender", "aiohttp"):
            importlib.import_module("hookwire_no_such_module")

    with pytest.raises(ModuleNotFoundError) as caught:
        import_a_module_of_no_extra()
    assert not isinstance(caught.value, MissingExtraError)


# --- the CLI starts without its commands --------------------------------------------------


def test_help_and_version_import_no_command_module_and_no_heavy_package() -> None:
    heavy = {"pydantic", "cryptography", "aiohttp", "sqlalchemy", "rich", "flask", "yarl"}
    modules = {f"hookwire_cli.{lazy.module}" for lazy in COMMANDS.values()}
    for args in (["--help"], ["--version"]):
        code = (
            "import atexit, json\n"
            "atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))\n"
            + _RUN_CLI.format(args=args)
        )
        result = python(code)
        assert result.returncode == 0, result.stderr
        loaded = set(json.loads(result.stderr))
        assert not {name.partition(".")[0] for name in loaded} & heavy, args
        assert not loaded & modules, args


def _median_seconds(commands: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Each command's median wall time over ``runs`` rounds, the commands interleaved."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            start = time.perf_counter()
            subprocess.run(argv, capture_output=True, check=True, timeout=60)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


@pytest.mark.slow
def test_help_and_version_start_within_four_bare_interpreter_starts() -> None:
    # Importing click alone costs about one bare interpreter start: 4x leaves room for a
    # loaded machine and still fails once the commands' modules (pydantic, aiohttp,
    # SQLAlchemy, rich) load up front.
    cli = [sys.executable, "-m", "hookwire_cli"]
    medians = _median_seconds(
        {
            "bare": [sys.executable, "-c", "pass"],
            "help": [*cli, "--help"],
            "version": [*cli, "--version"],
        },
        runs=5,
    )
    ratios = {name: medians[name] / medians["bare"] for name in ("help", "version")}
    assert max(ratios.values()) <= 4, f"start-up vs python -c pass: {ratios}"


# --- --help lists every command as before -----------------------------------------------


def _real_command(name: str) -> click.Command:
    command: click.Command = getattr(importlib.import_module(f"hookwire_cli.{name}"), name)
    return command


def test_every_command_module_is_in_the_table() -> None:
    modules = {
        info.name
        for info in pkgutil.iter_modules(hookwire_cli.__path__)
        if not info.ispkg and not info.name.startswith("_") and info.name != "main"
    }
    assert {lazy.module for lazy in COMMANDS.values()} == modules


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_table_short_help_matches_the_command(name: str) -> None:
    lazy = COMMANDS[name]
    command = _real_command(lazy.module)
    assert command.name == name
    assert command.get_short_help_str(limit=1000) == lazy.short_help
    assert (command.short_help is None) == lazy.from_docstring


def _commands_section(group: click.Group, width: int) -> str:
    ctx = click.Context(group, info_name="hookwire", terminal_width=width, max_content_width=width)
    formatter = ctx.make_formatter()
    group.format_commands(ctx, formatter)
    return formatter.getvalue()


@pytest.mark.parametrize("width", [50, 60, 80])
def test_help_lists_commands_as_the_commands_themselves_would(width: int) -> None:
    eager = click.Group("hookwire", commands=[_real_command(name) for name in COMMANDS])
    assert _commands_section(main, width) == _commands_section(eager, width)


def test_help_lists_every_command_with_its_short_help() -> None:
    result = hookwire("--help")
    assert result.returncode == 0, result.stderr
    rows = result.stdout.split("Commands:\n", 1)[1].splitlines()
    listed = dict(row.strip().split(maxsplit=1) for row in rows)
    assert listed == {name: lazy.short_help for name, lazy in COMMANDS.items()}
