"""``python -m hookwire_cli``: the ``hookwire`` command without its console script."""

from __future__ import annotations

from . import run

run()
