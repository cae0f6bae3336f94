"""Linux's inotify, through the C library: a file descriptor that becomes readable
when a file is written, for an asyncio loop to wait on."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

__all__ = ["FileWrites"]

_IN_MODIFY = 0x00000002
_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = os.O_CLOEXEC


class FileWrites:
    """Notices writes to one file, by any process on this machine (Linux only).

    The descriptor (:meth:`fileno`) becomes readable after the file is written;
    :meth:`drain` reads the queued notices, so it waits for the next write.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def open(cls, path: str) -> FileWrites | None:
        """Watch ``path`` for writes; ``None`` where inotify is not available (not
        Linux, no C library, no more watches allowed) or the file is missing."""
        if not sys.platform.startswith("linux"):
            return None
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
            fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        except (OSError, AttributeError):
            return None
        if fd < 0:
            return None
        if libc.inotify_add_watch(fd, os.fsencode(path), _IN_MODIFY) < 0:
            os.close(fd)
            return None
        return cls(fd)

    def fileno(self) -> int:
        """The descriptor to wait on (readable once the file was written)."""
        return self._fd

    def drain(self) -> None:
        """Read every queued notice."""
        try:
            while os.read(self._fd, 4096):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        """Stop watching."""
        os.close(self._fd)
