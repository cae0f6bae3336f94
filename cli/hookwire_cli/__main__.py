"""``python -m hookwire_cli``: the ``hookwire`` command without its console script."""

from __future__ import annotations

from .main import main

main(prog_name="hookwire")
