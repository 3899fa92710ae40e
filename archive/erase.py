"""Erasure: remove epochs from a site's history, public and restricted, for good.

An OCFL version never changes, so removing a file from the head still leaves it in every older
version.  To erase (GDPR Art. 17: a person asks for the scans that show them to be deleted), the
site's two objects are *rebuilt*: every version is replayed, in order, with its date, user and
message, minus the erased epochs' files (``epochs/<epoch>/...``) and the change products that
involve them (``changes/<a>__<b>/...``); versions that changed nothing else disappear, so
later version numbers shift.  A last version records the erasure in ``privacy/erasures.json``
(the epochs, when, by whom, the request's reference and the old -> new version numbers; never
who asked).  The rebuilt object replaces the old one in one rename under the site lock, and the
old one, with the erased content, is deleted.  Backups and copies made before still hold it;
docs/PRIVACY.md says how to handle them.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from . import fsops
from .errors import ArchiveError, SiteNotFound
from .lock import SiteLock
from .objects import load_inventory, version_dirs, version_state
from .paths import check_site_id
from .restricted import GROUP_FILE, RestrictedMaterial, is_restricted, restricted_id

ERASURES = "privacy/erasures.json"
MIGRATIONS = "privacy/migrations.json"
RECORDS = {ERASURES: "erasures", MIGRATIONS: "migrations"}

#: (logical path, digest, version number) -> True where the file leaves that version
Drop = Callable[[str, str, int], bool]


@dataclass
class ErasePlan:
    """What an erasure removes from one object: files per version, and versions that go."""

    object_id: str
    files: list[str] = field(default_factory=list)          # logical paths, any version
    versions_dropped: list[int] = field(default_factory=list)
    renumbered: dict[int, int] = field(default_factory=dict)  # old -> new version number


def _doomed(logical: str, epochs: set[str]) -> bool:
    parts = logical.split("/")
    if len(parts) > 1 and parts[0] == "epochs" and parts[1] in epochs:
        return True
    if len(parts) > 1 and parts[0] == "changes" and "__" in parts[1]:
        a, _, b = parts[1].partition("__")
        return a in epochs or b in epochs
    return False


def plan(archive, obj_id: str, epochs: set[str]) -> ErasePlan | None:
    """The plan for one object (None when it does not exist)."""
    return plan_rewrite(archive, obj_id, lambda lp, _digest, _number: _doomed(lp, epochs))


def plan_rewrite(archive, obj_id: str, drop: Drop) -> ErasePlan | None:
    """Which versions of ``obj_id`` stay (renumbered) when ``drop`` files leave every version
    (None when the object does not exist)."""
    obj = archive.object_path(obj_id)
    if not os.path.isdir(obj):
        return None
    inventory = load_inventory(obj)
    p = ErasePlan(obj_id)
    previous: dict[str, str] | None = None
    new_number = 0
    files: set[str] = set()
    for number, vdir in sorted(version_dirs(inventory).items()):
        state = version_state(inventory, vdir)
        kept = {lp: d for lp, d in state.items() if not drop(lp, d, number)}
        files |= set(state) - set(kept)
        if kept == previous or not kept:
            p.versions_dropped.append(number)
        else:
            new_number += 1
            p.renumbered[number] = new_number
            previous = kept
    p.files = sorted(files)
    return p


def public_site(archive, site: str, action: str) -> str:
    """``site`` checked for an operation on it and its restricted part (`action`, e.g. "the
    erasure covers"): a public id, the archivist option, the site stored."""
    site = check_site_id(site)
    if is_restricted(site):
        raise ArchiveError(f"give the public site id ({site[:-len('--restricted')]}); {action} "
                           "its restricted part too")
    if not archive.include_restricted:
        raise RestrictedMaterial(restricted_id(site))
    if not archive.exists(site):
        raise SiteNotFound(site, archive.site_ids())
    return site


def erase_epochs(archive, site: str, epochs: list[str], *, reason: str, user: str | None = None,
                 dry_run: bool = False) -> list[ErasePlan]:
    """Erase ``epochs`` from ``site`` and ``site--restricted``; returns what was (or, with
    ``dry_run``, would be) removed.  Needs the archivist option and write permission."""
    site = public_site(archive, site, "the erasure covers")
    if not reason.strip():
        raise ArchiveError("say why (--reason), e.g. the request's file number; never the "
                           "person's name")
    wanted = set(epochs)
    plans = [p for p in (plan(archive, o, wanted) for o in (site, restricted_id(site))) if p]
    if not any(p.files for p in plans):
        stored = sorted({lp.split("/")[1] for lp in archive.read(site).files
                         if lp.startswith("epochs/")})
        raise ArchiveError(f"{site} holds no epoch {', '.join(sorted(wanted))} in any version; "
                           f"its epochs: {', '.join(stored) or 'none'}")
    if dry_run:
        return plans
    entry = {"epochs": sorted(wanted), "reason": reason}
    for p in plans:
        if p.files:
            rewrite(archive, p, lambda lp, _d, _n: _doomed(lp, wanted), record=ERASURES,
                    entry=entry, note=f"erased: {', '.join(sorted(wanted))}",
                    message=f"erasure of epoch(s) {', '.join(sorted(wanted))}: {reason}",
                    user=user)
    return plans


def rewrite(archive, p: ErasePlan, drop: Drop, *, record: str, entry: dict, note: str,
            message: str, user: str | None, keep_check: Callable[[dict], None] | None = None
            ) -> None:
    """Replay every version of ``p.object_id`` without the files ``drop`` names, append
    ``entry`` (with time, user, old -> new versions) to the list in ``record``, and swap the
    rebuilt object in under the site lock.  ``keep_check(inventory)`` (the live object's,
    read under the lock) may refuse by raising, before anything is swapped."""
    from .store import Archive

    live = archive.object_path(p.object_id)
    with SiteLock(archive.locks_dir, p.object_id, archive.lock_timeout):
        inventory = load_inventory(live)
        work = archive.staging_dir / p.object_id / f"erase-{secrets.token_hex(4)}"
        work.mkdir(parents=True)
        if is_restricted(p.object_id):
            os.chmod(work.parent, 0o700)
        try:
            tmp = Archive.init(work / "archive", durable=archive.durable,
                               include_restricted=True)
            group = archive.root / GROUP_FILE
            if group.exists():
                shutil.copyfile(group, tmp.root / GROUP_FILE)
            manifest = inventory["manifest"]
            for number, vdir in sorted(version_dirs(inventory).items()):
                if number not in p.renumbered:
                    continue
                v = inventory["versions"][vdir]
                original = version_state(inventory, vdir)
                state = {lp: d for lp, d in original.items() if not drop(lp, d, number)}
                said = v.get("message") or f"v{number}"
                if len(state) < len(original):
                    said += f" [{note}]"
                with tmp.writer(p.object_id, message=said,
                                user=(v.get("user") or {}).get("name"),
                                created=v.get("created")) as w:
                    for lp in w.paths():
                        if lp not in state:
                            w.remove(lp)
                    for lp, digest in state.items():
                        w.add_file(lp, live / manifest[digest][0])
            head = tmp.read(p.object_id)
            kind = RECORDS[record]
            log = (json.loads(head.path(record).read_bytes()) if head.exists(record)
                   else {"format": f"stadtzeit-{kind}/1", kind: []})
            log[kind].append({
                **entry, "time": datetime.now(UTC).isoformat(timespec="seconds"), "user": user,
                "versions": {f"v{o}": f"v{n}" for o, n in p.renumbered.items()},
                "versions_dropped": [f"v{n}" for n in p.versions_dropped]})
            with tmp.writer(p.object_id, message=message, user=user) as w:
                w.add_json(record, log)
            if keep_check is not None:
                keep_check(inventory)
            rebuilt = tmp.object_path(p.object_id)
            fsops.stage("rewrite-before-swap")
            if not fsops.exchange(rebuilt, live):
                aside = work / "old"
                os.rename(live, aside)
                os.rename(rebuilt, live)
            if archive.durable:
                fsops.fsync_path(archive.ocfl_root)
        finally:
            fsops.rmtree(work)  # after the swap: the old object, with the erased content
    if not is_restricted(p.object_id):
        archive._index_committed(p.object_id)


__all__ = ["ERASURES", "MIGRATIONS", "ErasePlan", "erase_epochs", "plan", "plan_rewrite",
           "public_site", "rewrite"]
