"""The test run refuses to remove the checkout, whatever path a test computed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from checkout_guard import REPOSITORY, deletes_the_checkout, guarded


@pytest.mark.parametrize(
    "path",
    [REPOSITORY, REPOSITORY / "tests" / "..", REPOSITORY.parent, Path("/"), REPOSITORY / ".git"],
    ids=["checkout", "checkout-via-dotdot", "parent", "root", "history"],
)
def test_paths_holding_the_checkout_are_refused(path: Path) -> None:
    assert deletes_the_checkout(path)
    assert deletes_the_checkout(str(path))


def test_the_current_folder_is_refused_when_it_is_the_checkout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(REPOSITORY)
    assert deletes_the_checkout(".")


def test_folders_beside_or_inside_the_work_tree_are_allowed(tmp_path: Path) -> None:
    assert not deletes_the_checkout(tmp_path)
    assert not deletes_the_checkout(REPOSITORY / "build")


def test_the_guard_never_calls_rmtree_for_the_checkout_and_passes_others_on(
    tmp_path: Path,
) -> None:
    removed: list[Any] = []
    guard = guarded(lambda path, *args, **kwargs: removed.append(path))
    with pytest.raises(RuntimeError, match="holds the checkout"):
        guard(REPOSITORY)
    guard(tmp_path)
    assert removed == [tmp_path]


def test_the_run_uses_the_guarded_rmtree(tmp_path: Path) -> None:
    assert shutil.rmtree.__name__ == "guarded_rmtree"
    scratch = tmp_path / "scratch"
    (scratch / "inner").mkdir(parents=True)
    shutil.rmtree(scratch)
    assert not scratch.exists()
