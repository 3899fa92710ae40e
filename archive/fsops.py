"""File system primitives of the commit protocol: atomic exchange, fsync, link-copies."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2

# Set by tests (in a child process) to stop a writer at a named stage and kill it there.
STAGE_HOOK: Callable[[str], None] | None = None


def stage(name: str) -> None:
    if STAGE_HOOK is not None:
        STAGE_HOOK(name)


def _load_renameat2() -> Callable[..., int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):  # not Linux/glibc >= 2.28
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_renameat2 = _load_renameat2()
# Tests switch this off to exercise the two-rename fallback on a machine that has renameat2.
EXCHANGE_ENABLED = True


def _rename2(src: Path, dst: Path, flags: int) -> bool:
    """renameat2; False when the kernel, libc or file system does not offer ``flags``."""
    if _renameat2 is None or not EXCHANGE_ENABLED:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(src), None, str(dst))


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directory trees; False if the exchange is not supported here."""
    return _rename2(a, b, _RENAME_EXCHANGE)


def swap_in(staged: Path, live: Path, aside: Path) -> None:
    """Make ``staged`` the object at ``live`` (which exists): one atomic exchange where the
    system offers it, else two renames. A kill between those leaves no object at ``live``;
    the next open() or writer puts ``aside`` back (``Archive._recover_site``)."""
    if exchange(staged, live):
        return
    os.rename(live, aside)
    stage("moved-aside")
    try:
        os.rename(staged, live)
    except OSError:
        os.rename(aside, live)
        raise


def rename_noreplace(src: Path, dst: Path) -> None:
    """Rename that never replaces ``dst`` (a plain rename would replace an empty directory)."""
    if _rename2(src, dst, _RENAME_NOREPLACE):
        return
    if os.path.lexists(dst):  # fallback: callers hold the site lock, so no one races us
        raise FileExistsError(errno.EEXIST, "already exists", str(dst))
    os.rename(src, dst)


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path, files: bool = True) -> None:
    """fsync every directory under ``root`` (and every file, if ``files``), children first."""
    for dirpath, _dirs, names in os.walk(root, topdown=False):
        if files:
            for name in names:
                fsync_path(Path(dirpath, name))
        fsync_path(Path(dirpath))


def link_copy_object(src: Path, dst: Path) -> None:
    """Copy an OCFL object for building its next version, sharing the immutable content.

    Files in version directories (content and version inventories) are never rewritten, so
    they become hard links. Files at the object root (inventory, sidecar, declaration) and any
    other root folder are real copies: ocfl-py rewrites the root inventory in place, and a
    write through a hard link would change the live object.
    """
    os.mkdir(dst)
    for entry in os.scandir(src):
        target = dst / entry.name
        if entry.is_dir(follow_symlinks=False) and _is_version_dir(entry.name):
            for dirpath, dirs, names in os.walk(entry.path):
                rel = Path(dirpath).relative_to(src)
                os.makedirs(dst / rel, exist_ok=True)
                for name in names:
                    os.link(Path(dirpath, name), dst / rel / name, follow_symlinks=False)
                dirs.sort()
        elif entry.is_dir(follow_symlinks=False):
            shutil.copytree(entry.path, target, symlinks=True)
        else:
            shutil.copy2(entry.path, target, follow_symlinks=False)


def _is_version_dir(name: str) -> bool:
    return name[:1] == "v" and name[1:].isdigit()


def rmtree(path: Path) -> None:
    if os.path.lexists(path):
        shutil.rmtree(path)
