"""The ``hookwire`` command line (a click application); :func:`run` is its entry point.

The command group itself is :data:`hookwire_cli.main.main`. :func:`run` imports
it and runs it; without the ``cli`` extra (no click) it prints one line saying
what to install, not a traceback.
"""

from __future__ import annotations

import sys

from hookwire.extras import MissingExtraError

__all__ = ["run"]


def run() -> None:
    """Run the ``hookwire`` command (the console script and ``python -m hookwire_cli``)."""
    try:
        from .main import main
    except MissingExtraError as exc:
        sys.exit(f"Error: {exc}")
    main(prog_name="hookwire")
