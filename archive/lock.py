"""One writer per site: ``fcntl.flock`` on ``<archive>/locks/<site>.lock``.

The kernel drops a flock when its holder dies (even by SIGKILL), so a killed writer never leaves
a site locked. The lock file holds the holder's pid for the error message and is removed on
release, so a finished or failed write leaves the archive byte-for-byte as it was. Removing a
lock file invites a race (a waiter may lock the unlinked inode); ``acquire`` therefore checks
after locking that the path still names the inode it locked, and retries otherwise.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

from .errors import ArchiveError, ArchiveLocked, ArchiveReadOnly

try:
    import fcntl
except ImportError:  # Windows: the archive can still be read there, not written
    fcntl = None  # type: ignore[assignment]

_READ_ONLY = (errno.EACCES, errno.EPERM, errno.EROFS)


class SiteLock:
    def __init__(self, locks_dir: Path, site: str, timeout: float):
        self.locks_dir = locks_dir
        self.path = locks_dir / f"{site}.lock"
        self.site = site
        self.timeout = timeout
        self._fd: int | None = None

    def acquire(self) -> SiteLock:
        if fcntl is None:
            raise ArchiveError("writing to the archive needs a POSIX system (fcntl.flock); "
                               "write from Linux or macOS — reading works everywhere")
        deadline = time.monotonic() + max(self.timeout, 0.0)
        delay = 0.01
        while True:
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if time.monotonic() >= deadline:
                    raise ArchiveLocked(self.site, self._holder(), self.timeout) from None
                time.sleep(min(delay, max(deadline - time.monotonic(), 0.0)))
                delay = min(delay * 2, 0.2)
                continue
            if self._still_linked(fd):
                break
            os.close(fd)  # the holder removed the file while we waited: lock the new one
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # the pid is only for messages
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.unlink(self.path)  # while still holding it, see the module docstring
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> SiteLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _open(self) -> int:
        try:
            self.locks_dir.mkdir(exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if exc.errno in _READ_ONLY:
                raise ArchiveReadOnly(self.locks_dir, exc.strerror or str(exc)) from exc
            raise

    def _still_linked(self, fd: int) -> bool:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False
        own = os.fstat(fd)
        return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)

    def _holder(self) -> int | None:
        try:
            return int(self.path.read_text().strip())
        except (OSError, ValueError):
            return None
