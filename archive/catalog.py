"""The SQLite catalog: a derived index of sites, versions, epochs and products.

Everything here can be rebuilt from the OCFL objects alone (``Archive.reindex``). Each site row
keeps the sha512 of the inventory it was built from; comparing it with the object's sidecar is
the cheap check that tells a listing whether the row is behind. Connections are short-lived and
the database runs in WAL mode, so readers never block the writer and need no lock; concurrent
re-indexing of the same site is harmless because rows are replaced in one transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .objects import INVENTORY, VersionInfo, head_number, parse_time, version_dirs, version_state

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE sites (
    id TEXT PRIMARY KEY, name_de TEXT, name_en TEXT, head INTEGER NOT NULL,
    updated TEXT, inventory_sha512 TEXT NOT NULL);
CREATE TABLE versions (
    site TEXT NOT NULL, number INTEGER NOT NULL, created TEXT, message TEXT,
    user_name TEXT, user_address TEXT, PRIMARY KEY (site, number));
CREATE TABLE epochs (
    site TEXT NOT NULL, epoch TEXT NOT NULL, capture TEXT, processed INTEGER NOT NULL,
    PRIMARY KEY (site, epoch));
CREATE TABLE products (
    site TEXT NOT NULL, version INTEGER NOT NULL, path TEXT NOT NULL, size INTEGER,
    sha512 TEXT NOT NULL, PRIMARY KEY (site, version, path));
"""
TABLES = ("sites", "versions", "epochs", "products")


@dataclass(frozen=True)
class SiteRecord:
    id: str
    name_de: str | None
    name_en: str | None
    head: int
    updated: datetime | None
    epochs: tuple[str, ...]


@dataclass(frozen=True)
class EpochRecord:
    site: str
    id: str
    capture: str | None
    processed: bool  # epochs/<id>/epoch.json exists in the head version


@dataclass(frozen=True)
class ProductRecord:
    site: str
    version: int
    path: str
    size: int | None  # None: the content file is missing (see `verify`)
    sha512: str


@dataclass
class SiteRows:
    """Everything the catalog stores about one site, computed from its OCFL object."""

    site: tuple[Any, ...]
    versions: list[tuple[Any, ...]]
    epochs: list[tuple[Any, ...]]
    products: list[tuple[Any, ...]]


def describe_site(site: str, object_dir: Path) -> SiteRows:
    raw = (object_dir / INVENTORY).read_bytes()
    inventory = json.loads(raw)
    vdirs = version_dirs(inventory)
    head = head_number(inventory)
    manifest = inventory["manifest"]
    sizes: dict[str, int | None] = {}

    def size(digest: str) -> int | None:
        if digest not in sizes:
            try:
                sizes[digest] = (object_dir / manifest[digest][0]).stat().st_size
            except OSError:
                sizes[digest] = None
        return sizes[digest]

    versions, products = [], []
    for number, vdir in sorted(vdirs.items()):
        info = VersionInfo.from_inventory(inventory, vdir)
        versions.append((site, number, _iso(info.created), info.message, info.user,
                         info.address))
        for logical, digest in sorted(version_state(inventory, vdir).items()):
            products.append((site, number, logical, size(digest), digest))
    head_state = version_state(inventory, vdirs[head])

    def read_json(logical: str) -> dict[str, Any]:
        if logical not in head_state:
            return {}
        try:
            with open(object_dir / manifest[head_state[logical]][0], "rb") as fh:
                doc = json.load(fh)
        except (OSError, ValueError) as exc:
            log.warning("%s: cannot read %s for the catalog: %s", site, logical, exc)
            return {}
        return doc if isinstance(doc, dict) else {}

    manifest_doc = read_json("site.json")
    name = manifest_doc.get("name")
    if isinstance(name, str):
        name = {"de": name, "en": name}
    name = name if isinstance(name, dict) else {}
    captures: dict[str, str | None] = {}
    for epoch in manifest_doc.get("epochs") or []:
        if isinstance(epoch, dict) and isinstance(epoch.get("id"), str):
            captures[epoch["id"]] = epoch.get("capture")
    for logical in head_state:
        parts = logical.split("/")
        if len(parts) > 2 and parts[0] == "epochs":
            captures.setdefault(parts[1], None)
    epochs = []
    for epoch_id in sorted(captures):
        processed = f"epochs/{epoch_id}/epoch.json" in head_state
        capture = captures[epoch_id]
        if processed and capture is None:
            doc = read_json(f"epochs/{epoch_id}/epoch.json")
            nested = doc.get("epoch") if isinstance(doc.get("epoch"), dict) else {}
            capture = doc.get("capture") or nested.get("capture")
        epochs.append((site, epoch_id, capture if isinstance(capture, str) else None,
                       int(processed)))
    updated = versions[-1][2] if versions else None
    row = (site, name.get("de"), name.get("en"), head, updated, hashlib.sha512(raw).hexdigest())
    return SiteRows(row, versions, epochs, products)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class Catalog:
    """The catalog file, or an in-memory stand-in when the archive folder is read-only."""

    def __init__(self, path: Path):
        self.path = path
        self._memory: sqlite3.Connection | None = None

    @property
    def in_memory(self) -> bool:
        return self._memory is not None

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        if self._memory is not None:
            yield self._memory
            return
        try:
            con = self._open_file()
        except sqlite3.DatabaseError as exc:
            if not self._recoverable(exc):
                raise
            con = self._recover(exc)
            if self._memory is not None:
                yield con
                return
        try:
            yield con
        finally:
            con.close()

    def use_memory(self) -> None:
        """Index in memory from now on (the file cannot be written)."""
        if self._memory is None:
            self._memory = sqlite3.connect(":memory:", isolation_level=None,
                                           check_same_thread=False)
            self._ensure_schema(self._memory)

    def _open_file(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        try:
            con.execute("PRAGMA busy_timeout = 10000")
            if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = NORMAL")
            self._ensure_schema(con)
        except BaseException:
            con.close()
            raise
        return con

    @staticmethod
    def _recoverable(exc: sqlite3.DatabaseError) -> bool:
        text = str(exc).lower()
        return (not isinstance(exc, sqlite3.OperationalError)
                or "readonly" in text or "read-only" in text or "unable to open" in text
                or "malformed" in text)

    def _recover(self, exc: sqlite3.DatabaseError) -> sqlite3.Connection:
        text = str(exc).lower()
        if "not a database" in text or "malformed" in text:
            # Derived data: a damaged catalog is simply rebuilt.
            log.warning("catalog %s is damaged (%s); rebuilding it", self.path, exc)
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    Path(f"{self.path}{suffix}").unlink()
            try:
                return self._open_file()
            except sqlite3.DatabaseError as again:
                exc = again
        log.info("catalog %s is not writable (%s); indexing in memory", self.path, exc)
        self.use_memory()
        assert self._memory is not None
        return self._memory

    @staticmethod
    def _ensure_schema(con: sqlite3.Connection) -> None:
        if con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        con.execute("BEGIN IMMEDIATE")
        try:
            if con.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                for table in TABLES:
                    con.execute(f"DROP TABLE IF EXISTS {table}")
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        con.execute(statement)
                con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    # -- writes --------------------------------------------------------------------------

    def indexed(self) -> dict[str, str]:
        """Site id -> sha512 of the inventory its rows were built from."""
        with self.connect() as con:
            return dict(con.execute("SELECT id, inventory_sha512 FROM sites"))

    def store(self, rows: list[SiteRows], drop: list[str] = (), replace_all: bool = False) -> None:
        with self.connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                if replace_all:
                    for table in TABLES:
                        con.execute(f"DELETE FROM {table}")
                gone = list(drop) + [r.site[0] for r in rows]
                for site in gone:
                    for table, key in (("sites", "id"), ("versions", "site"),
                                       ("epochs", "site"), ("products", "site")):
                        con.execute(f"DELETE FROM {table} WHERE {key} = ?", (site,))
                for r in rows:
                    con.execute("INSERT INTO sites VALUES (?, ?, ?, ?, ?, ?)", r.site)
                    con.executemany("INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?)", r.versions)
                    con.executemany("INSERT INTO epochs VALUES (?, ?, ?, ?)", r.epochs)
                    con.executemany("INSERT INTO products VALUES (?, ?, ?, ?, ?)", r.products)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    # -- queries -------------------------------------------------------------------------

    def sites(self) -> list[SiteRecord]:
        with self.connect() as con:
            epochs: dict[str, list[str]] = {}
            for site, epoch in con.execute("SELECT site, epoch FROM epochs ORDER BY site, epoch"):
                epochs.setdefault(site, []).append(epoch)
            return [SiteRecord(i, de, en, head, parse_time(updated), tuple(epochs.get(i, ())))
                    for i, de, en, head, updated in con.execute(
                        "SELECT id, name_de, name_en, head, updated FROM sites ORDER BY id")]

    def head(self, site: str) -> int | None:
        with self.connect() as con:
            row = con.execute("SELECT head FROM sites WHERE id = ?", (site,)).fetchone()
            return row[0] if row else None

    def versions(self, site: str) -> list[VersionInfo]:
        with self.connect() as con:
            return [VersionInfo(n, parse_time(created), message, user, address)
                    for n, created, message, user, address in con.execute(
                        "SELECT number, created, message, user_name, user_address FROM versions"
                        " WHERE site = ? ORDER BY number", (site,))]

    def epochs(self, site: str) -> list[EpochRecord]:
        with self.connect() as con:
            return [EpochRecord(site, e, capture, bool(processed))
                    for e, capture, processed in con.execute(
                        "SELECT epoch, capture, processed FROM epochs WHERE site = ?"
                        " ORDER BY epoch", (site,))]

    def products(self, site: str, version: int) -> list[ProductRecord]:
        with self.connect() as con:
            return [ProductRecord(site, version, p, size, digest)
                    for p, size, digest in con.execute(
                        "SELECT path, size, sha512 FROM products WHERE site = ? AND version = ?"
                        " ORDER BY path", (site, version))]
