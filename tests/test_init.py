"""``hookwire init``: the listener template copied from package data, name filled in."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
from click.testing import CliRunner

from hookwire_cli.init import MARKER, TEMPLATE_PACKAGE
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
    assert not any(MARKER in (target / name).read_text() for name in EXPECTED)


def test_project_name_defaults_to_the_folder_name(tmp_path: Path) -> None:
    run(str(tmp_path / "my-listener"))
    assert (tmp_path / "my-listener" / "README.md").read_text().startswith("# my-listener\n")


def test_init_into_an_existing_empty_folder_works(tmp_path: Path) -> None:
    assert run(str(tmp_path))[0] == 0


def test_init_prints_next_steps(tmp_path: Path) -> None:
    _, output = run(str(tmp_path / "listener"))
    assert "pip install -r requirements.txt" in output
    assert "flask --app app run" in output


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
