"""Scratch folders of ingests in the system's temporary folder, and what killed runs leave.

Each ingest builds an epoch's products in ``stadtzeit-ingest-<pid>-<epoch>-<random>`` before
handing them to the archive.  A killed ingest cannot remove its folder (up to tens of MB), so
every ingest first removes the folders whose process is gone.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from processing.errors import ProcessingError

log = logging.getLogger(__name__)

PREFIX = "stadtzeit-ingest-"
#: folders named before the process id was part of the name: removed once this old (s)
LEGACY_AGE = 6 * 3600
#: such a name went on with the epoch's date (stadtzeit-ingest-<YYYY>-<MM>-<DD>-…)
LEGACY_NAME = re.compile(r"\d{4}-\d{2}-\d{2}-")


@contextmanager
def scratch_folder(epoch: str) -> Iterator[Path]:
    """A scratch folder for one epoch, removed afterwards."""
    try:
        tmp = tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-{epoch}-")
    except OSError as exc:
        raise scratch_error(exc, epoch, Path(tempfile.gettempdir())) from None
    with tmp as path:
        yield Path(path)


def scratch_error(exc: OSError, epoch: str, work: Path) -> ProcessingError:
    """An OSError while building products, as a message that says where and what to do."""
    where = exc.filename or work
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        hint = (f"the temporary folder {tempfile.gettempdir()} is full; free space there or "
                "point TMPDIR to a folder with room (a few times the size of the sources)")
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = (f"the temporary folder {tempfile.gettempdir()} is not writable; point TMPDIR "
                "to a writable folder")
    else:
        hint = "check the disk and run again"
    return ProcessingError(f"epoch {epoch}: cannot write {where} ({exc.strerror or exc}); "
                           f"{hint}. Nothing was stored.")


def remove_stale_scratch(base: Path | None = None) -> list[Path]:
    """Remove scratch folders whose ingest process no longer runs; returns what was removed."""
    base = Path(base or tempfile.gettempdir())
    removed = []
    try:
        entries = list(base.glob(PREFIX + "*"))
    except OSError:
        return removed
    for path in entries:
        try:
            st = path.lstat()
            if not path.is_dir() or path.is_symlink() or st.st_uid != os.getuid():
                continue
            if _stale(path.name[len(PREFIX):], st.st_mtime):
                shutil.rmtree(path)
                removed.append(path)
        except OSError as exc:
            log.debug("cannot remove %s: %s", path, exc)
    if removed:
        log.info("removed %d scratch folder(s) of ingests that were stopped: %s", len(removed),
                 ", ".join(p.name for p in removed))
    return removed


def _stale(rest: str, mtime: float) -> bool:
    pid = rest.split("-", 1)[0]
    # a four-digit process id is no year: "3744-2024-05-02-…" is a current name
    if not pid.isdigit() or LEGACY_NAME.match(rest):
        return time.time() - mtime > LEGACY_AGE
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False
