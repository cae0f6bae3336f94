"""``hookwire init``: the listener template copied from package data, name filled in,
its own secret in a private signature file, hookwire pinned to the installed version."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Mapping
from importlib import metadata
from importlib.resources import files
from pathlib import Path

import pytest
from click.testing import CliRunner

from hookwire import read_signature_file
from hookwire_cli import init as init_module
from hookwire_cli.init import EXTRAS, MARKER, TEMPLATE_PACKAGE, VERSION_MARKER
from hookwire_cli.main import main

EXPECTED = {
    ".gitignore",
    "README.md",
    "app.py",
    "gunicorn.conf.py",
    "handlers.py",
    "pytest.ini",
    "requirements.txt",
    "ruff.toml",
    "signature.json",
    "store.py",
    "tests/test_app.py",
}


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["init", *args])
    return result.exit_code, result.output


def listing(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_template_is_importable_package_data() -> None:
    assert files(TEMPLATE_PACKAGE).joinpath("app.py").is_file()


def test_init_copies_the_template_files(tmp_path: Path) -> None:
    code, _ = run(str(tmp_path / "listener"))
    assert code == 0
    assert listing(tmp_path / "listener") == EXPECTED


def test_init_fills_in_the_project_name(tmp_path: Path) -> None:
    run(str(tmp_path / "listener"), "--name", "acme-hooks")
    target = tmp_path / "listener"
    assert (target / "README.md").read_text().startswith("# acme-hooks\n")
    assert 'PROJECT = "acme-hooks"' in (target / "app.py").read_text()
    assert not any(
        marker in (target / name).read_text()
        for name in EXPECTED
        for marker in (MARKER, VERSION_MARKER)
    )


def test_project_name_defaults_to_the_folder_name(tmp_path: Path) -> None:
    run(str(tmp_path / "my-listener"))
    assert (tmp_path / "my-listener" / "README.md").read_text().startswith("# my-listener\n")


def test_init_into_an_existing_empty_folder_works(tmp_path: Path) -> None:
    assert run(str(tmp_path))[0] == 0


def test_init_prints_next_steps(tmp_path: Path) -> None:
    _, output = run(str(tmp_path / "listener"))
    assert "pip install -r requirements.txt" in output
    assert "flask --app app run" in output


def readme_terminals(project: Path) -> tuple[list[str], list[str]]:
    """The command lines of the two ```sh blocks of the scaffold README's walkthrough."""
    text = (project / "README.md").read_text()
    section = text.split("\n## Try it: two terminals\n", 1)[1].split("\n## ", 1)[0]
    first, second = re.findall(r"^```sh\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)
    return first.splitlines(), second.splitlines()


def printed_terminals(output: str) -> tuple[list[str], list[str]]:
    """The command lines init printed for the first and the second terminal."""
    first = output.split("Next steps:\n", 1)[1].split("\n\n", 1)[0]
    second = output.split("Then, in another terminal:\n", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in first.splitlines()], [
        line.strip() for line in second.splitlines()
    ]


def test_init_prints_the_readme_walkthrough_for_two_terminals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = init_as_if_installed(tmp_path, monkeypatch, None)
    first, second = readme_terminals(tmp_path / "listener")
    cd = f"cd {tmp_path / 'listener'}"
    assert printed_terminals(output) == ([cd, *first], [cd, *second])


def test_non_empty_folder_is_refused_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    code, output = run(str(tmp_path))
    assert code == 1
    assert output.strip().splitlines() == [
        f"Error: {tmp_path} is not an empty folder; choose a new one so nothing is overwritten"
    ]
    assert listing(tmp_path) == {"keep.txt"}


def test_file_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("")
    assert run(str(tmp_path / "taken"))[0] != 0


@pytest.mark.parametrize("name", ["bad name", "../escape", "-dash"])
def test_unusable_project_name_is_refused(tmp_path: Path, name: str) -> None:
    code, output = run(str(tmp_path / "listener"), "--name", name)
    assert code == 1
    assert "not a usable project name" in output
    assert not (tmp_path / "listener").exists()


def fake_distribution(
    tmp_path: Path, version: str, direct_url: Mapping[str, object] | None
) -> metadata.PathDistribution:
    """An installed-looking hookwire distribution with ``direct_url.json`` (PEP 610) or none."""
    info = tmp_path / f"hookwire-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: hookwire\nVersion: {version}\n")
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))
    return metadata.PathDistribution(info)


def init_as_if_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, direct_url: Mapping[str, object] | None
) -> str:
    """Run ``hookwire init`` with hookwire 9.8.7 installed as ``direct_url`` says; its output."""
    distribution = fake_distribution(tmp_path, "9.8.7", direct_url)
    monkeypatch.setattr(init_module, "hookwire_distribution", lambda: distribution)
    code, output = run(str(tmp_path / "listener"))
    assert code == 0, output
    return output


def step_lines(output: str) -> list[str]:
    """The indented command lines of init's output."""
    return [line.strip() for line in output.splitlines() if line.startswith("  ")]


def test_init_writes_a_fresh_secret_only_its_owner_can_read(tmp_path: Path) -> None:
    run(str(tmp_path / "one"))
    run(str(tmp_path / "two"))
    path = tmp_path / "one" / "signature.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = read_signature_file(path).secret
    assert first is not None
    assert first.startswith("whsec_")
    assert first != read_signature_file(tmp_path / "two" / "signature.json").secret


def test_the_signature_file_is_git_ignored(tmp_path: Path) -> None:
    run(str(tmp_path / "listener"))
    ignored = (tmp_path / "listener" / ".gitignore").read_text().splitlines()
    assert "signature.json" in ignored


def test_init_prints_where_the_secret_is_and_the_trigger_that_reads_it(tmp_path: Path) -> None:
    _, output = run(str(tmp_path / "listener"))
    assert f"The webhook secret is in {tmp_path / 'listener' / 'signature.json'}" in output
    assert (
        "hookwire trigger COURSE_ENROLLMENT --to http://127.0.0.1:8000/webhooks"
        " --signature-file signature.json"
    ) in step_lines(output)
    assert "export" not in output


def test_requirements_pin_the_installed_hookwire(tmp_path: Path) -> None:
    run(str(tmp_path / "listener"))
    lines = (tmp_path / "listener" / "requirements.txt").read_text().splitlines()
    assert f"hookwire[{EXTRAS}]=={metadata.version('hookwire')}" in lines


def test_an_index_install_needs_no_extra_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = init_as_if_installed(tmp_path, monkeypatch, None)
    steps = step_lines(output)
    assert [step for step in steps if step.startswith("pip install")] == [
        "pip install -r requirements.txt && pytest"
    ]
    requirements = (tmp_path / "listener" / "requirements.txt").read_text().splitlines()
    assert f"hookwire[{EXTRAS}]==9.8.7" in requirements


def test_an_editable_checkout_install_prints_the_command_that_installs_it_from_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = {"url": "file:///home/me/my%20hookwire", "dir_info": {"editable": True}}
    first, _ = printed_terminals(init_as_if_installed(tmp_path, monkeypatch, checkout))
    command = f"pip install -e '/home/me/my hookwire[{EXTRAS}]'"
    # Right after the virtual environment is activated, as the scaffold's README says.
    assert first[1:3] == ["python -m venv .venv && . .venv/bin/activate", command]


def test_a_wheel_install_prints_the_command_that_installs_that_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = {"url": "file:///dist/hookwire-9.8.7-py3-none-any.whl", "archive_info": {}}
    steps = step_lines(init_as_if_installed(tmp_path, monkeypatch, wheel))
    assert f"pip install '/dist/hookwire-9.8.7-py3-none-any.whl[{EXTRAS}]'" in steps


def test_a_git_install_prints_a_direct_reference_to_its_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vcs = {
        "url": "https://example.com/hookwire.git",
        "vcs_info": {"vcs": "git", "commit_id": "abc123"},
    }
    steps = step_lines(init_as_if_installed(tmp_path, monkeypatch, vcs))
    expected = f"pip install 'hookwire[{EXTRAS}] @ git+https://example.com/hookwire.git@abc123'"
    assert expected in steps


def scaffold_settings(project: Path) -> subprocess.CompletedProcess[str]:
    """Import the scaffold's app in a fresh interpreter and build its app from an empty env."""
    code = (
        "import app\n"
        "print(app.settings_from_env({}).get('HOOKWIRE_SIGNATURE_FILE'))\n"
        "app.create_app()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKWIRE_", "LISTENER_"))}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_scaffold_app_verifies_with_its_signature_file_by_default(tmp_path: Path) -> None:
    run(str(tmp_path / "listener"))
    result = scaffold_settings(tmp_path / "listener")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str((tmp_path / "listener" / "signature.json").resolve())


def test_the_scaffold_app_without_its_signature_file_refuses_to_start(tmp_path: Path) -> None:
    run(str(tmp_path / "listener"))
    (tmp_path / "listener" / "signature.json").unlink()
    result = scaffold_settings(tmp_path / "listener")
    assert result.returncode != 0
    assert "HOOKWIRE_SECRET" in result.stderr
