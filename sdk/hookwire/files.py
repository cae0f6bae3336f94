"""Files that hold secrets or recorded payloads: readable and writable by their owner only.

hookwire writes its recordings and signature files through :func:`open_private`,
and so does the ``hookwire`` command; code of your own that writes a secret or a
payload can use it too::

    import os
    from hookwire.files import open_private

    fd = open_private("secret.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
"""

from __future__ import annotations

import os
import stat

__all__ = ["PRIVATE_MODE", "open_private"]

PRIVATE_MODE = 0o600
"""The mode of every file :func:`open_private` creates: owner read and write, nobody else."""


def open_private(path: str | os.PathLike[str], flags: int) -> int:
    """``os.open`` a file that holds secrets or payloads, made owner-only before any write.

    A file ``flags`` create (``O_CREAT``) is created with mode 0600 (less under a
    stricter umask). ``os.open``'s mode applies only at creation, so an existing
    regular file that its group or others can access is narrowed to 0600 with
    ``fchmod`` on the open descriptor. Devices and pipes (``/dev/stdout``) are left as
    they are. Returns the descriptor, which the caller closes; raises :class:`OSError`
    as ``os.open`` and ``os.fchmod`` do, closing the descriptor first.
    """
    fd = os.open(path, flags, PRIVATE_MODE)
    try:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) & 0o077:
            os.fchmod(fd, PRIVATE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd
