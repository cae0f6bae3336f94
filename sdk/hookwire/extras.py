"""Optional parts of hookwire and the pip extras that install them.

``pip install hookwire`` installs the verification core only. The sender
(``sender``), the Flask integration (``flask``), the command line (``cli``),
PostgreSQL (``postgres``) and Redis (``redis``) each come with an extra. A part
imported without its extra fails with an ImportError that names the extra::

    with requires_extra("sender", __name__, "aiohttp", "sqlalchemy"):
        from .sender import Sender

    # ModuleNotFoundError (MissingExtraError): hookwire.sender needs the 'sender'
    # extra: pip install 'hookwire[sender]'
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["MissingExtraError", "install_hint", "is_missing", "requires_extra"]


class MissingExtraError(ModuleNotFoundError):
    """A part of hookwire was imported without the packages its extra installs.

    It is a :class:`ModuleNotFoundError` (so ``except ImportError`` still
    catches it) whose ``name`` is the missing module and whose message says
    which extra to install.
    """


def install_hint(part: str, extra: str) -> str:
    """One line: ``<part> needs the '<extra>' extra: pip install 'hookwire[<extra>]'``."""
    return f"{part} needs the '{extra}' extra: pip install 'hookwire[{extra}]'"


def is_missing(exc: BaseException, modules: tuple[str, ...]) -> bool:
    """Whether ``exc`` reports that one of ``modules`` (or a submodule of one) is absent."""
    if not isinstance(exc, ModuleNotFoundError) or exc.name is None:
        return False
    return exc.name.partition(".")[0] in modules


@contextmanager
def requires_extra(extra: str, part: str, *modules: str) -> Iterator[None]:
    """Turn a failed import of one of ``modules`` in the block into :class:`MissingExtraError`.

    ``part`` names what needs the extra (``hookwire.sender``, ``hookwire demo``).
    Any other import error passes through unchanged, so a real bug is not
    reported as a missing extra.
    """
    try:
        yield
    except ModuleNotFoundError as exc:
        if not is_missing(exc, modules):
            raise
        raise MissingExtraError(install_hint(part, extra), name=exc.name) from exc
