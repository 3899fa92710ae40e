"""The archive folder: OCFL storage root, catalog, staging and locks behind one API."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from pathlib import Path

from . import _ocfl as ocfl
from . import fsops
from .catalog import Catalog, EpochRecord, ProductRecord, SiteRecord, describe_site
from .errors import (
    ArchiveError,
    ArchiveExists,
    ArchiveLocked,
    BadReference,
    CorruptObject,
    NotAnArchive,
    SiteNotFound,
    VersionNotFound,
)
from .lock import SiteLock
from .objects import (
    DECLARATION,
    SIDECAR,
    SiteVersion,
    VersionInfo,
    head_number,
    load_inventory,
    version_dirs,
)
from .paths import check_site_id, parse_ref
from .restricted import (
    RestrictedAccessDenied,
    RestrictedMaterial,
    is_permission_error,
    is_restricted,
    read_group,
    restricted_id,
)
from .verify import Progress, VerifyReport, verify_archive
from .writer import Writer, write_error

log = logging.getLogger(__name__)

ROOT_DECLARATION = "0=ocfl_1.1"
LAYOUT = "0002-flat-direct-storage-layout"


class Archive:
    """A stadtzeit archive folder. Create with ``Archive.init``, open with ``Archive.open``."""

    def __init__(self, root: Path, *, lock_timeout: float = 10.0, durable: bool = True,
                 include_restricted: bool = False):
        self.root = root
        # The archivist option: only then are `<site>--restricted` objects read (docs/PRIVACY.md)
        self.include_restricted = include_restricted
        self.ocfl_root = root / "ocfl"
        self.catalog_path = root / "catalog.sqlite"
        self.staging_dir = root / "staging"
        self.locks_dir = root / "locks"
        self.lock_timeout = lock_timeout
        self.durable = durable  # fsync before and after the swap; off only for throwaway data
        self.catalog = Catalog(self.catalog_path)

    def __repr__(self) -> str:
        return f"Archive({str(self.root)!r})"

    # -- creating and opening ------------------------------------------------------------

    @classmethod
    def init(cls, path: str | os.PathLike[str], **options: float | bool) -> Archive:
        """Create an archive in a new or empty folder."""
        root = Path(path).expanduser().absolute()
        if (root / "ocfl" / ROOT_DECLARATION).exists():
            raise ArchiveExists(f"{root} is already a stadtzeit archive; use it as it is "
                                "(`stadtzeit archive ls` shows its sites)")
        tmp = root / ".ocfl-init"  # built aside and renamed: a half-made root never shows
        if root.exists() and {p.name for p in root.iterdir()} - {tmp.name}:
            raise ArchiveExists(f"{root} is not empty; choose a new or empty folder for the "
                                "archive")
        try:
            root.mkdir(parents=True, exist_ok=True)
            fsops.rmtree(tmp)
            ocfl.StorageRoot(root=str(tmp), layout_name=LAYOUT).initialize(spec_version="1.1")
            os.rename(tmp, root / "ocfl")
            (root / "staging").mkdir()
            (root / "locks").mkdir()
        except OSError as exc:
            raise write_error(exc, f"create an archive in {root}", root) from exc
        archive = cls(root, **options)
        with archive.catalog.connect():
            pass
        return archive

    @classmethod
    def open(cls, path: str | os.PathLike[str], **options: float | bool) -> Archive:
        """Open an existing archive; refuses any other folder, saying how to create one."""
        root = Path(path).expanduser().absolute()
        if not root.is_dir():
            raise NotAnArchive(root, "no such folder")
        if not (root / "ocfl" / ROOT_DECLARATION).is_file():
            raise NotAnArchive(root, f"no OCFL storage root in {root / 'ocfl'}")
        archive = cls(root, **options)
        archive._recover_all()
        return archive

    parse_ref = staticmethod(parse_ref)

    # -- objects -------------------------------------------------------------------------

    def object_path(self, site: str) -> Path:
        """Folder of the site's OCFL object (flat-direct layout: the site id)."""
        return self.ocfl_root / check_site_id(site)

    def site_ids(self) -> list[str]:
        """Ids of the public sites, straight from the storage root (no catalog); restricted
        objects are never listed here (see ``restricted_ids``)."""
        try:
            entries = list(os.scandir(self.ocfl_root))
        except FileNotFoundError:
            return []
        return sorted(e.name for e in entries
                      if e.is_dir() and not is_restricted(e.name)
                      and os.path.exists(os.path.join(e.path, DECLARATION)))

    def restricted_ids(self) -> list[str]:
        """Ids of the restricted objects, by folder name only (nothing inside them is read)."""
        try:
            entries = list(os.scandir(self.ocfl_root))
        except FileNotFoundError:
            return []
        return sorted(e.name for e in entries if is_restricted(e.name) and e.is_dir())

    def exists(self, site: str) -> bool:
        if is_restricted(site):
            return check_site_id(site) in self.restricted_ids()
        return (self.object_path(site) / DECLARATION).exists()

    @property
    def restricted_group(self) -> str | None:
        """The group that may read restricted objects (None: the writer's own group)."""
        return read_group(self.root)

    def restricted_writer(self, site: str, *, message: str, user: str | None = None,
                          lock_timeout: float | None = None) -> Writer:
        """A new version of ``<site>--restricted``, closed to others (see archive.restricted).
        Writing needs no archivist option (only archivist programs write), but the OS must let
        this user write the restricted object."""
        return Writer(self, restricted_id(site), message=message, user=user,
                      lock_timeout=lock_timeout)

    def read(self, site: str, version: int | str | None = None) -> SiteVersion:
        """A version of a site (default: the head); ``site`` may be a reference ``site@v2``."""
        if version is None and "@" in site:
            site, version = parse_ref(site)
        elif isinstance(version, str):
            _, version = parse_ref(f"{site}@{version}")
        if isinstance(version, bool) or not (version is None or isinstance(version, int)):
            raise BadReference(f"version must be a number such as 2 or 'v2', not {version!r}")
        site = check_site_id(site)
        if is_restricted(site) and not self.include_restricted:
            raise RestrictedMaterial(site)  # refused before anything of it is touched
        obj = self.object_path(site)
        try:
            inventory = load_inventory(obj)
            head = head_number(inventory)
            number = head if version is None else version
            if number not in version_dirs(inventory):
                raise VersionNotFound(site, number, head)
            return SiteVersion.from_inventory(site, obj, inventory, number)
        except FileNotFoundError:
            raise SiteNotFound(site, self.site_ids()) from None
        except PermissionError as exc:
            if is_restricted(site):
                raise RestrictedAccessDenied(site, exc.filename or obj,
                                             self.restricted_group) from None
            raise CorruptObject(site, f"cannot read its inventory: {exc!r}") from exc
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise CorruptObject(site, f"cannot read its inventory: {exc!r}") from exc

    def writer(self, site: str, *, message: str, user: str | None = None,
               address: str | None = None, lock_timeout: float | None = None,
               created: str | None = None) -> Writer:
        """A new version of ``site`` (created if new): ``with archive.writer(...) as w:``."""
        return Writer(self, site, message=message, user=user, address=address,
                      lock_timeout=lock_timeout, created=created)

    # -- catalog-backed listings ---------------------------------------------------------

    def sites(self) -> list[SiteRecord]:
        self._refresh()
        return self.catalog.sites()

    def log(self, site: str) -> list[VersionInfo]:
        """All versions of a site, oldest first."""
        if is_restricted(site):
            # never in the shared catalog: straight from the object, for archivists only
            v = self.read(site)
            inventory = self._inventory(site)
            return [VersionInfo.from_inventory(inventory, d)
                    for _, d in sorted(version_dirs(inventory).items()) if _ <= v.head]
        self._require(site)
        return self.catalog.versions(site)

    def epochs(self, site: str) -> list[EpochRecord]:
        self._require(site)
        return self.catalog.epochs(site)

    def products(self, site: str, version: int | None = None) -> list[ProductRecord]:
        """Files of a version (default: head) with size and sha512, from the catalog."""
        if version is None and "@" in site:
            site, version = parse_ref(site)
        self._require(site)
        head = self.catalog.head(site) or 0
        number = head if version is None else version
        if not 1 <= number <= head:
            raise VersionNotFound(site, number, head)
        return self.catalog.products(site, number)

    def reindex(self, progress: Progress | None = None) -> int:
        """Rebuild the whole catalog from the OCFL objects; returns the number of sites."""
        ids = self.site_ids()
        rows = []
        for i, site in enumerate(ids):
            try:
                rows.append(describe_site(site, self.object_path(site)))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("%s: not indexed, its inventory is unreadable (%s); run "
                            "`stadtzeit archive verify %s`", site, exc, site)
            if progress:
                progress(i + 1, len(ids), site)
        self._store(rows, replace_all=True)
        return len(rows)

    def verify(self, site: str | None = None, progress: Progress | None = None) -> VerifyReport:
        """Check fixity and structure of one site or of all; never changes anything."""
        if site is not None:
            site = check_site_id(site)
            if is_restricted(site) and not self.include_restricted:
                raise RestrictedMaterial(site)
            if not self.exists(site):
                raise SiteNotFound(site, self.site_ids())
        return verify_archive(self, site, progress)

    def _inventory(self, site: str) -> dict:
        try:
            return load_inventory(self.object_path(site))
        except OSError as exc:
            if is_permission_error(exc) and is_restricted(site):
                raise RestrictedAccessDenied(site, exc.filename, self.restricted_group) from None
            raise CorruptObject(site, f"cannot read its inventory: {exc!r}") from exc

    def _require(self, site: str) -> None:
        site = check_site_id(site)
        if is_restricted(site):
            raise RestrictedMaterial(site) if not self.include_restricted else ArchiveError(
                f"{site}: the catalog lists public sites only; read the restricted object with "
                "archive.read / archive.log")
        self._refresh([site])
        if not self.exists(site):
            raise SiteNotFound(site, self.site_ids())

    def _refresh(self, sites: list[str] | None = None) -> None:
        """Re-index sites whose catalog rows are missing or behind their object (cheap check:
        the inventory sidecar's digest against the one stored with the rows)."""
        wanted = self.site_ids() if sites is None else [s for s in sites if self.exists(s)]
        try:
            indexed = self.catalog.indexed()
        except sqlite3.Error as exc:
            log.warning("catalog unusable (%s); indexing in memory", exc)
            self.catalog.use_memory()
            indexed = {}
        stale = [s for s in wanted if indexed.get(s) != self._sidecar(s)]
        gone = [s for s in (indexed if sites is None else sites)
                if s in indexed and s not in wanted]
        rows = []
        for site in stale:
            try:
                rows.append(describe_site(site, self.object_path(site)))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("%s: not indexed (%s)", site, exc)
                gone.append(site)
        if rows or gone:
            self._store(rows, drop=gone)

    def _store(self, rows: list, drop: list[str] = (), replace_all: bool = False) -> None:
        try:
            self.catalog.store(rows, drop=drop, replace_all=replace_all)
        except sqlite3.Error as exc:
            if self.catalog.in_memory:
                raise
            # Derived data: index everything in memory rather than fail a read.
            log.warning("cannot update %s (%s); indexing in memory", self.catalog_path, exc)
            self.catalog.use_memory()
            self.reindex()

    def _sidecar(self, site: str) -> str | None:
        try:
            return (self.object_path(site) / SIDECAR).read_text().split()[0]
        except (OSError, IndexError):
            return None

    def _index_committed(self, site: str) -> None:
        """After a commit (inside the lock). A failure only leaves the catalog behind, which the
        next listing notices and repairs, so it never fails the commit."""
        try:
            self._store([describe_site(site, self.object_path(site))])
        except Exception as exc:  # noqa: BLE001 - the version is committed regardless
            log.warning("%s: committed, but the catalog was not updated (%s)", site, exc)

    # -- recovery ------------------------------------------------------------------------

    def _recover_site(self, site: str) -> None:
        """Under the site lock: undo what a killed writer left in ``staging/<site>/``.

        Only the two-rename fallback can leave the object path empty (killed between moving the
        old object aside and moving the new one in); the old object is moved back. Everything
        else there is a stale staging folder and is removed.
        """
        site_staging = self.staging_dir / site
        if not site_staging.is_dir():
            return
        live = self.object_path(site)
        for txn in sorted(site_staging.iterdir()):
            aside = txn / "old"
            if not os.path.lexists(live) and (aside / DECLARATION).exists():
                log.warning("%s: restoring the object left aside by an interrupted writer", site)
                os.rename(aside, live)
                if self.durable:
                    fsops.fsync_path(self.ocfl_root)
            fsops.rmtree(txn)
        with contextlib.suppress(OSError):
            site_staging.rmdir()

    def _recover_all(self) -> None:
        """On open: finish what killed writers left in staging/ — put back an object that an
        interrupted fallback swap moved aside, and free the space of stale staging folders.
        Sites being written right now are skipped (their lock is held)."""
        try:
            pending = sorted(p.name for p in self.staging_dir.iterdir()
                             if p.is_dir() and any(p.iterdir()))
        except OSError:
            return
        for site in pending:
            try:
                check_site_id(site)
                with SiteLock(self.locks_dir, site, timeout=0):
                    self._recover_site(site)
            except ArchiveLocked:
                pass  # a live writer; it tidies up after itself
            except (ArchiveError, OSError) as exc:
                log.warning("%s: cannot tidy %s (%s)", site, self.staging_dir / site, exc)
