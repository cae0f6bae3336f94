"""A guard on ``shutil.rmtree`` so no test can remove the checkout it runs in.

A test that parses a path from a program's output and removes it would, should
the parse go wrong (``.``, ``/``, the home folder), remove the repository.
``conftest.py`` wraps ``shutil.rmtree`` with :func:`guarded` for the whole run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parent.parent


def deletes_the_checkout(path: Any) -> bool:
    """Whether removing ``path`` removes the repository, its history or a folder holding it."""
    try:
        target = Path(os.fsdecode(path)).resolve()
    except (TypeError, ValueError, OSError):
        return False
    return target in (REPOSITORY, *REPOSITORY.parents) or target.is_relative_to(REPOSITORY / ".git")


def guarded(rmtree: Callable[..., Any]) -> Callable[..., Any]:
    """``rmtree`` that raises instead of removing a path :func:`deletes_the_checkout` names."""

    def guarded_rmtree(path: Any, *args: Any, **kwargs: Any) -> Any:
        if deletes_the_checkout(path):
            raise RuntimeError(f"a test tried to remove {path!r}, which holds the checkout")
        return rmtree(path, *args, **kwargs)

    guarded_rmtree.avoids_symlink_attacks = getattr(rmtree, "avoids_symlink_attacks", False)  # type: ignore[attr-defined]
    return guarded_rmtree
