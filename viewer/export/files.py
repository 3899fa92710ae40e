"""Writing export files so that a failure leaves nothing half-written behind.

Every file is written to a hidden temporary name in the target folder and renamed into place
only when complete (a rename within one folder is atomic); folders likewise.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from viewer.export.source import ExportError


def check_out(path: Path, suffixes: tuple[str, ...] = ()) -> Path:
    """`path` as an absolute output path whose folder exists and is writable."""
    path = Path(path).expanduser().absolute()
    if suffixes and path.suffix.lower() not in suffixes:
        raise ExportError(f"--out {path}: the file name must end in "
                          f"{' or '.join(suffixes)}")
    parent = path.parent
    if not parent.is_dir():
        raise ExportError(f"--out {path}: the folder {parent} does not exist; create it "
                          f"first or choose another place")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"--out {path}: the folder {parent} is not writable; choose a "
                          f"folder you may write to")
    if path.is_dir() and suffixes:
        raise ExportError(f"--out {path}: a folder of that name exists; give a file name")
    return path


@contextlib.contextmanager
def atomic_file(dest: Path) -> Iterator[Path]:
    """A temporary path beside `dest`; renamed to `dest` when the block succeeds, else
    removed."""
    dest = Path(dest)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=f".partial{dest.suffix}",
                                   dir=dest.parent)
    except OSError as exc:
        raise _cannot_write(dest, exc) from exc
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, dest)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        raise _cannot_write(dest, exc) from exc
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _cannot_write(dest: Path, exc: OSError) -> ExportError:
    return ExportError(f"cannot write {dest}: {exc.strerror or exc}; nothing was written there. "
                       f"Choose a folder you may write to with enough free space")


@contextlib.contextmanager
def atomic_dir(dest: Path) -> Iterator[Path]:
    """A temporary folder beside `dest`; it becomes `dest` when the block succeeds, else it
    is removed. An existing `dest` must be an empty folder: exports never delete files."""
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ExportError(f"--out {dest}: already exists and is not an empty folder; choose a "
                          f"new name (exports never overwrite a folder's contents)")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial",
                                    dir=dest.parent))
    except OSError as exc:
        raise _cannot_write(dest, exc) from exc
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        if dest.is_dir():
            dest.rmdir()          # empty (checked above); fails loudly if filled meanwhile
        os.replace(tmp, dest)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _cannot_write(dest, exc) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
