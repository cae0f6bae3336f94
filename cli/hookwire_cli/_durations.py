"""Lengths of time as every option writes them: ``90s``, ``15m``, ``2h``, ``3d``, ``1w``.

One parser serves both kinds of option: a duration (``--grace 1w``) and an age
that counts back from now (``--since 1w``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

__all__ = ["DURATION_FORMS", "parse_duration"]

#: The forms a duration is written in, for error messages.
DURATION_FORMS: Final = "90s, 15m, 2h, 3d or 1w"

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Python's timedelta holds at most 999,999,999 days; anything near it is a typo.
_MAX: Final = timedelta(days=365 * 1000)


def parse_duration(text: str) -> timedelta | None:
    """``text`` as a duration, or ``None`` when it is not written as one.

    Raises :class:`ValueError` for a duration longer than a thousand years.
    """
    found = _DURATION.match(text.strip())
    if found is None:
        return None
    seconds = float(found.group(1)) * _UNITS[found.group(2)]
    if seconds > _MAX.total_seconds():
        raise ValueError(f"{text.strip()!r} is longer than a thousand years")
    return timedelta(seconds=seconds)
