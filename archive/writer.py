"""Writing a new version of a site: staging, the atomic commit, and nothing else.

Protocol (see docs/ARCHIVE.md): under the site lock, new files are staged in
``staging/<site>/<txn>/src`` (hashed while copied). On commit the live object is link-copied to
``<txn>/object`` (content shared by hard links, root inventory copied), ocfl-py adds the new
version there, the result is checked and fsynced, and ``renameat2(RENAME_EXCHANGE)`` swaps it
with the live object in one step. The object path therefore always holds a complete, valid
object: the old one until the swap, the new one after it.
"""

from __future__ import annotations

import errno
import getpass
import hashlib
import json
import logging
import os
import secrets
import stat
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from . import _ocfl as ocfl
from . import fsops
from .errors import (
    ArchiveError,
    ArchiveReadOnly,
    ArchiveWriteError,
    CorruptObject,
    FileNotInVersion,
    InvalidPath,
    SourceNotFound,
)
from .lock import SiteLock
from .objects import DECLARATION, INVENTORY, SIDECAR, load_inventory, version_state
from .paths import check_logical_path, check_site_id
from .restricted import FILE_MODE, STAGING_MODE, close_tree, group_id, is_restricted

if TYPE_CHECKING:
    from .store import Archive

log = logging.getLogger(__name__)

CHUNK = 1 << 20
_READ_ONLY = (errno.EACCES, errno.EPERM, errno.EROFS)


@dataclass
class _Entry:
    digest: str
    staged: bool  # True: new content in <txn>/src; False: carried over from the head


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def write_error(exc: OSError, what: str, archive_root: Path) -> ArchiveError:
    """Turn an OSError during a write into an error that says what to do."""
    if exc.errno in _READ_ONLY:
        return ArchiveReadOnly(exc.filename or archive_root, exc.strerror or str(exc))
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = f"the disk holding {archive_root} is full; free some space and run again"
    elif exc.errno == errno.EFBIG:
        hint = "a file is larger than this file system or a process limit allows"
    elif exc.errno == errno.EXDEV:
        hint = "ocfl/ and staging/ must be on the same file system (no separate mounts)"
    else:
        hint = "check the disk and run again"
    return ArchiveWriteError(f"could not {what}: {exc.strerror or exc}; {hint} "
                             "(the archive is unchanged)")


def check_writable(archive: Archive) -> None:
    """Raise ArchiveReadOnly now if a version could not be written (staging/ and locks/ must
    take new files), so callers refuse before long work rather than at the commit."""
    for folder in (archive.staging_dir, archive.locks_dir):
        try:
            folder.mkdir(exist_ok=True)
            with tempfile.TemporaryFile(dir=folder, prefix=".probe-"):
                pass
        except OSError as exc:
            raise write_error(exc, f"write in {folder}", archive.root) from None


class Writer:
    """Builds one new version of a site; use it through ``Archive.writer`` as a context manager.

    After the block: ``version`` is the committed version number, or None when the content
    equals the head (``unchanged`` is True) — then nothing was written.
    """

    def __init__(self, archive: Archive, site: str, *, message: str, user: str | None = None,
                 address: str | None = None, lock_timeout: float | None = None,
                 created: str | None = None):
        self.archive = archive
        self.site = check_site_id(site)
        if not isinstance(message, str) or not message.strip():
            raise ArchiveError("a new version needs a message saying what changed "
                               "(writer(site, message=...))")
        self.message = message
        self.user = user or _default_user()
        self.address = address
        self.created = created  # only when rewriting history (archive/erase.py): keep its dates
        self.lock_timeout = archive.lock_timeout if lock_timeout is None else lock_timeout
        self.restricted = is_restricted(self.site)
        self.base: int | None = None  # head version this writer started from; None: new site
        self.version: int | None = None
        self.unchanged = False
        self._lock: SiteLock | None = None
        self._txn: Path | None = None
        self._head_state: dict[str, str] = {}
        self._state: dict[str, _Entry] = {}
        self._dirs: Counter[str] = Counter()  # folder prefixes of the state, to refuse clashes
        self._open = False

    # -- context -------------------------------------------------------------------------

    def __enter__(self) -> Writer:
        self._lock = SiteLock(self.archive.locks_dir, self.site, self.lock_timeout).acquire()
        try:
            self._start()
        except OSError as exc:
            self._lock.release()
            raise write_error(exc, f"start writing {self.site}", self.archive.root) from exc
        except BaseException:
            self._lock.release()
            raise
        self._open = True
        return self

    def _start(self) -> None:
        self.archive._recover_site(self.site)
        obj = self.archive.object_path(self.site)
        if os.path.lexists(obj):
            try:
                inventory = load_inventory(obj)
                self._head_state = version_state(inventory, inventory["head"])
                self.base = int(inventory["head"][1:])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise CorruptObject(self.site, f"cannot read {obj / INVENTORY}: {exc}") from exc
        for logical, digest in self._head_state.items():
            self._add_entry(logical, _Entry(digest, staged=False))
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{secrets.token_hex(4)}"
        self._txn = self.archive.staging_dir / self.site / name
        (self._txn / "src").mkdir(parents=True)
        if self.restricted:  # staged originals are as closed as the object they go into
            os.chmod(self._txn.parent, STAGING_MODE)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> bool:
        try:
            if exc_type is None:
                self._commit()
        finally:
            self._open = False
            try:
                self._discard()
            finally:
                assert self._lock is not None
                self._lock.release()
        return False

    # -- building the new state ----------------------------------------------------------

    def add_file(self, logical: str, src: str | os.PathLike[str]) -> str:
        """Add (or replace) ``logical`` with a copy of the file ``src``; returns its sha512."""
        self._check_open()
        logical = check_logical_path(logical)
        src = Path(src)
        try:
            st = os.stat(src)
        except FileNotFoundError:
            raise SourceNotFound(src, "no such file") from None
        except OSError as exc:
            raise SourceNotFound(src, exc.strerror or str(exc)) from exc
        if not stat.S_ISREG(st.st_mode):
            kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise SourceNotFound(src, f"it is {kind}; add files one by one")
        try:
            fh = open(src, "rb")  # noqa: SIM115 - closed by _stage
        except OSError as exc:
            raise SourceNotFound(src, exc.strerror or str(exc)) from exc
        with fh:
            return self._stage(logical, fh, None)

    def add_bytes(self, logical: str, data: bytes | bytearray | memoryview) -> str:
        """Add (or replace) ``logical`` with ``data``; returns its sha512."""
        self._check_open()
        logical = check_logical_path(logical)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ArchiveError(f"add_bytes({logical!r}) needs bytes, not {type(data).__name__}; "
                               "use add_json for objects or encode text first")
        return self._stage(logical, None, bytes(data))

    def add_json(self, logical: str, obj: Any) -> str:
        """Add ``obj`` as UTF-8 JSON (2-space indent, key order kept, no NaN)."""
        self._check_open()
        logical = check_logical_path(logical)
        try:
            text = json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ArchiveError(f"cannot store {logical!r} as JSON: {exc}; convert numpy values "
                               "and NaN/inf to plain numbers or null first") from exc
        return self._stage(logical, None, (text + "\n").encode("utf-8"))

    def remove(self, logical: str) -> None:
        """Remove one file from the new version (it stays in older versions)."""
        self._check_open()
        logical = check_logical_path(logical)
        if logical not in self._state:
            import difflib
            close = difflib.get_close_matches(logical, list(self._state), n=3)
            raise FileNotInVersion(self._ref(), logical, close)
        self._drop(logical)

    def remove_tree(self, prefix: str) -> int:
        """Remove every file under the folder ``prefix``; returns how many were removed."""
        self._check_open()
        prefix = check_logical_path(prefix.rstrip("/") if isinstance(prefix, str) else prefix)
        doomed = [lp for lp in self._state if lp == prefix or lp.startswith(prefix + "/")]
        for logical in doomed:
            self._drop(logical)
        return len(doomed)

    def exists(self, logical: str) -> bool:
        return logical in self._state

    def paths(self) -> list[str]:
        """Logical paths of the version being built, sorted."""
        return sorted(self._state)

    # -- internals: staging --------------------------------------------------------------

    def _ref(self) -> str:
        return f"{self.site}@v{self.base}" if self.base else f"{self.site} (new site)"

    def _check_open(self) -> None:
        if not self._open:
            raise ArchiveError("this writer is not open: use it as `with archive.writer(...) as w:`"
                               " and add files inside the block")

    def _check_clash(self, logical: str) -> None:
        parts = logical.split("/")
        for i in range(1, len(parts)):
            prefix = "/".join(parts[:i])
            if prefix in self._state:
                raise InvalidPath("logical path", logical,
                                  f"{prefix!r} is a file in this version; remove it first")
        if self._dirs[logical]:
            raise InvalidPath("logical path", logical,
                              f"it is a folder holding {self._dirs[logical]} file(s) in this "
                              "version; remove_tree it first")

    def _add_entry(self, logical: str, entry: _Entry) -> None:
        if logical not in self._state:
            parts = logical.split("/")
            for i in range(1, len(parts)):
                self._dirs["/".join(parts[:i])] += 1
        self._state[logical] = entry

    def _stage(self, logical: str, src: BinaryIO | None, data: bytes | None) -> str:
        self._check_clash(logical)
        assert self._txn is not None
        dst = self._txn / "src" / logical
        h = hashlib.sha512()
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            with open(dst, "wb") as out:
                if data is not None:
                    h.update(data)
                    out.write(data)
                else:
                    assert src is not None
                    while chunk := src.read(CHUNK):
                        h.update(chunk)
                        out.write(chunk)
        except OSError as exc:
            self._unstage(logical)
            raise write_error(exc, f"stage {logical!r}", self.archive.root) from exc
        digest = h.hexdigest()
        self._add_entry(logical, _Entry(digest, staged=True))
        return digest

    def _drop(self, logical: str) -> None:
        entry = self._state.pop(logical)
        parts = logical.split("/")
        for i in range(1, len(parts)):
            self._dirs["/".join(parts[:i])] -= 1
        if entry.staged:
            self._unstage(logical)

    def _unstage(self, logical: str) -> None:
        """Delete a staged file and the folders it leaves empty (a file may take their name)."""
        assert self._txn is not None
        src_root = self._txn / "src"
        path = src_root / logical
        try:
            path.unlink(missing_ok=True)
            parent = path.parent
            while parent != src_root and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
        except OSError as exc:
            log.warning("could not tidy staged %s: %s", path, exc)

    def _discard(self) -> None:
        if self._txn is None:
            return
        try:
            fsops.rmtree(self._txn)
            self._txn.parent.rmdir()  # staging/<site>, if no stale folders remain
        except OSError:
            pass
        self._txn = None

    # -- internals: commit ---------------------------------------------------------------

    def _commit(self) -> None:
        desired = {lp: e.digest for lp, e in self._state.items()}
        if desired == self._head_state:
            self.unchanged = True
            log.info("%s: nothing changed against %s; no new version", self.site, self._ref())
            return
        assert self._txn is not None
        metadata = ocfl.VersionMetadata(
            created=self.created or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            message=self.message,
            name=self.user, address=self.address)
        live = self.archive.object_path(self.site)
        staged = self._txn / "object"
        try:
            if self.base is None:
                ocfl.Object(identifier=self.site, spec_version="1.1").create(
                    srcdir=str(self._txn / "src"), metadata=metadata, objdir=str(staged))
            else:
                self._build_next(live, staged, metadata)
            fsops.stage("written")
            number = self._seal(staged, desired)
            fsops.stage("before-swap")
            self._swap(staged, live)
        except ArchiveError:
            raise
        except OSError as exc:
            raise write_error(exc, f"write {self.site}@v{(self.base or 0) + 1}",
                              self.archive.root) from exc
        except (ocfl.ObjectException, ocfl.NewVersionException, ocfl.InventoryException) as exc:
            raise CorruptObject(self.site, f"ocfl-py refused the new version: {exc}") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise ArchiveWriteError(f"{self.site}: building the new version failed ({exc!r}); "
                                    "nothing was committed") from exc
        # Committed: from here on nothing may report failure.
        self.version = number
        log.info("%s: committed v%d (%s)", self.site, number, self.message)
        fsops.stage("swapped")
        if self.archive.durable:
            try:
                fsops.fsync_path(self.archive.ocfl_root)
            except OSError as exc:
                log.warning("%s: v%d committed, but syncing %s failed: %s", self.site, number,
                            self.archive.ocfl_root, exc)
        self.archive._index_committed(self.site)

    def _build_next(self, live: Path, staged: Path, metadata: ocfl.VersionMetadata) -> None:
        fsops.link_copy_object(live, staged)
        fsops.stage("staged")
        obj = ocfl.Object()
        # start_new_version validates the (copied) object's structure before extending it.
        nv = obj.start_new_version(objdir=str(staged), srcdir=str(self._txn / "src"),
                                   metadata=metadata, carry_content_forward=True)
        for logical in self._head_state:
            entry = self._state.get(logical)
            if entry is None or entry.staged:
                nv.delete(logical)
        for logical, entry in sorted(self._state.items()):
            if entry.staged:
                nv.add(logical, logical)  # content path mirrors the logical path
        obj.write_new_version(nv)

    def _seal(self, staged: Path, desired: dict[str, str]) -> int:
        """Make the staged object read-only, durable and checked; return its head number."""
        raw = (staged / INVENTORY).read_bytes()
        inventory = json.loads(raw)
        head = inventory["head"]
        if version_state(inventory, head) != desired:
            raise ArchiveWriteError(f"{self.site}: the new inventory does not match the staged "
                                    "files (a staged file changed while writing?); nothing was "
                                    "committed, run again")
        sidecar = (staged / SIDECAR).read_text().split()[0]
        if sidecar != hashlib.sha512(raw).hexdigest():
            raise ArchiveWriteError(f"{self.site}: the new inventory sidecar is wrong; "
                                    "nothing was committed, run again")
        for root_file in (INVENTORY, SIDECAR, DECLARATION):
            if os.stat(staged / root_file).st_nlink != 1:  # never share a rewritable file
                raise ArchiveWriteError(f"{self.site}: {root_file} is shared with the live "
                                        "object; nothing was committed")
        for content_paths in inventory["manifest"].values():
            for cp in content_paths:
                if cp.startswith(head + "/"):
                    # content is immutable: guard against writes (restricted: nor read by others)
                    os.chmod(staged / cp, FILE_MODE if self.restricted else 0o444)
        validator = ocfl.Validator(check_digests=False, log_warnings=False)
        if not validator.validate_object(str(staged)):
            raise ArchiveWriteError(f"{self.site}: the new version is not a valid OCFL object "
                                    f"({validator.status_str()}); nothing was committed")
        if self.restricted:
            close_tree(staged, group_id(self.archive.restricted_group))
        if self.archive.durable:
            fsops.fsync_tree(staged / head)
            for root_file in (INVENTORY, SIDECAR, DECLARATION):
                fsops.fsync_path(staged / root_file)
            fsops.fsync_tree(staged, files=False)
        return int(head[1:])

    def _swap(self, staged: Path, live: Path) -> None:
        """The commit point: afterwards ``live`` is the new object."""
        if self.base is None:
            fsops.rename_noreplace(staged, live)
        else:
            fsops.swap_in(staged, live, self._txn / "old")
