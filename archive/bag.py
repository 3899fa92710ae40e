"""A site as a BagIt bag (RFC 8493): export it from one archive, import it into another.

A bag holds one site's OCFL object unchanged under ``data/<site>/`` — every version, with its
inventories and sidecars byte for byte — or, exported with a version, that state alone as a
fresh one-version object. Manifests are sha512; ``bag-info.txt`` says who made it, the site's
licence and attribution, and the stadtzeit bag format version.

Import trusts nothing in a bag until it is checked, in this order, all before anything is
written: the folder tree (no symlinks, no special files, at most ``max_files`` files), the bag
(bagit: structure, completeness, every sha512), the OCFL object (ocfl-py's validator with
digests, id and digest algorithm), then the content (logical paths, ``site.json`` as a
manifest, file signatures). Only then, under the site lock, is the object built in
``staging/`` and moved in with the archive's own atomic swap (see ``writer.py``). A site that
exists gets only the versions it lacks, and only when the bag's history starts with the
archive's; otherwise nothing is written and both heads are named.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import bagit

from assets_manifest.errors import ManifestError
from assets_manifest.models import SiteManifest

from . import _ocfl as ocfl
from . import fsops
from .errors import ArchiveError, InvalidPath
from .lock import SiteLock
from .objects import DECLARATION, INVENTORY, SIDECAR, load_inventory, version_dirs
from .paths import check_logical_path, check_site_id
from .restricted import require_public
from .writer import write_error

log = logging.getLogger(__name__)

#: The stadtzeit bag format: a BagIt 1.0 bag, sha512, one OCFL 1.1 object in data/<site>/.
FORMAT_VERSION = "1"
#: Files a bag may hold before import refuses it (a city site has hundreds, not millions).
MAX_FILES = 100_000
_MANIFEST_LINE = 1200  # bytes a manifest line may take on average (digest + long path)
_DIGEST = "sha512"


class BagError(ArchiveError):
    """A bag cannot be made or imported; the message names the file and what to do."""

    def __init__(self, bag: object, file: str | None, reason: str, hint: str):
        self.bag = str(bag)
        self.file = file
        where = f"{file}: " if file else ""
        super().__init__(f"bag {self.bag}: {where}{reason}; {hint}")


class BagRefused(BagError):
    """Import refused a bag before writing anything."""

    def __init__(self, bag: object, file: str | None, reason: str,
                 hint: str = "ask the sender for a new export (the archive is unchanged)"):
        super().__init__(bag, file, reason, hint)


class HistoryConflict(ArchiveError):
    """The bag's versions of a site do not continue the archive's."""

    def __init__(self, site: str, ours: str, theirs: str, since: int):
        self.site = site
        super().__init__(
            f"site {site!r}: the archive has {ours}, the bag has {theirs}; their histories "
            f"differ from v{since} on, so the bag cannot be appended (the archive is unchanged)."
            f" Import it into another archive, or export {site} from here and reconcile by hand")


@dataclass
class ExportReport:
    bag: Path
    site: str
    versions: list[int]          # versions of the source site the bag holds
    files: int                   # payload files
    bytes: int                   # payload bytes


@dataclass
class ImportReport:
    site: str
    head: int                                          # the site's head after the import
    created: bool = False                              # the site was new to this archive
    added: list[int] = field(default_factory=list)     # version numbers appended
    files: int = 0                                     # payload files checked

    @property
    def unchanged(self) -> bool:
        return not self.added


BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


def _encode_name(name: str) -> str:
    return name.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _decode_name(name: str) -> str:
    return re.sub(r"%(25|0[dD]|0[aA])", lambda m: chr(int(m[1], 16)), name)


@contextlib.contextmanager
def rfc8493_names() -> Iterator[None]:
    """Manifest file names as BagIt 1.0 (RFC 8493, 2.1.3) writes them.

    bagit-python 1.9 encodes only CR and LF, but 1.0 also encodes '%' as %25 — and OCFL
    content paths are URI-quoted, so a source file named ``März.laz`` is stored as
    ``M%C3%A4rz.laz``. bagit-python's two module-level helpers are swapped for RFC 8493's
    rules while a bag is made or read here.
    """
    saved = bagit._encode_filename, bagit._decode_filename
    bagit._encode_filename, bagit._decode_filename = _encode_name, _decode_name
    try:
        yield
    finally:
        bagit._encode_filename, bagit._decode_filename = saved


# -- export ------------------------------------------------------------------------------------

def export_bag(archive, site: str, out: str | os.PathLike[str], *, version: int | None = None,
               organization: str | None = None, contact_name: str | None = None,
               contact_email: str | None = None, description: str | None = None) -> ExportReport:
    """Write ``site`` (all versions, or ``version`` alone as a fresh object) as a bag at ``out``.

    ``out`` must not exist; the bag is built beside it and renamed into place when valid.
    Never writes to the archive.
    """
    site = require_public(site, "exported")
    chosen = archive.read(site, version)  # SiteNotFound / VersionNotFound with what exists
    out = Path(out).expanduser().absolute()
    if os.path.lexists(out):
        raise BagError(out, None, "already exists", "choose a new folder for the bag")
    info = _site_info(chosen)
    tmp = out.parent / f".{out.name}.partial-{secrets.token_hex(4)}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        if version is None:
            versions = _copy_object(archive.object_path(site), tmp / site)
        else:
            _fresh_object(chosen, tmp)
            versions = [chosen.number]
        validator = ocfl.Validator(check_digests=True, log_warnings=False)
        if not validator.validate_object(str(tmp / site)):
            raise BagError(out, None, f"the stored object of {site!r} is not valid "
                           f"({validator.status_str()})",
                           f"run `stadtzeit archive verify {site}` and repair it first")
        span = (f"v{versions[0]} … v{versions[-1]}, all versions" if version is None
                else f"v{chosen.number} of v{chosen.head}, alone as a fresh object (v1)")
        bag_info = {
            "Source-Organization": organization or info["attribution"] or "unknown",
            "External-Identifier": site,
            "External-Description": description or (
                f"stadtzeit site {site} ({info['name']}): its OCFL 1.1 object, {span}"),
            "Stadtzeit-Format-Version": FORMAT_VERSION,
            "Stadtzeit-Site": site,
            "Stadtzeit-Versions": span,
            "Stadtzeit-Licence": info["licence"] or "unknown",
            "Stadtzeit-Attribution": info["attribution"] or "unknown",
        }
        if contact_name:
            bag_info["Contact-Name"] = contact_name
        if contact_email:
            bag_info["Contact-Email"] = contact_email
        with rfc8493_names():
            bag = bagit.make_bag(str(tmp), bag_info, processes=1, checksums=[_DIGEST])
            (tmp / "bagit.txt").write_text(BAGIT_TXT, encoding="utf-8")
            bagit.Bag(str(tmp)).save(processes=1)  # the tag manifest covers the new bagit.txt
            bag = bagit.Bag(str(tmp))
            bag.validate(processes=1)
        files, size = _payload_size(tmp / "data")
        os.rename(tmp, out)
    except OSError as exc:
        raise BagError(out, getattr(exc, "filename", None), exc.strerror or str(exc),
                       "check the disk and the folder's permissions, then run again") from exc
    finally:
        fsops.rmtree(tmp)  # only left when something failed
    return ExportReport(out, site, versions, files, size)


def _site_info(version) -> dict[str, str | None]:
    """Licence, attribution and a name for bag-info.txt, from the version's site.json."""
    try:
        data = version.read_json("site.json")
    except (ArchiveError, OSError, ValueError):
        return {"licence": None, "attribution": None, "name": version.site}
    name = data.get("name") or {}
    return {"licence": data.get("licence"), "attribution": data.get("attribution"),
            "name": name.get("en") or name.get("de") or version.site}


def _copy_object(src: Path, dst: Path) -> list[int]:
    """Copy the object as its root inventory lists it, without the lock.

    The root inventory is read once; version folders are never rewritten, so a commit that
    lands meanwhile cannot mix into the copy (it adds a folder this copy does not list).
    """
    raw = (src / INVENTORY).read_bytes()
    sidecar = (src / SIDECAR).read_bytes()
    inventory = json.loads(raw)
    dst.mkdir()
    shutil.copyfile(src / DECLARATION, dst / DECLARATION)
    (dst / INVENTORY).write_bytes(raw)
    (dst / SIDECAR).write_bytes(sidecar)
    if (src / "extensions").is_dir():
        shutil.copytree(src / "extensions", dst / "extensions", copy_function=shutil.copyfile)
    vdirs = version_dirs(inventory)
    for vdir in vdirs.values():
        (dst / vdir).mkdir()
        for name in (INVENTORY, SIDECAR):
            shutil.copyfile(src / vdir / name, dst / vdir / name)
    for paths in inventory["manifest"].values():
        for cp in paths:
            target = dst / cp
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / cp, target)
    return sorted(vdirs)


def _fresh_object(version, tmp: Path) -> None:
    """One version's state as a new object whose v1 keeps that version's metadata."""
    src = tmp / ".state"
    for logical, path in version.files.items():
        target = src / logical
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:  # another file system
            shutil.copyfile(path, target)
    info = version.info
    created = info.created.strftime("%Y-%m-%dT%H:%M:%SZ") if info.created else None
    metadata = ocfl.VersionMetadata(created=created, message=info.message, name=info.user,
                                    address=info.address)
    ocfl.Object(identifier=version.site, spec_version="1.1").create(
        srcdir=str(src), metadata=metadata, objdir=str(tmp / version.site))
    fsops.rmtree(src)


def _payload_size(data: Path) -> tuple[int, int]:
    files = size = 0
    for dirpath, _dirs, names in os.walk(data):
        for name in names:
            files += 1
            size += os.lstat(os.path.join(dirpath, name)).st_size
    return files, size


# -- import: checks ----------------------------------------------------------------------------

def check_bag(bag_dir: str | os.PathLike[str], *, max_files: int = MAX_FILES
              ) -> tuple[str, Path, dict]:
    """Every check import makes before writing; returns (site, object folder, inventory)."""
    bag_dir = Path(bag_dir).expanduser().absolute()
    if not bag_dir.is_dir():
        raise BagRefused(bag_dir, None, "is not a folder" if bag_dir.exists() else "not found",
                         "give the folder that holds bagit.txt")
    count = _scan_tree(bag_dir, max_files)
    bag = _load_bag(bag_dir, max_files)
    _validate_bag(bag_dir, bag)
    site, obj = _payload_object(bag_dir, bag)
    inventory = _check_object(bag_dir, obj, site)
    _check_content(bag_dir, obj, inventory, site)
    log.info("%s: bag checked (%d files)", bag_dir, count)
    return site, obj, inventory


def _rel(bag_dir: Path, path: str | os.PathLike[str]) -> str:
    return os.path.relpath(path, bag_dir)


def _scan_tree(bag_dir: Path, max_files: int) -> int:
    """Refuse what bagit would follow or choke on: symlinks, special files, too many files."""
    count = 0
    for dirpath, dirs, names in os.walk(bag_dir):
        for name in dirs + names:
            path = os.path.join(dirpath, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                raise BagRefused(bag_dir, _rel(bag_dir, path), "is a symbolic link; a bag holds "
                                 "only plain files and folders (a link could point outside it)")
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise BagRefused(bag_dir, _rel(bag_dir, path), "is not a plain file or folder")
        count += len(names)
        if count > max_files:
            raise BagRefused(bag_dir, _rel(bag_dir, dirpath),
                             f"the bag holds more than {max_files} files",
                             "a site object has far fewer; if this one is genuine, import it "
                             "with a higher --max-files (the archive is unchanged)")
    return count


def _load_bag(bag_dir: Path, max_files: int) -> bagit.Bag:
    for path in bag_dir.iterdir():
        if path.name.startswith(("manifest-", "tagmanifest-")) and path.is_file():
            if path.stat().st_size > max_files * _MANIFEST_LINE:
                raise BagRefused(bag_dir, path.name, f"lists far more than {max_files} files")
    if (bag_dir / "fetch.txt").exists():
        raise BagRefused(bag_dir, "fetch.txt", "the bag is incomplete: it lists files to be "
                         "downloaded", "fetch them first, or ask for a complete export")
    try:
        with rfc8493_names():
            bag = bagit.Bag(str(bag_dir))
    except bagit.BagError as exc:
        raise BagRefused(bag_dir, None, f"not a readable BagIt bag: {exc}") from exc
    except (UnicodeError, ValueError) as exc:
        raise BagRefused(bag_dir, None, f"a tag file is not valid UTF-8 text: {exc}") from exc
    if _DIGEST not in bag.algorithms:
        raise BagRefused(bag_dir, None, f"has no {_DIGEST} manifest (only "
                         f"{', '.join(bag.algorithms) or 'none'})",
                         "export it with `stadtzeit archive export`, which writes sha512")
    version = bag.info.get("Stadtzeit-Format-Version")
    if version != FORMAT_VERSION:
        raise BagRefused(bag_dir, "bag-info.txt",
                         f"Stadtzeit-Format-Version is {version!r}, this stadtzeit reads "
                         f"{FORMAT_VERSION!r}",
                         "export it with `stadtzeit archive export` from a matching version")
    return bag


def _validate_bag(bag_dir: Path, bag: bagit.Bag) -> None:
    if bag.version_info != (1, 0):
        raise BagRefused(bag_dir, "bagit.txt", f"BagIt-Version is {bag.version}; stadtzeit "
                         "bags are BagIt 1.0")
    # bagit checks the Payload-Oxum first, whose message names no file: name them here.
    missing, unlisted = bag.compare_manifests_with_fs()
    for paths, what in ((missing, "listed in the manifest but missing (an incomplete copy?)"),
                        (unlisted, "not in the manifest (added after the bag was made?)")):
        if paths:
            shown = ", ".join(sorted(paths)[:10]) + (" …" if len(paths) > 10 else "")
            raise BagRefused(bag_dir, shown, what)
    try:
        with rfc8493_names():
            bag.validate(processes=1)
    except bagit.BagValidationError as exc:
        files = [f"{d.path}: {d}" if not str(d).startswith(str(d.path)) else str(d)
                 for d in exc.details if getattr(d, "path", None)]
        what = "; ".join(files[:10]) or exc.message
        more = f" (and {len(files) - 10} more)" if len(files) > 10 else ""
        raise BagRefused(bag_dir, None, f"damaged or incomplete: {what}{more}") from exc
    except bagit.BagError as exc:
        raise BagRefused(bag_dir, None, f"not a valid bag: {exc}") from exc


def _payload_object(bag_dir: Path, bag: bagit.Bag) -> tuple[str, Path]:
    data = bag_dir / "data"
    entries = sorted(p.name for p in data.iterdir())
    if len(entries) != 1 or not (data / entries[0]).is_dir():
        raise BagRefused(bag_dir, "data/", f"holds {entries}; a stadtzeit bag holds one folder, "
                         "the site's OCFL object")
    site = entries[0]
    try:
        check_site_id(site)
    except InvalidPath as exc:
        raise BagRefused(bag_dir, f"data/{site}", exc.reason) from None
    named = bag.info.get("Stadtzeit-Site")
    if named != site:
        raise BagRefused(bag_dir, "bag-info.txt", f"Stadtzeit-Site is {named!r} but the payload "
                         f"is data/{site}")
    if not (data / site / DECLARATION).is_file():
        raise BagRefused(bag_dir, f"data/{site}/{DECLARATION}", "missing: the payload is not "
                         "an OCFL 1.1 object")
    return site, data / site


def _check_object(bag_dir: Path, obj: Path, site: str) -> dict:
    validator = ocfl.Validator(check_digests=True, log_warnings=False)
    if not validator.validate_object(str(obj)):
        raise BagRefused(bag_dir, _rel(bag_dir, obj), "not a valid OCFL object: "
                         + validator.status_str().strip().replace("\n", "; "))
    inventory = load_inventory(obj)
    if inventory.get("id") != site:
        raise BagRefused(bag_dir, _rel(bag_dir, obj / INVENTORY),
                         f"the object's id is {inventory.get('id')!r}, its folder says {site!r}")
    if inventory.get("digestAlgorithm") != _DIGEST:
        raise BagRefused(bag_dir, _rel(bag_dir, obj / INVENTORY),
                         f"digestAlgorithm is {inventory.get('digestAlgorithm')!r}; stadtzeit "
                         "archives use sha512")
    return inventory


_SIGNATURES = {".glb": (b"glTF",), ".laz": (b"LASF",), ".las": (b"LASF",)}


def _check_content(bag_dir: Path, obj: Path, inventory: dict, site: str) -> None:
    """Logical paths are safe, site.json is a manifest of this site, products look like what
    their names say (signatures, JSON that parses)."""
    manifest = inventory["manifest"]
    where = {d: obj / paths[0] for d, paths in manifest.items()}
    checked: set[str] = set()
    for vdir, block in inventory["versions"].items():
        for digest, logicals in block["state"].items():
            for logical in logicals:
                try:
                    check_logical_path(logical)
                except InvalidPath as exc:
                    raise BagRefused(bag_dir, _rel(bag_dir, obj / INVENTORY),
                                     f"{vdir} holds an unsafe path: {exc}") from None
                if digest not in checked:
                    checked.add(digest)
                    _check_product(bag_dir, where[digest], logical)
    head = inventory["versions"][inventory["head"]]["state"]
    logicals = {lp: d for d, lps in head.items() for lp in lps}
    if "site.json" not in logicals:
        raise BagRefused(bag_dir, _rel(bag_dir, obj / INVENTORY),
                         f"the head version {inventory['head']} has no site.json")
    path = where[logicals["site.json"]]
    try:
        manifest_model = SiteManifest.from_json_dict(json.loads(path.read_bytes()),
                                                     name=_rel(bag_dir, path))
    except ManifestError as exc:
        raise BagRefused(bag_dir, _rel(bag_dir, path), f"site.json is invalid: {exc}") from None
    if manifest_model.id != site:
        raise BagRefused(bag_dir, _rel(bag_dir, path),
                         f"site.json is for site {manifest_model.id!r}, not {site!r}")
    epochs = set(manifest_model.epoch_ids)
    for logical in logicals:
        parts = logical.split("/")
        if parts[0] == "epochs" and len(parts) > 2 and parts[1] not in epochs:
            raise BagRefused(bag_dir, logical, f"epoch {parts[1]!r} is not in site.json "
                             f"(epochs: {', '.join(sorted(epochs))})")


def _check_product(bag_dir: Path, path: Path, logical: str) -> None:
    suffix = Path(logical).suffix.lower()
    try:
        if suffix == ".json":
            json.loads(path.read_bytes())
        elif suffix in _SIGNATURES:
            with open(path, "rb") as fh:
                head = fh.read(4)
            if head not in _SIGNATURES[suffix]:
                raise BagRefused(bag_dir, _rel(bag_dir, path), f"holds {logical} but is not a "
                                 f"{suffix[1:].upper()} file (starts with {head!r})")
    except (ValueError, UnicodeError) as exc:
        raise BagRefused(bag_dir, _rel(bag_dir, path),
                         f"holds {logical} but is not valid JSON: {exc}") from None


# -- import: writing ---------------------------------------------------------------------------

def import_bag(archive, bag_dir: str | os.PathLike[str], *, max_files: int = MAX_FILES,
               lock_timeout: float | None = None) -> ImportReport:
    """Check the bag completely, then add its site (or the versions the archive lacks)."""
    bag_dir = Path(bag_dir).expanduser().absolute()
    site, obj, incoming = check_bag(bag_dir, max_files=max_files)
    timeout = archive.lock_timeout if lock_timeout is None else lock_timeout
    lock = SiteLock(archive.locks_dir, site, timeout).acquire()
    txn: Path | None = None
    try:
        archive._recover_site(site)
        live = archive.object_path(site)
        new = not os.path.lexists(live)
        added = sorted(version_dirs(incoming))
        if not new:
            added = _versions_to_append(site, load_inventory(live), incoming, obj)
            if not added:
                return ImportReport(site, max(version_dirs(load_inventory(live))))
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{secrets.token_hex(4)}"
        txn = archive.staging_dir / site / name
        txn.mkdir(parents=True)
        staged = txn / "object"
        if new:
            shutil.copytree(obj, staged, copy_function=shutil.copyfile)
        else:
            fsops.link_copy_object(live, staged)
            vdirs = version_dirs(incoming)
            for number in added:
                shutil.copytree(obj / vdirs[number], staged / vdirs[number],
                                copy_function=shutil.copyfile)
            for name in (INVENTORY, SIDECAR):
                os.unlink(staged / name)
                shutil.copyfile(obj / name, staged / name)
        fsops.stage("written")
        _seal(archive, site, staged, obj, incoming, added)
        fsops.stage("before-swap")
        if new:
            fsops.rename_noreplace(staged, live)
        else:
            fsops.swap_in(staged, live, txn / "old")
        if archive.durable:
            fsops.fsync_path(archive.ocfl_root)
        fsops.stage("swapped")
        archive._index_committed(site)
        log.info("%s: imported %s from %s", site, ", ".join(f"v{n}" for n in added), bag_dir)
        files = sum(len(p) for p in incoming["manifest"].values())
        return ImportReport(site, max(version_dirs(incoming)), created=new, added=added,
                            files=files)
    except OSError as exc:
        raise write_error(exc, f"import {site} from {bag_dir}", archive.root) from exc
    finally:
        try:
            if txn is not None:
                fsops.rmtree(txn)
                txn.parent.rmdir()
        except OSError:
            pass
        lock.release()


def _describe(site: str, inventory: dict, number: int) -> str:
    block = inventory["versions"][version_dirs(inventory)[number]]
    return (f"{site}@v{number} ({block.get('created', '?')}, "
            f"{block.get('message', '')!r})")


def _versions_to_append(site: str, ours: dict, theirs: dict, obj: Path) -> list[int]:
    """Version numbers of the bag the archive lacks; HistoryConflict unless the bag's history
    starts with the archive's (or the archive's with the bag's: then nothing to add)."""
    our_v, their_v = version_dirs(ours), version_dirs(theirs)
    our_head, their_head = max(our_v), max(their_v)
    for n in range(1, min(our_head, their_head) + 1):
        a, b = ours["versions"].get(our_v.get(n, "")), theirs["versions"].get(their_v.get(n, ""))
        if a != b or our_v.get(n) != their_v.get(n):
            raise HistoryConflict(site, _describe(site, ours, our_head),
                                  _describe(site, theirs, their_head), n)
    # Same version blocks; the content paths must agree too (the bag's older files are ours).
    shared = {d: p for d, p in theirs["manifest"].items() if d in ours["manifest"]}
    if any(ours["manifest"][d] != p for d, p in shared.items()) \
            or ours["digestAlgorithm"] != theirs["digestAlgorithm"]:
        raise HistoryConflict(site, _describe(site, ours, our_head),
                              _describe(site, theirs, their_head), 1)
    return list(range(our_head + 1, their_head + 1))


def _seal(archive, site: str, staged: Path, obj: Path, incoming: dict, added: list[int]) -> None:
    """The staged object must be the bag's object exactly; content read-only; durable."""
    if (staged / INVENTORY).read_bytes() != (obj / INVENTORY).read_bytes():
        raise ArchiveError(f"{site}: the staged inventory differs from the bag's; nothing was "
                           "imported, run again")
    vdirs = version_dirs(incoming)
    prefixes = tuple(vdirs[n] + "/" for n in added)
    for paths in incoming["manifest"].values():
        for cp in paths:
            if cp.startswith(prefixes):
                os.chmod(staged / cp, 0o444)
    validator = ocfl.Validator(check_digests=False, log_warnings=False)
    if not validator.validate_object(str(staged)):
        raise ArchiveError(f"{site}: the staged object is not valid OCFL "
                           f"({validator.status_str()}); nothing was imported")
    if archive.durable:
        for n in added:
            fsops.fsync_tree(staged / vdirs[n])
        for name in (INVENTORY, SIDECAR, DECLARATION):
            fsops.fsync_path(staged / name)
        fsops.fsync_tree(staged, files=False)
