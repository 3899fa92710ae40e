"""Fixity and structure checks: our own, which name every file, plus ocfl-py's Validator.

Our checks say which stored file is wrong and which logical paths (in which versions) it
carries; ocfl-py's validator is the reference for the rest of the OCFL 1.1 rules. Both read
every content file, so a full verify reads the archive twice — the price of two independent
implementations agreeing.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from . import _ocfl as ocfl
from ._ocfl import ValidationLogger
from .objects import DECLARATION, INVENTORY, SIDECAR, version_dirs

if TYPE_CHECKING:
    from .store import Archive

# progress(done, total, label): bytes for verify, sites for reindex
Progress = Callable[[int, int, str], None]

CHUNK = 1 << 20
# ocfl-py codes that our own checks already report with file names; others are passed on.
COVERED = {"E003a", "E023a", "E033", "E058a", "E060", "E063", "E064", "E092a", "E092b"}


class Problem(NamedTuple):
    site: str  # "" for the storage root
    path: str  # path inside the object (content path), "" when not about one file
    message: str


@dataclass
class VerifyReport:
    sites: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0  # content files whose digest was checked
    bytes: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        if self.ok:
            return f"OK: {len(self.sites)} site(s), {self.files} file(s) verified"
        return "\n".join(f"{p.site or 'ocfl'}: {p.path}: {p.message}" if p.path
                         else f"{p.site or 'ocfl'}: {p.message}" for p in self.problems)


class _Recorder(ValidationLogger):
    """Keeps ocfl-py's error codes next to its messages, so we can skip what we cover."""

    def __init__(self) -> None:
        super().__init__(log_warnings=False, log_errors=True)
        self.errors: list[tuple[str, str]] = []

    def error(self, code: str, **args: Any) -> None:
        super().error(code, **args)
        self.errors.append((code, self.codes[code]))


def _sha512(path: Path, progress: Callable[[int], None] | None = None) -> str:
    h = hashlib.sha512()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            if progress:
                progress(len(chunk))
    return h.hexdigest()


def _versions_of(inventory: dict[str, Any]) -> dict[str, list[tuple[int, str]]]:
    """Digest -> [(version number, logical path)], to name what a damaged file carries."""
    where: dict[str, list[tuple[int, str]]] = {}
    for number, vdir in sorted(version_dirs(inventory).items()):
        state = inventory["versions"][vdir].get("state") or {}
        for digest, logicals in state.items():
            for logical in logicals:
                where.setdefault(str(digest).lower(), []).append((number, logical))
    return where


def _describe(uses: list[tuple[int, str]]) -> str:
    if not uses:
        return "not used by any version"
    by_path: dict[str, list[int]] = {}
    for number, logical in uses:
        by_path.setdefault(logical, []).append(number)
    return "; ".join(f"{lp} in " + ", ".join(f"v{n}" for n in ns) for lp, ns in by_path.items())


class _ObjectCheck:
    def __init__(self, site: str, obj: Path, report: VerifyReport,
                 tick: Callable[[int, str], None]):
        self.site, self.obj, self.report, self.tick = site, obj, report, tick
        self.found: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.found.append(Problem(self.site, path, message))

    def inventory(self, rel: str) -> tuple[bytes, dict[str, Any]] | None:
        """Read an inventory and check it against its sidecar; None if unusable."""
        try:
            raw = (self.obj / rel).read_bytes()
        except FileNotFoundError:
            self.problem(rel, "inventory missing; restore it from a backup")
            return None
        sidecar = rel + ".sha512"
        try:
            recorded = (self.obj / sidecar).read_text().split()[0].lower()
        except (OSError, IndexError):
            self.problem(sidecar, "inventory sidecar missing or empty; restore it from a backup")
        else:
            actual = hashlib.sha512(raw).hexdigest()
            if actual != recorded:
                self.problem(rel, f"inventory was changed after it was written: its sha512 is "
                                  f"{actual}, the sidecar {sidecar} records {recorded}; restore "
                                  "it from a backup")
        try:
            inventory = json.loads(raw)
            version_dirs(inventory)
            inventory["manifest"].items()
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            self.problem(rel, f"inventory is unreadable ({exc}); restore it from a backup")
            return None
        return raw, inventory

    def run(self) -> list[Problem]:
        if not (self.obj / DECLARATION).is_file():
            self.problem(DECLARATION, "object declaration missing; restore it from a backup")
        root = self.inventory(INVENTORY)
        if root is None:
            root = self._fallback_inventory()
            if root is None:
                return self.found
        raw, inventory = root
        if inventory.get("id") != self.site:
            self.problem(INVENTORY, f"object id {inventory.get('id')!r} does not match its "
                                    f"folder name {self.site!r}")
        vdirs = version_dirs(inventory)
        expected = {DECLARATION, INVENTORY, SIDECAR}
        for vdir in vdirs.values():
            rel = f"{vdir}/{INVENTORY}"
            expected |= {rel, rel + ".sha512"}
            if vdir == inventory.get("head"):
                try:
                    if (self.obj / rel).read_bytes() != raw:
                        self.problem(rel, "differs from the root inventory.json; restore the "
                                          "damaged one from a backup")
                except FileNotFoundError:
                    self.problem(rel, "inventory of the newest version missing")
                    continue
            if (self.obj / rel).exists():
                self.inventory(rel)
        content = {cp: digest.lower() for digest, cps in inventory["manifest"].items()
                   for cp in cps}
        expected |= set(content)
        on_disk = set()
        for dirpath, dirs, files in os.walk(self.obj):
            rel_dir = Path(dirpath).relative_to(self.obj).as_posix()
            if rel_dir == ".":
                dirs[:] = [d for d in dirs if d not in ("logs", "extensions")]
            for name in files:
                on_disk.add(name if rel_dir == "." else f"{rel_dir}/{name}")
        for rel in sorted(on_disk - expected):
            self.problem(rel, "extra file that the inventory does not list; move it out of "
                              "the object")
        uses = _versions_of(inventory)
        for cp, digest in sorted(content.items()):
            if cp not in on_disk:
                self.problem(cp, f"content file missing (holds {_describe(uses.get(digest, []))});"
                                 " restore it from a backup")
                continue
            actual = _sha512(self.obj / cp, lambda n, cp=cp: self.tick(n, cp))
            self.report.files += 1
            if actual != digest:
                self.problem(cp, f"content changed (holds {_describe(uses.get(digest, []))}): "
                                 f"expected sha512 {digest}, actual {actual}; restore it from a "
                                 "backup")
        return self.found

    def _fallback_inventory(self) -> tuple[bytes, dict[str, Any]] | None:
        """With the root inventory unusable, check content against the newest version's."""
        numbered = sorted((int(p.name[1:]), p.name) for p in self.obj.glob("v*")
                          if p.name[1:].isdigit() and (p / INVENTORY).is_file())
        for _, vdir in reversed(numbered):
            before = len(self.found)
            found = self.inventory(f"{vdir}/{INVENTORY}")
            if found is not None and len(self.found) == before:
                return found
        return None


def _ocfl_problems(site: str, obj: Path) -> list[tuple[str, str]]:
    recorder = _Recorder()
    validator = ocfl.Validator(check_digests=True, log_warnings=False, log=recorder)
    try:
        validator.validate_object(str(obj))
    except Exception as exc:  # noqa: BLE001 - a damaged object must not stop the report
        recorder.errors.append(("crash", f"the validator gave up: {exc!r}"))
    return recorder.errors


def _planned_bytes(obj: Path) -> int:
    try:
        inventory = json.loads((obj / INVENTORY).read_bytes())
        paths = [cp for cps in inventory["manifest"].values() for cp in cps]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return 0
    total = 0
    for cp in paths:
        try:
            total += (obj / cp).stat().st_size
        except OSError:
            pass
    return total


def verify_archive(archive: Archive, site: str | None,
                   progress: Progress | None = None) -> VerifyReport:
    everything = archive.site_ids() + (archive.restricted_ids() if archive.include_restricted
                                       else [])
    report = VerifyReport(sites=[site] if site else everything)
    if site is None:
        root = ocfl.StorageRoot(root=str(archive.ocfl_root))
        if not root.validate(validate_objects=False, log_warnings=False):
            for message in root.log.messages:
                report.problems.append(Problem("", "", f"storage root: {message}"))
    sizes = {s: _planned_bytes(archive.object_path(s)) for s in report.sites}
    total = 2 * sum(sizes.values())  # our pass and ocfl-py's
    done = 0

    def tick(n: int, label: str) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total, label)

    for s in report.sites:
        obj = archive.object_path(s)
        before = done
        try:
            found = _ObjectCheck(s, obj, report, lambda n, cp, s=s: tick(n, f"{s}: {cp}")).run()
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            found = [Problem(s, INVENTORY, f"inventory is malformed ({exc!r}); restore it from "
                                           "a backup")]
        report.bytes += done - before
        tick(0, f"{s}: OCFL validation")
        ocfl_errors = _ocfl_problems(s, obj)
        tick(sizes[s], f"{s}: OCFL validation")
        for code, message in ocfl_errors:
            if code not in COVERED or not found:
                found.append(Problem(s, "", f"OCFL validation: {message}"))
        report.problems.extend(found)
    if progress:
        progress(total, total, "done")
    return report
